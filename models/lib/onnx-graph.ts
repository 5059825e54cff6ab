/**
 * A minimal ONNX graph builder over `onnx-proto`, for knowledge-based models written as code.
 *
 * It emits only standard `ai.onnx` operators, names every value, de-duplicates identical nodes
 * (so a rule table that mentions the same fuzzy term twice computes it once), and serialises
 * deterministically: the same build produces byte-identical `model.onnx`, so the sha256 in the
 * model card only changes when the model does.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** ONNX element types used here (values of `TensorProto.DataType`). */
export const DType = { float: 1, int32: 6, int64: 7, bool: 9 } as const;
export type DTypeCode = (typeof DType)[keyof typeof DType];

/** An attribute value; numbers are floats unless listed in `intAttrs` of {@link GraphBuilder.op}. */
export type AttrValue = number | string | readonly number[] | readonly string[];

/** Operator domains used: standard ONNX and ONNX-ML (tree ensembles). */
export type Domain = '' | 'ai.onnx.ml';
/** ai.onnx.ml opset: 3 is the newest the Debian python3-onnx 1.12 checker knows, and ORT runs it. */
export const ML_OPSET = 3;

/** A dimension: a fixed size or a symbolic name (dynamic). */
export type Dim = number | string;

interface IoSpec {
  readonly name: string;
  readonly dtype: DTypeCode;
  readonly shape: readonly Dim[];
  readonly doc?: string;
}

/** Builds one ONNX graph. Values are referred to by name; `op` returns the output name(s). */
export class GraphBuilder {
  private readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  private readonly initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  private readonly memo = new Map<string, string[]>();
  private readonly constByKey = new Map<string, string>();
  private readonly inputs: IoSpec[] = [];
  private readonly outputs: IoSpec[] = [];
  private readonly valueInfos: IoSpec[] = [];
  private counter = 0;
  private usesMl = false;

  /** Declares a graph input and returns its name. */
  input(spec: IoSpec): string {
    this.inputs.push(spec);
    return spec.name;
  }

  /** Declares `value` as a graph output under `name` (through an Identity when renaming). */
  output(value: string, spec: IoSpec): void {
    if (value !== spec.name) this.nodes.push(onnx.NodeProto.create({ opType: 'Identity', input: [value], output: [spec.name], name: spec.name }));
    this.outputs.push(spec);
  }

  /** Declares the type of an intermediate value (for operators whose outputs checkers cannot infer). */
  declare(value: string, dtype: DTypeCode, shape: readonly Dim[]): void {
    this.valueInfos.push({ name: value, dtype, shape });
  }

  /** A float32 constant (scalar when `dims` is empty), shared between identical requests. */
  constF(values: number | readonly number[], dims: readonly number[] = []): string {
    return this.constant(DType.float, typeof values === 'number' ? [values] : values, dims);
  }

  /** An int64 constant, e.g. axes or shapes. */
  constI64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.constant(DType.int64, values, dims);
  }

  /** An int32 constant. */
  constI32(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.constant(DType.int32, values, dims);
  }

  /**
   * Adds a node (or returns the outputs of an identical earlier one).
   * @param intAttrs names of attributes whose numbers are INT/INTS rather than FLOAT/FLOATS.
   */
  op(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, nOutputs = 1, intAttrs: readonly string[] = [], hint = '', domain: Domain = ''): string[] {
    const key = JSON.stringify([domain, opType, inputs, attrs, nOutputs, intAttrs]);
    const hit = this.memo.get(key);
    if (hit) return hit;
    const base = `${hint || opType.toLowerCase()}_${this.counter++}`;
    const outs = nOutputs === 1 ? [base] : Array.from({ length: nOutputs }, (_, i) => `${base}_${i}`);
    const attribute = Object.entries(attrs).map(([name, v]) => attributeOf(name, v, intAttrs.includes(name)));
    if (domain) this.usesMl = true;
    this.nodes.push(onnx.NodeProto.create({ opType, input: [...inputs], output: outs, name: base, attribute, ...(domain ? { domain } : {}) }));
    this.memo.set(key, outs);
    return outs;
  }

  /** Single-output shorthand for {@link op}. */
  op1(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, intAttrs: readonly string[] = [], hint = ''): string {
    return this.op(opType, inputs, attrs, 1, intAttrs, hint)[0];
  }

  /** Serialises the model. `opset` is the ai.onnx opset; IR version 8 is what onnx ≥ 1.10 checkers accept. */
  build(meta: { name: string; doc: string; opset: number; producer: string; version: string; metadata?: Record<string, string> }): Uint8Array {
    const vi = (s: IoSpec) =>
      onnx.ValueInfoProto.create({
        name: s.name,
        docString: s.doc ?? '',
        type: onnx.TypeProto.create({
          tensorType: onnx.TypeProto.Tensor.create({
            elemType: s.dtype,
            shape: onnx.TensorShapeProto.create({
              dim: s.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
            }),
          }),
        }),
      });
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: meta.producer,
      producerVersion: meta.version,
      docString: meta.doc,
      opsetImport: [{ domain: '', version: meta.opset }, ...(this.usesMl ? [{ domain: 'ai.onnx.ml', version: ML_OPSET }] : [])],
      metadataProps: Object.entries(meta.metadata ?? {}).map(([key, value]) => ({ key, value })),
      graph: onnx.GraphProto.create({
        name: meta.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs.map(vi),
        output: this.outputs.map(vi),
        valueInfo: this.valueInfos.map(vi),
      }),
    });
    return onnx.ModelProto.encode(model).finish();
  }

  /** Number of nodes so far (for reporting graph size). */
  get nodeCount(): number {
    return this.nodes.length;
  }

  private constant(dtype: DTypeCode, values: readonly number[], dims: readonly number[]): string {
    const key = JSON.stringify([dtype, values, dims]);
    const hit = this.constByKey.get(key);
    if (hit) return hit;
    const name = `c${this.counter++}`;
    // raw_data is little-endian by the ONNX spec; typed arrays on x86/ARM Node are little-endian too.
    const raw =
      dtype === DType.float
        ? new Uint8Array(Float32Array.from(values).buffer)
        : dtype === DType.int32
          ? new Uint8Array(Int32Array.from(values).buffer)
          : new Uint8Array(BigInt64Array.from(values.map((v) => BigInt(v))).buffer);
    this.initializers.push(onnx.TensorProto.create({ name, dataType: dtype, dims: [...dims], rawData: raw }));
    this.constByKey.set(key, name);
    return name;
  }
}

function attributeOf(name: string, v: AttrValue, asInt: boolean): InstanceType<typeof onnx.AttributeProto> {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return onnx.AttributeProto.create({ name, type: T.STRING, s: new TextEncoder().encode(v) });
  if (typeof v !== 'number' && v.length > 0 && typeof v[0] === 'string') return onnx.AttributeProto.create({ name, type: T.STRINGS, strings: (v as readonly string[]).map((x) => new TextEncoder().encode(x)) });
  const nums = v as readonly number[];
  if (typeof v === 'number') return asInt ? onnx.AttributeProto.create({ name, type: T.INT, i: v }) : onnx.AttributeProto.create({ name, type: T.FLOAT, f: v });
  return asInt ? onnx.AttributeProto.create({ name, type: T.INTS, ints: [...nums] }) : onnx.AttributeProto.create({ name, type: T.FLOATS, floats: [...nums] });
}

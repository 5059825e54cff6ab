/**
 * JSON-safe encoding of vectorize payloads. Structured clone (worker_threads) carries typed arrays
 * as they are, but job queues serialise with JSON.stringify, which turns a typed array into an
 * object keyed by index. These helpers swap each typed array for `{ $typed, b64 }` and back.
 */

const CTORS = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
} as const;
type TypedName = keyof typeof CTORS;

interface Encoded {
  $typed: TypedName;
  b64: string;
}

/** A deep copy of `value` in which every typed array is replaced by a base64 record. */
export function toJsonPayload(value: unknown): unknown {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const name = value.constructor.name as TypedName;
    if (!(name in CTORS)) throw new TypeError(`toJsonPayload: unsupported typed array ${name}`);
    return { $typed: name, b64: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') } satisfies Encoded;
  }
  if (Array.isArray(value)) return value.map(toJsonPayload);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toJsonPayload(v);
    return out;
  }
  return value;
}

/** Inverse of `toJsonPayload` (also accepts the result of JSON.parse on it). */
export function fromJsonPayload<T>(value: unknown): T {
  return decode(value) as T;
}

function decode(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decode);
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.$typed === 'string' && typeof o.b64 === 'string' && o.$typed in CTORS) {
      const bytes = Buffer.from(o.b64, 'base64');
      const Ctor = CTORS[o.$typed as TypedName];
      // Copy into a fresh, aligned buffer: Buffer pools are not aligned for wider element types.
      const ab = new ArrayBuffer(bytes.byteLength);
      new Uint8Array(ab).set(bytes);
      return new Ctor(ab);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) out[k] = decode(v);
    return out;
  }
  return value;
}

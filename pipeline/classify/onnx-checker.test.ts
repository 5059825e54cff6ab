/**
 * The reference ONNX checker (Debian python3-onnx) accepts model.onnx, with full shape inference.
 * Skips, saying why, where that checker is not installed (`apt-get install -y python3-onnx`).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const PYTHON = '/usr/bin/python3';
const model = (id: string) => join(import.meta.dirname, '../../models', id, 'model.onnx');
const probe = spawnSync(PYTHON, ['-c', 'import onnx'], { encoding: 'utf8' });
const available = probe.status === 0;
if (!available) console.warn(`onnx checker test skipped: ${PYTHON} cannot import onnx (${(probe.error?.message ?? probe.stderr).trim().split('\n').pop()}); install python3-onnx`);

describe.skipIf(!available)('onnx.checker', () => {
  it.each([
    ['spectral-v1', "opset [('', 17)]"],
    ['landcover-rf-v1', "opset [('', 17), ('ai.onnx.ml', 3)]"],
    ['landcover-mlp-v1', "opset [('', 17)]"],
  ])('accepts %s with full_check and infers the declared output types', (id, opset) => {
    const script = [
      'import sys, onnx',
      'm = onnx.load(sys.argv[1])',
      'onnx.checker.check_model(m, full_check=True)',
      'inf = onnx.shape_inference.infer_shapes(m, strict_mode=True)',
      'for o in inf.graph.output: print(o.name, o.type.tensor_type.elem_type, [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim])',
      'print("opset", [(i.domain, i.version) for i in m.opset_import])',
    ].join('\n');
    const r = spawnSync(PYTHON, ['-c', script, model(id)], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    if (id === 'landcover-mlp-v1') expect(r.stdout).toMatch(/scores 1 \['N', \d+, 'H', 'W'\]/);
    else {
      expect(r.stdout).toContain("label 6 ['N', 'H', 'W']");
      expect(r.stdout).toContain("confidence 1 ['N', 'H', 'W']");
    }
    expect(r.stdout).toContain(opset);
  });
});

import { describe, expect, it } from 'vitest';
import { RulesSchema } from './pipeline.js';

describe('RulesSchema', () => {
  it('refines outlines by default, within a window wider than the reach', () => {
    const r = RulesSchema.parse({});
    expect(r.outlineReachM).toBe(10);
    expect(r.outlineWindowM).toBeGreaterThan(r.outlineReachM);
  });

  it('names outlineWindowM when it does not exceed the reach, and allows any window with the refinement off', () => {
    const bad = RulesSchema.safeParse({ outlineReachM: 30, outlineWindowM: 24 });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => i.path.join('.'))).toEqual(['outlineWindowM']);
    expect(RulesSchema.safeParse({ outlineReachM: 0, outlineWindowM: 5 }).success).toBe(true);
  });
});

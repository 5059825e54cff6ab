import type { LedgerRun } from '../../ledger/index.js';
import { patch, rect, run } from './helpers.js';

/**
 * A run of `n` patches on a 100 m grid (40 m squares): the first 100 overlap the squares of the
 * base run (they continue those cases), the rest are new.
 */
export function bigRun(n: number, afterDate: string, shift = 5): LedgerRun {
  const patches = Array.from({ length: n }, (_, i) =>
    patch(`B${String(i).padStart(6, '0')}`, [rect((i % 100) * 100 + shift, Math.floor(i / 100) * 100, 40, 40)], { GDMJ: 1600, ...(i % 2 ? { TBLX: 'outflow_pond', TBLXMC: '耕地流出-坑塘' } : {}) }),
  );
  return run(afterDate, '2026-05-27', patches);
}

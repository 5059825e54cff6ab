/** Progress of a distributed run for people: one line with a bar, tiles, failures and an ETA. */
import { TERMINAL, type RunRecord, type RunStore } from './state.js';

const clock = (ms: number) => {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

/** Seconds left, from the tile rate since planning finished; null until a tile is done. */
export function etaMs(r: RunRecord, now: number): number | null {
  if (!r.plannedAt || r.tilesDone === 0 || !r.tilesTotal) return null;
  const rate = r.tilesDone / Math.max(1, now - r.plannedAt);
  return (r.tilesTotal - r.tilesDone) / rate;
}

export function progressLine(r: RunRecord, now: number, width = 30): string {
  const frac = r.tilesTotal ? r.tilesDone / r.tilesTotal : 0;
  const n = Math.round(frac * width);
  const eta = etaMs(r, now);
  const failed = Object.keys(r.tilesFailed).length;
  const elapsed = r.submittedAt ? clock(now - r.submittedAt) : '-';
  return `${r.runId} [${'#'.repeat(n)}${'-'.repeat(width - n)}] ${r.tilesDone}/${r.tilesTotal || '?'} tiles ${Math.round(frac * 100)}% ${r.state}${failed ? ` ${failed} failed` : ''} elapsed ${elapsed}${eta !== null && !TERMINAL.has(r.state) ? ` ETA ${clock(eta)}` : ''}`;
}

/** Polls a run until it ends, writing the progress line (in place on a terminal). */
export async function followRun(store: RunStore, runId: string, opts: { intervalMs?: number; write?: (s: string) => void; tty?: boolean } = {}): Promise<RunRecord> {
  const write = opts.write ?? ((s: string) => process.stderr.write(s));
  const tty = opts.tty ?? Boolean(process.stderr.isTTY);
  let last = '';
  for (;;) {
    const r = await store.get(runId);
    if (!r) throw new Error(`no run ${runId}`);
    const line = progressLine(r, Date.now());
    if (line !== last) write(tty ? `\r${line}\x1b[K` : `${line}\n`);
    last = line;
    if (TERMINAL.has(r.state)) {
      if (tty) write('\n');
      return r;
    }
    await new Promise((res) => setTimeout(res, opts.intervalMs ?? 1000));
  }
}

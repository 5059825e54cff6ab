/**
 * Evidence chips of audit findings: the project parcel, outlined, on the scene before the start and
 * the scene after acceptance. One PNG per parcel and date, stretched on its own pixels with the
 * same floor idle monitoring's key-date chips use (pipeline/idle/chips.ts).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { loadVectorLayer } from '../pipeline/baseline/vectors.js';
import { closeScene, openScene, readWindow } from '../pipeline/imagery/index.js';
import { computeStretch, renderChipPair, writeFileAtomic } from '../pipeline/outputs/index.js';
import { parcelKey } from '../pipeline/idle/observe.js';

/** Narrowest reflectance range a chip is stretched over (as idle chips). */
const MIN_RANGE = 0.12;

export interface ChipRequest {
  parcel: string;
  /** Scene file or URI. */
  scene: string;
  date: string;
}

/**
 * Renders one chip per request into `outDir` (`<parcel>_<date>.png`); scenes are opened once.
 * @returns `${parcel}|${date}` → path, for the chips rendered (parcels outside a scene are skipped).
 */
export async function renderParcelChips(requests: readonly ChipRequest[], parcelsFile: string, outDir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const byScene = new Map<string, ChipRequest[]>();
  for (const r of requests) byScene.set(r.scene, [...(byScene.get(r.scene) ?? []), r]);
  if (!byScene.size) return out;
  await mkdir(outDir, { recursive: true });
  for (const [uri, wanted] of byScene) {
    const scene = await openScene(uri);
    try {
      const grid = scene.info.grid;
      const layer = await loadVectorLayer('parcels', parcelsFile, grid);
      const index = new Map(layer.features.map((f, i) => [parcelKey(f.properties, i, 'XMBH'), f]));
      for (const req of wanted) {
        const key = `${req.parcel}|${req.date}`;
        if (out.has(key)) continue;
        const f = index.get(req.parcel);
        if (!f || f.polygons.length === 0) continue;
        const xs = f.polygons.flatMap((p) => p.flatMap((r) => r.map(([x]) => x)));
        const ys = f.polygons.flatMap((p) => p.flatMap((r) => r.map(([, y]) => y)));
        const margin = Math.max(4, Math.round(Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys)) / 3));
        const col = Math.max(0, Math.floor(Math.min(...xs)) - margin);
        const row = Math.max(0, Math.floor(Math.min(...ys)) - margin);
        const win = { col, row, width: Math.min(grid.width, Math.ceil(Math.max(...xs)) + margin) - col, height: Math.min(grid.height, Math.ceil(Math.max(...ys)) + margin) - row };
        if (win.width < 1 || win.height < 1) continue;
        const block = await readWindow(scene, win, ['red', 'green', 'blue']);
        const per = computeStretch([block]);
        const lo = Math.min(...per.min);
        const hi = Math.max(Math.max(...per.max), lo + MIN_RANGE);
        const stretch = { min: [lo, lo, lo], max: [hi, hi, hi] };
        const outline = f.polygons[0].map((ring) => ring.map(([x, y]) => [x - col, y - row] as const));
        const { before: png } = await renderChipPair(block, block, outline, { before: stretch, after: stretch }, { minSize: 192 });
        const path = join(outDir, `${req.parcel.replace(/[^\w.-]+/g, '_')}_${req.date}.png`);
        await writeFileAtomic(path, png);
        out.set(key, path);
      }
    } finally {
      await closeScene(scene);
    }
  }
  return out;
}

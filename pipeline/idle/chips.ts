/**
 * Evidence chips of an idle or non-grain decision: the parcel, outlined, on the key dates of its
 * season — the first and last usable observations and the one with the highest NDVI (where a
 * cultivated parcel would be green). One PNG per date, each stretched on its own pixels.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { loadVectorLayer } from '../baseline/vectors.js';
import { closeScene, openScene, readWindow } from '../imagery/index.js';
import { computeStretch, renderChipPair, writeFileAtomic } from '../outputs/index.js';
import type { ParcelDecision } from './decide.js';
import { parcelKey } from './observe.js';

/** Narrowest reflectance range a chip is stretched over. */
const MIN_RANGE = 0.12;

/** Dates worth showing for a decision, in date order without repeats. */
export function keyDates(d: ParcelDecision): { date: string; scene: string }[] {
  const obs = d.restsOn;
  if (obs.length === 0) return [];
  const peak = obs.reduce((a, b) => ((b.ndvi ?? -Infinity) > (a.ndvi ?? -Infinity) ? b : a));
  const picked = [obs[0], peak, obs[obs.length - 1]];
  return [...new Map(picked.map((o) => [o.date, { date: o.date, scene: o.scene }])).values()].sort((a, b) => a.date.localeCompare(b.date));
}

/**
 * Renders the key-date chips of each decision into `outDir` (`<parcel>_<date>.png`), with a margin
 * of a third of the parcel's size around it. Scenes are opened once per date.
 * @param scenes the scene files or URIs observed; observations name scenes by file name.
 * @returns parcel → chips (date, path)
 */
export async function renderKeyDateChips(decisions: readonly ParcelDecision[], scenes: readonly string[], parcelsFile: string, outDir: string, idField?: string): Promise<Map<string, { date: string; path: string }[]>> {
  const uriOf = new Map(scenes.map((s) => [s.split('/').pop() ?? s, s]));
  const out = new Map<string, { date: string; path: string }[]>();
  const byScene = new Map<string, { decision: ParcelDecision; date: string }[]>();
  for (const d of decisions) for (const k of keyDates(d)) byScene.set(k.scene, [...(byScene.get(k.scene) ?? []), { decision: d, date: k.date }]);
  await mkdir(outDir, { recursive: true });
  for (const [uri, wanted] of byScene) {
    const scene = await openScene(uriOf.get(uri) ?? uri);
    try {
      const grid = scene.info.grid;
      const layer = await loadVectorLayer('parcels', parcelsFile, grid);
      const index = new Map(layer.features.map((f, i) => [parcelKey(f.properties, i, idField), f]));
      for (const { decision, date } of wanted) {
        const f = index.get(decision.parcel);
        if (!f || f.polygons.length === 0) continue;
        const xs = f.polygons.flatMap((p) => p.flatMap((r) => r.map(([x]) => x)));
        const ys = f.polygons.flatMap((p) => p.flatMap((r) => r.map(([, y]) => y)));
        const margin = Math.max(4, Math.round(Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys)) / 3));
        const col = Math.max(0, Math.floor(Math.min(...xs)) - margin);
        const row = Math.max(0, Math.floor(Math.min(...ys)) - margin);
        const win = { col, row, width: Math.min(grid.width, Math.ceil(Math.max(...xs)) + margin) - col, height: Math.min(grid.height, Math.ceil(Math.max(...ys)) + margin) - row };
        if (win.width < 1 || win.height < 1) continue;
        const block = await readWindow(scene, win, ['red', 'green', 'blue']);
        // Stretched on the chip itself: a scene-wide stretch is set by its clouds and leaves the
        // parcel dark on exactly the dates that matter.
        // One range for the three bands keeps colours true; a floor on its width keeps sensor noise
        // on a uniform bare parcel from being stretched into texture.
        const per = computeStretch([block]);
        const lo = Math.min(...per.min);
        const hi = Math.max(Math.max(...per.max), lo + MIN_RANGE);
        const stretch = { min: [lo, lo, lo], max: [hi, hi, hi] };
        const outline = f.polygons[0].map((ring) => ring.map(([x, y]) => [x - col, y - row] as const));
        const { before: png } = await renderChipPair(block, block, outline, { before: stretch, after: stretch }, { minSize: 192 });
        const path = join(outDir, `${decision.parcel.replace(/[^\w.-]+/g, '_')}_${date}.png`);
        await writeFileAtomic(path, png);
        out.set(decision.parcel, [...(out.get(decision.parcel) ?? []), { date, path }].sort((a, b) => a.date.localeCompare(b.date)));
      }
    } finally {
      await closeScene(scene);
    }
  }
  return out;
}

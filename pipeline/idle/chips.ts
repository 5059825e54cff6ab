/**
 * Evidence chips of parcels on dates, and those of an idle or non-grain decision: the parcel, outlined, on the key dates of its
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

export interface ChipRequest {
  parcel: string;
  /** Scene file or URI. */
  scene: string;
  date: string;
}

/**
 * Renders one chip per request into `outDir` (`<parcel>_<date>.png`): the parcel (named by `idField`,
 * default XMBH then BSM) outlined, with a margin of a third of its size around it. Used by idle
 * monitoring and by the compensation audit. Scenes are opened once each.
 * @returns `${parcel}|${date}` → path, for the chips rendered (parcels outside a scene are skipped).
 */
export async function renderParcelChips(requests: readonly ChipRequest[], parcelsFile: string, outDir: string, idField?: string): Promise<Map<string, string>> {
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
      const index = new Map(layer.features.map((f, i) => [parcelKey(f.properties, i, idField), f]));
      for (const req of wanted) {
        const key = `${req.parcel}|${req.date}`;
        const f = index.get(req.parcel);
        if (out.has(key) || !f || f.polygons.length === 0) continue;
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

/**
 * Renders the key-date chips of each decision into `outDir` (`<parcel>_<date>.png`).
 * @param scenes the scene files or URIs observed; observations name scenes by file name.
 * @returns parcel → chips (date, path), in date order
 */
export async function renderKeyDateChips(decisions: readonly ParcelDecision[], scenes: readonly string[], parcelsFile: string, outDir: string, idField?: string): Promise<Map<string, { date: string; path: string }[]>> {
  const uriOf = new Map(scenes.map((s) => [s.split('/').pop() ?? s, s]));
  const requests = decisions.flatMap((d) => keyDates(d).map((k) => ({ parcel: d.parcel, scene: uriOf.get(k.scene) ?? k.scene, date: k.date })));
  const paths = await renderParcelChips(requests, parcelsFile, outDir, idField);
  const out = new Map<string, { date: string; path: string }[]>();
  for (const r of requests) {
    const path = paths.get(`${r.parcel}|${r.date}`);
    if (path) out.set(r.parcel, [...(out.get(r.parcel) ?? []), { date: r.date, path }].sort((a, b) => a.date.localeCompare(b.date)));
  }
  return out;
}

/**
 * The file outputs of a detection run that need the run's own readers and grid: evidence chips,
 * overview images, the change raster, the summary counts, and the atomic swap of the run folder.
 */
import { rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import Flatbush from 'flatbush';
import type { DetectConfig } from '../config/index.js';
import { mapToPixel } from './geo/grid.js';
import { createGeoTiffWriter } from './imagery/index.js';
import { computeStretch, renderChipPair, writeFileAtomic } from './outputs/index.js';
import type { RunSummary } from './run.js';
import type { Grid, Patch, RasterBlock, Window } from './types.js';
import { componentsToRaster, type Component } from './vectorize/index.js';

const round2 = (v: number) => Math.round(v * 100) / 100;

export async function writeChips(
  patches: readonly Patch[],
  kept: readonly Component[],
  dir: string,
  config: DetectConfig,
  grid: Grid,
  readPair: (w: Window) => Promise<{ b: RasterBlock; a: RasterBlock }>,
): Promise<void> {
  const order = patches.map((_, i) => i).sort((i, j) => patches[j].attributes.MJ - patches[i].attributes.MJ).slice(0, config.chips.max);
  const rgb: [string, string, string] = ['red', 'green', 'blue'];
  let stretch: { before: ReturnType<typeof computeStretch>; after: ReturnType<typeof computeStretch> } | null = null;
  for (const i of order) {
    const c = kept[i];
    const m = config.chips.marginPx;
    const side = Math.max(c.bbox.width, c.bbox.height) + 2 * m;
    const win: Window = {
      col: Math.round(c.bbox.col + c.bbox.width / 2 - side / 2),
      row: Math.round(c.bbox.row + c.bbox.height / 2 - side / 2),
      width: side,
      height: side,
    };
    const { b, a: aN } = await readPair(win);
    // One stretch for the whole run (from the first, largest chip's context widened), so chips are comparable.
    stretch ??= { before: computeStretch([b], rgb), after: computeStretch([aN], rgb) };
    const outline = patches[i].geometry[0].map((ring) => ring.map(([x, y]) => toWindowPixel(grid, win, x, y)));
    const png = await renderChipPair(b, aN, outline, stretch, { rgb });
    const id = patches[i].attributes.JCBH;
    await Promise.all([
      writeFileAtomic(join(dir, 'chips', `${id}_before.png`), png.before),
      writeFileAtomic(join(dir, 'chips', `${id}_after.png`), png.after),
    ]);
    patches[i].attributes.chipBefore = `chips/${id}_before.png`;
    patches[i].attributes.chipAfter = `chips/${id}_after.png`;
  }
}

function toWindowPixel(grid: Grid, win: Window, x: number, y: number): [number, number] {
  const [c, r] = mapToPixel(grid.transform, x, y);
  return [c - win.col, r - win.row];
}

/**
 * overview_before.png / overview_after.png: the whole scene decimated to at most `maxPx` on its
 * long side, with every patch outlined, so a person can check that patches sit where the imagery changed.
 */
export async function writeOverview(
  patches: readonly Patch[],
  dir: string,
  grid: Grid,
  maxPx: number,
  readPair: (w: Window) => Promise<{ b: RasterBlock; a: RasterBlock }>,
): Promise<void> {
  const step = Math.max(1, Math.ceil(Math.max(grid.width, grid.height) / maxPx));
  const w = Math.ceil(grid.width / step);
  const h = Math.ceil(grid.height / step);
  const empty = (names: readonly string[]): RasterBlock => ({
    window: { col: 0, row: 0, width: w, height: h },
    bandNames: names,
    data: names.map(() => new Float32Array(w * h)),
    valid: new Uint8Array(w * h),
  });
  let small: { b: RasterBlock; a: RasterBlock } | null = null;
  const rows = Math.max(step, Math.floor(512 / step) * step);
  for (let row = 0; row < grid.height; row += rows) {
    const win = { col: 0, row, width: grid.width, height: Math.min(rows, grid.height - row) };
    const { b, a } = await readPair(win);
    small ??= { b: empty(b.bandNames), a: empty(a.bandNames) };
    for (const [src, dst] of [[b, small.b], [a, small.a]] as const)
      for (let y = 0; y < win.height; y += step)
        for (let x = 0; x < win.width; x += step) {
          const p = y * win.width + x;
          const q = ((row + y) / step) * w + x / step;
          dst.valid[q] = src.valid[p];
          for (let k = 0; k < src.data.length; k++) dst.data[k][q] = src.data[k][p];
        }
  }
  if (!small) return;
  const rings = patches.flatMap((p) => p.geometry.flatMap((poly) => poly.map((ring) => ring.map(([x, y]) => {
    const [c, r] = mapToPixel(grid.transform, x, y);
    return [c / step, r / step] as [number, number];
  }))));
  const stretch = { before: computeStretch([small.b]), after: computeStretch([small.a]) };
  const png = await renderChipPair(small.b, small.a, rings, stretch, { minSize: 1, maxSize: maxPx, outlineWidth: 1 });
  await Promise.all([writeFileAtomic(join(dir, 'overview_before.png'), png.before), writeFileAtomic(join(dir, 'overview_after.png'), png.after)]);
}

/** Writes change.tif tile by tile from the kept components (memory: one 256×256 tile). */
export async function writeChangeRaster(path: string, grid: Grid, kept: readonly Component[], codes: readonly number[], mode: string, qsx: string | null, hsx: string | null) {
  const tileSize = 256;
  const writer = await createGeoTiffWriter(path, {
    width: grid.width,
    height: grid.height,
    bandCount: 1,
    dtype: 'uint8',
    tileSize,
    transform: grid.transform,
    crs: grid.crs,
    bandDescriptions: [mode === 'baseline' ? 'change type (0 none; see summary.json changeRasterCodes)' : 'land-cover transition code'],
    metadata: { FARMWATCH_MODE: mode, BEFORE_DATE: qsx ?? '', AFTER_DATE: hsx ?? '' },
  });
  try {
    const recoded = kept.map((c, i) => ({ ...c, code: codes[i] }));
    const index = recoded.length ? new Flatbush(recoded.length) : null;
    for (const c of recoded) index!.add(c.bbox.col, c.bbox.row, c.bbox.col + c.bbox.width, c.bbox.row + c.bbox.height);
    index?.finish();
    for (let tr = 0; tr < writer.tilesDown; tr++)
      for (let tc = 0; tc < writer.tilesAcross; tc++) {
        const win = { col: tc * tileSize, row: tr * tileSize, width: tileSize, height: tileSize };
        const hits = index ? index.search(win.col, win.row, win.col + tileSize - 1, win.row + tileSize - 1).map((k) => recoded[k]) : [];
        await writer.writeTile(tc, tr, [componentsToRaster(hits, win)]);
      }
    await writer.close();
  } catch (e) {
    await writer.abort();
    throw e;
  }
}

export function countPatches(patches: readonly Patch[]): RunSummary['counts'] {
  const byType: RunSummary['counts']['byType'] = {};
  const byTownship: RunSummary['counts']['byTownship'] = {};
  for (const p of patches) {
    const a = p.attributes;
    const t = (byType[a.TBLX] ??= { count: 0, areaM2: 0, areaMu: 0, legal: 0 });
    t.count++;
    t.areaM2 = round2(t.areaM2 + a.MJ);
    t.areaMu = round2(t.areaMu + a.MJM);
    if (a.HF) t.legal++;
    const k = a.XZQMC ?? a.XZQDM ?? '(none)';
    const w = (byTownship[k] ??= { count: 0, areaM2: 0, areaMu: 0 });
    w.count++;
    w.areaM2 = round2(w.areaM2 + a.MJ);
    w.areaMu = round2(w.areaMu + a.MJM);
  }
  return { total: patches.length, legal: patches.filter((p) => p.attributes.HF).length, byType, byTownship };
}

/** Replaces `target` with `staging` (a rename; the previous run folder is removed only after). */
export async function replaceDir(staging: string, target: string) {
  const old = `${target}.old-${process.pid}`;
  const exists = await stat(target).then(
    () => true,
    () => false,
  );
  if (exists) await rename(target, old);
  await rename(staging, target);
  if (exists) await rm(old, { recursive: true, force: true });
}

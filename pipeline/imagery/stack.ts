/**
 * Stacks single-band GeoTIFFs of one acquisition (Landsat and Sentinel-2 deliveries come one file
 * per band) into one tiled multi-band GeoTIFF whose band descriptions are the band names, so
 * `detect` and `classify` read it by name without a band mapping. Streams tile by tile.
 */
import { ImageryError } from '../errors.js';
import type { Grid } from '../types.js';
import { createGeoTiffWriter, type GeoTiffDtype } from './geotiff-writer.js';
import { crsEqual } from './resample.js';
import { closeScene, openScene, readRawWindow, type Scene } from './scene.js';

/** One band of the stack: its name (blue, green, red, nir, …) and the file holding it. */
export interface StackBand {
  readonly name: string;
  readonly uri: string;
}

export interface StackOptions {
  /** Acquisition date written to the stack (default: the first file's, if it has one). */
  readonly date?: string;
  /** Recorded as every band's SCALE/OFFSET, so the stack reads as reflectance with no flags (e.g. Landsat Collection 2 Level-2: 0.0000275, −0.2). */
  readonly scaleOffset?: { scale: number; offset: number };
  readonly tileSize?: number;
  readonly signal?: AbortSignal;
}

/** Facts about a written stack. */
export interface StackResult {
  readonly width: number;
  readonly height: number;
  readonly dtype: GeoTiffDtype;
  readonly bands: readonly string[];
  readonly acquired: string | null;
}

const WRITABLE: readonly string[] = ['uint8', 'uint16', 'int16', 'float32'];

function sameGrid(a: Grid, b: Grid): boolean {
  const px = Math.abs(a.transform[1]);
  return a.width === b.width && a.height === b.height && crsEqual(a.crs, b.crs) && a.transform.every((v, i) => Math.abs(v - b.transform[i]) <= px * 1e-6);
}

/**
 * Writes `bands` (each the first band of its file) as one GeoTIFF at `outPath`, which appears only
 * when complete. Every file must share the first one's grid (size, CRS, georeference) and sample
 * type: resampling a 20 m band onto 10 m is a choice the user makes, not one made silently here.
 * @throws ImageryError naming the file that differs, or any error of opening and reading a file
 */
export async function stackBands(bands: readonly StackBand[], outPath: string, opts: StackOptions = {}): Promise<StackResult> {
  if (bands.length === 0) throw new ImageryError('CONFIG_INVALID', 'stack: no bands given', { field: 'bands' });
  const names = bands.map((b) => b.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new ImageryError('CONFIG_INVALID', `stack: band "${twice}" is given twice`, { field: 'bands' });
  const scenes: Scene[] = [];
  try {
    for (const b of bands) scenes.push(await openScene(b.uri));
    const first = scenes[0].info;
    if (!WRITABLE.includes(first.dtype)) throw new ImageryError('UNSUPPORTED_FORMAT', `stack: ${first.uri} holds ${first.dtype} samples; a stack is written as uint8, uint16, int16 or float32`, { file: first.uri });
    for (const s of scenes.slice(1)) {
      const { info } = s;
      if (!sameGrid(info.grid, first.grid))
        throw new ImageryError('GRID_MISMATCH', `stack: ${info.uri} is ${info.grid.width}×${info.grid.height} px at ${Math.abs(info.grid.transform[1])} (${info.grid.crs.name}), not on the grid of ${first.uri} (${first.grid.width}×${first.grid.height} px at ${Math.abs(first.grid.transform[1])}, ${first.grid.crs.name}); resample it first`, { file: info.uri });
      if (info.dtype !== first.dtype) throw new ImageryError('GRID_MISMATCH', `stack: ${info.uri} holds ${info.dtype} samples, ${first.uri} ${first.dtype}`, { file: info.uri });
    }
    const acquired = opts.date ?? first.acquired;
    const nodata = scenes.every((s) => s.info.nodata === first.nodata) ? first.nodata : null;
    const writer = await createGeoTiffWriter(outPath, {
      width: first.grid.width,
      height: first.grid.height,
      bandCount: bands.length,
      dtype: first.dtype as GeoTiffDtype,
      tileSize: opts.tileSize ?? 256,
      transform: first.grid.transform,
      crs: first.grid.crs,
      nodata,
      bandDescriptions: [...names],
      ...(acquired ? { metadata: { ACQUISITION_DATE: acquired } } : {}),
      ...(opts.scaleOffset ? { scaleOffset: opts.scaleOffset } : {}),
    });
    try {
      const t = writer.tileSize;
      for (let row = 0; row < writer.tilesDown; row++)
        for (let col = 0; col < writer.tilesAcross; col++) {
          const window = { col: col * t, row: row * t, width: t, height: t };
          const planes = [];
          for (const s of scenes) planes.push((await readRawWindow(s, window, [s.info.bands[0].name], opts.signal)).data[0]);
          await writer.writeTile(col, row, planes);
        }
      await writer.close();
    } catch (e) {
      await writer.abort();
      throw e;
    }
    return { width: first.grid.width, height: first.grid.height, dtype: first.dtype as GeoTiffDtype, bands: names, acquired };
  } finally {
    await Promise.all(scenes.map((s) => closeScene(s)));
  }
}

/**
 * Throughput benchmark of the vectorize stage and the raster morphology it is fed by, for the
 * project's `npm run bench` (not a timed test). Synthetic but realistic input: a 4096 × 4096 scene
 * with ~2 % changed pixels in buildings, roads and blobs, processed in 1024 px tiles.
 */
import { pathToFileURL } from 'node:url';
import { close, dilate, open } from '../raster/morphology.js';
import { neighbourhoodClassMask } from '../raster/neighbourhood.js';
import { labelTile, mergeTiles, traceComponent, type TileComponents, type TileMaskInput } from './index.js';
import { rng, sparseMask, tilesOf } from './testutil.js';

export interface VectorizeBench {
  /** labelTile on bare change codes, Mpx/s of tile area. */
  mpxPerSec: number;
  /** labelTile with the pipeline's load: 7 id layers and 1 weight histogrammed/summed per component. */
  mpxPerSecWithStats: number;
  /** mergeTiles + traceComponent over the whole scene, milliseconds. */
  mergeMs: number;
  traceMs: number;
  components: number;
  changedFraction: number;
  /** Binary morphology on a 2048² mask, Mpx/s (radius 1 and 5: the cost should not depend on it). */
  dilateR1MpxPerSec: number;
  dilateR5MpxPerSec: number;
  openR2MpxPerSec: number;
  closeR2MpxPerSec: number;
  /** neighbourhoodClassMask (all classes at once), radius 1, Mpx/s. */
  classMaskMpxPerSec: number;
}

/** Runs `f` until at least `minMs` have passed; returns milliseconds per call. */
function time(f: () => void, minMs = 400): number {
  f(); // warm-up (JIT)
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < minMs) {
    f();
    n++;
    t = performance.now();
  }
  return (t - t0) / n;
}

export function benchVectorize(): VectorizeBench {
  const S = 4096;
  const T = 1024;
  const codes = sparseMask(S, S, 0.02, 2024);
  let changed = 0;
  for (const v of codes) if (v) changed++;
  const bare = tilesOf(S, S, T, codes);
  const r = rng(1);
  const layer8 = () => new Uint8Array(S * S).map((_, p) => (p >> 9) & 7);
  const layers = {
    before: new Uint8Array(S * S).map(() => 1 + Math.floor(r() * 10)),
    after: new Uint8Array(S * S).map(() => 1 + Math.floor(r() * 10)),
    parcel: new Uint32Array(S * S).map((_, p) => ((p % S) >> 6) + 100 * ((p / S) >> 6)),
    township: new Uint16Array(S * S).map((_, p) => (p % S) >> 10),
    pbf: layer8(),
    approved: layer8(),
    filings: layer8(),
  };
  const weights = { conf: new Float32Array(S * S).map(() => r()) };
  const loaded = tilesOf(S, S, T, codes, layers, weights);

  const mpx = (S * S) / 1e6;
  const labelMs = time(() => bare.forEach(labelTile));
  const statsMs = time(() => loaded.forEach((t: TileMaskInput) => labelTile(t)));
  const tiles: TileComponents[] = loaded.map(labelTile);
  let comps = mergeTiles(tiles);
  const mergeMs = time(() => (comps = mergeTiles(tiles)), 200);
  const traceMs = time(() => comps.forEach(traceComponent), 200);

  const M = 2048;
  const mask = codes.subarray(0, M * M);
  const mm = (M * M) / 1e6;
  const classes = layers.before.subarray(0, M * M);
  return {
    mpxPerSec: mpx / (labelMs / 1000),
    mpxPerSecWithStats: mpx / (statsMs / 1000),
    mergeMs,
    traceMs,
    components: comps.length,
    changedFraction: changed / (S * S),
    dilateR1MpxPerSec: mm / (time(() => dilate(mask, M, M, 1)) / 1000),
    dilateR5MpxPerSec: mm / (time(() => dilate(mask, M, M, 5)) / 1000),
    openR2MpxPerSec: mm / (time(() => open(mask, M, M, 2)) / 1000),
    closeR2MpxPerSec: mm / (time(() => close(mask, M, M, 2)) / 1000),
    classMaskMpxPerSec: mm / (time(() => neighbourhoodClassMask(classes, M, M, 1)) / 1000),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) console.log(benchVectorize());

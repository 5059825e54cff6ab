import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromFile } from 'geotiff';
import { describe, expect, it } from 'vitest';
import { defaultModelDir } from '../../cli/paths.js';
import { ClassifyConfigSchema } from '../../config/classify.js';
import { parseDetectConfig } from '../../config/index.js';
import { NormalizeSchema } from '../../config/pipeline.js';
import { stackBands } from '../../pipeline/imagery/stack.js';
import { classifyScene } from '../../pipeline/landcover.js';
import { runDetection } from '../../pipeline/run.js';
import { LandCover } from '../../pipeline/types.js';
import { hasSharedData, shared } from '../helpers/paths.js';

const quiet = { info: () => {}, warn: () => {}, debug: () => {} };
const ctx = { log: quiet, now: Date.now };

async function readClasses(path: string): Promise<Uint8Array> {
  const tiff = await fromFile(path);
  try {
    const [band] = (await (await tiff.getImage()).readRasters()) as unknown as Uint8Array[];
    return band;
  } finally {
    await tiff.close();
  }
}

const share = (classes: Uint8Array, code: number) => classes.reduce((n, c) => n + (c === code ? 1 : 0), 0) / classes.length;

/** `classify` reads an 8-bit display product the way `detect` does: percentile-calibrated. */
describe.skipIf(!hasSharedData)('classify on 8-bit NAIP', () => {
  const image = shared('naip-north-dakota-2009-2020', 'm_4709963_se_14_1_20100629.tif');
  const bands = { red: 1, green: 2, blue: 3, nir: 4 };
  const classify = ClassifyConfigSchema.parse({ model: defaultModelDir() });
  const { reference, sampleTiles } = NormalizeSchema.parse({});

  it('auto calibration: the clear summer scene is mostly vegetation, not cloud, and matches what detect saw', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fw-classify-'));
    const asRead = join(dir, 'as-read.tif');
    const auto = join(dir, 'auto.tif');
    await classifyScene(image, { bands }, classify, asRead, ctx, { calibration: 'reflectance', reference, sampleTiles });
    await classifyScene(image, { bands }, classify, auto, ctx, { calibration: 'auto', reference, sampleTiles });
    const [raw, calibrated] = await Promise.all([readClasses(asRead), readClasses(auto)]);
    // DN/255 makes a stretched display product far brighter than reflectance: half of it is "cloud".
    expect(share(raw, LandCover.cloud)).toBeGreaterThan(0.3);
    expect(share(calibrated, LandCover.cloud)).toBeLessThan(0.01);
    expect(share(calibrated, LandCover.herbaceous)).toBeGreaterThan(0.5);

    const run = join(dir, 'run');
    const config = parseDetectConfig({
      before: { uri: image, bands },
      after: { uri: shared('naip-north-dakota-2009-2020', 'm_4709963_se_14_1_20200831.tif'), bands },
      out: run,
      classify: { model: defaultModelDir() },
      chips: { enabled: false },
      landcover: true,
    });
    await runDetection(config, ctx);
    const seen = await readClasses(join(run, 'landcover_before.tif'));
    // The two fits use different tile samples, so a few pixels near class boundaries may differ.
    const same = calibrated.reduce((n, c, p) => n + (c === seen[p] ? 1 : 0), 0) / calibrated.length;
    expect(same).toBeGreaterThan(0.97);
  });
});

/**
 * Landsat 8 Level-1 digital numbers (reflectance = 2e-5·DN − 0.1) in a uint16 file with no scale
 * tags: read at the uint16 default of 1/10000 every pixel is brighter than 0.5, i.e. cloud. 'auto'
 * sees values no surface reflectance has and percentile-calibrates them, saying why.
 */
describe.skipIf(!hasSharedData)('classify on Landsat 8 Level-1 digital numbers', () => {
  const classify = ClassifyConfigSchema.parse({ model: defaultModelDir() });
  const { reference, sampleTiles } = NormalizeSchema.parse({});

  it('auto calibration: digital numbers are recognised, named and calibrated instead of read as cloud', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fw-classify-l8-'));
    const image = join(dir, 'l8_b2-b5.tif');
    // Blue, green, red, NIR are one file per band in the delivery; the stack names its bands.
    const band = (b: string) => shared('landsat8-l1t-2015-08-04-p020r039', `l8_${b}.tif`);
    await stackBands([{ name: 'blue', uri: band('B2') }, { name: 'green', uri: band('B3') }, { name: 'red', uri: band('B4') }, { name: 'nir', uri: band('B5') }], image);
    const warnings: string[] = [];
    const log = { ...quiet, warn: (_m: string, f?: Record<string, unknown>) => void warnings.push(String(f?.why ?? '')) };
    await classifyScene(image, {}, classify, join(dir, 'as-read.tif'), ctx, { calibration: 'reflectance', reference, sampleTiles });
    await classifyScene(image, {}, classify, join(dir, 'auto.tif'), { log, now: Date.now }, { calibration: 'auto', reference, sampleTiles });
    const [raw, calibrated] = await Promise.all([readClasses(join(dir, 'as-read.tif')), readClasses(join(dir, 'auto.tif'))]);
    expect(share(raw, LandCover.cloud)).toBeGreaterThan(0.9);
    expect(warnings.join(' ')).toMatch(/darkest 1 % of every band reads above 0.25 \(blue 0\.\d\d/);
    expect(share(calibrated, LandCover.cloud)).toBeLessThan(0.1);
    // Forest, fields and small towns under broken cumulus: mostly vegetation.
    expect(share(calibrated, LandCover.herbaceous) + share(calibrated, LandCover.tree) + share(calibrated, LandCover.orchard)).toBeGreaterThan(0.6);
  });
});

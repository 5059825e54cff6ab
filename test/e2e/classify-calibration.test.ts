import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromFile } from 'geotiff';
import { describe, expect, it } from 'vitest';
import { defaultModelDir } from '../../cli/paths.js';
import { ClassifyConfigSchema } from '../../config/classify.js';
import { parseDetectConfig } from '../../config/index.js';
import { NormalizeSchema } from '../../config/pipeline.js';
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

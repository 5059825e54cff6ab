/**
 * Issue 4 acceptance, failure and restart: a worker SIGKILLed mid-run, Redis restarted mid-run,
 * and a tile that fails for good. Real processes, a private Redis (append-only file, as BullMQ
 * deployments run it) and s3rver.
 */
import { readFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDetectConfig } from '../../config/index.js';
import { defaultModelDir } from '../../cli/paths.js';
import { openLedger } from '../../ledger/index.js';
import { closeScene, openScene } from '../../pipeline/imagery/index.js';
import { sceneInternals } from '../../pipeline/imagery/scene.js';
import { runDetection, type RunResult } from '../../pipeline/run.js';
import { countyRunInput, generateCounty, type CountyManifest } from '../../samples/index.js';
import { exists, list, readBytes, readJson, uploadDir, writeBytes } from '../../storage/index.js';
import { Queues } from '../../workers/queues.js';
import { quiet, s3RunInput, spawnWorker, startRedis, startS3, stopWorker, waitFor, waitReady, waitRunEnd, type WorkerProc } from './helpers.js';

const BUCKET = 'fw-fail';
const SIZE = 1024;
const tiling = { tileSize: 256 };
const TILES = (SIZE / 256) ** 2;

type Features = { features: { geometry: unknown; properties: Record<string, unknown> }[] };
const key = (f: Features['features'][number]) => ({ id: f.properties.JCBH, area: f.properties.MJ, geometry: f.geometry });

describe('distributed runs survive failures', () => {
  let dir: string;
  let m: CountyManifest;
  let s3: Awaited<ReturnType<typeof startS3>>;
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let q: Queues;
  const workers: WorkerProc[] = [];
  let reference: RunResult;
  let refFeatures: Features;
  const prefix = `fwtest-fail-${process.pid}`;
  const spawn = () => {
    const w = spawnWorker({ redis: redis.url, prefix, env: s3.env });
    workers.push(w);
    return w;
  };
  const detect = (out: string, extra: Record<string, unknown> = {}) => {
    return {
      ...s3RunInput(m, BUCKET),
      out: `s3://${BUCKET}/${out}`,
      tiling,
      classify: { model: defaultModelDir() },
      ...extra,
    };
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fw-fail-'));
    s3 = await startS3(BUCKET);
    redis = await startRedis(await mkdtemp(join(tmpdir(), 'fw-redis-')));
    m = await generateCounty({ outDir: join(dir, 'county'), sizePx: SIZE });
    await uploadDir(join(dir, 'county'), `s3://${BUCKET}/county`);
    q = new Queues({ url: redis.url, prefix });
    const config = parseDetectConfig({ ...countyRunInput(join(dir, 'county'), m), out: join(dir, 'inproc'), tiling, classify: { model: defaultModelDir(), workers: 1 } });
    reference = await runDetection(config, { log: quiet, now: Date.now });
    refFeatures = JSON.parse(await readFile(join(dir, 'inproc', 'patches.geojson'), 'utf8'));
  }, 600_000);

  afterAll(async () => {
    await Promise.all(workers.map(stopWorker));
    await q?.close();
    redis?.stop();
    await s3?.close();
  });

  it('completes after a worker is SIGKILLed mid-run: every tile once in the results, no duplicate or missing case', async () => {
    const [w0, w1] = [spawn(), spawn()];
    await Promise.all([waitReady(w0), waitReady(w1)]);
    const ledgerDir = join(dir, 'ledger-kill');
    const sub = await q.submit({ detect: detect('runs/kill'), ledger: { dir: ledgerDir } });
    // Kill the first worker while it is working: it has finished a tile and has started another.
    const inFlight = () => {
      const mine = w0.lines.filter((l) => l.run === sub.runId);
      const done = new Set(mine.filter((l) => l.msg === 'tile done').map((l) => l.tile));
      return done.size ? mine.filter((l) => l.msg === 'tile started' && !done.has(l.tile)).map((l) => String(l.tile)) : [];
    };
    await waitFor('worker 0 done with one tile and busy with another', () => inFlight().length > 0, 240_000, 10);
    w0.child.kill('SIGKILL');
    const killedWith = inFlight();
    const before = await q.store.get(sub.runId);
    expect(before!.tilesDone).toBeLessThan(TILES);
    expect((await w0.exited).signal).toBe('SIGKILL');

    const rec = await waitRunEnd(q.store, sub.runId);
    expect([rec.state, rec.error]).toEqual(['complete', null]);
    expect([rec.tilesTotal, rec.tilesDone, Object.keys(rec.tilesFailed).length]).toEqual([TILES, TILES, 0]);
    // The tiles the killed worker held were taken over (started twice) by the one left.
    for (const tile of killedWith) expect(rec.tries[tile], tile).toBeGreaterThanOrEqual(2);
    expect(w1.lines.some((l) => l.msg === 'tile done' && l.try === 2)).toBe(true);
    // Every tile once in the results, and the patches of the in-process run.
    const stored = (await list(`s3://${BUCKET}/runs/kill.work/tiles`)).map((u) => u.split('/').pop());
    expect(stored.length).toBe(TILES);
    expect(new Set(stored).size).toBe(TILES);
    const dist = await readJson<Features>(`s3://${BUCKET}/runs/kill/patches.geojson`);
    expect(dist.features.map(key)).toEqual(refFeatures.features.map(key));
    // The ledger holds one case per patch, as the in-process run's ledger does.
    const l = await openLedger({ dir: ledgerDir });
    const ref = await openLedger({ dir: join(dir, 'ledger-ref') });
    try {
      await ref.ingestResult(reference);
      const state = async (x: typeof l) => (await x.listCases({}, { limit: 1000 })).rows.map((c) => ({ jcbh: c.jcbh, tblx: c.tblx, area: Math.round(c.areaM2 * 100) / 100, status: c.status }));
      const cases = await state(l);
      expect(cases.length).toBe(reference.patches.length);
      expect(new Set(cases.map((c) => c.jcbh)).size).toBe(cases.length);
      expect(cases).toEqual(await state(ref));
      expect((await l.runs()).length).toBe(1);
    } finally {
      await l.close();
      await ref.close();
    }
  }, 600_000);

  it('completes when Redis restarts during the run', async () => {
    const w = workers.filter((x) => x.child.exitCode === null && x.child.signalCode === null);
    w.push(spawn());
    await waitReady(w[w.length - 1]);
    const sub = await q.submit({ detect: detect('runs/redis') });
    await waitFor('two tiles done', async () => ((await q.store.get(sub.runId))?.tilesDone ?? 0) >= 2, 240_000, 100);
    redis.stop();
    await new Promise((r) => setTimeout(r, 2000));
    redis.start();
    const rec = await waitRunEnd(q.store, sub.runId);
    expect([rec.state, rec.error]).toEqual(['complete', null]);
    expect(rec.tilesDone).toBe(TILES);
    // The workers saw the outage and carried on.
    expect(w.flatMap((x) => x.lines).some((l) => l.msg === 'queue connection problem')).toBe(true);
    const dist = await readJson<Features>(`s3://${BUCKET}/runs/redis/patches.geojson`);
    expect(dist.features.map(key)).toEqual(refFeatures.features.map(key));
  }, 600_000);

  it('marks the run partial, naming the tiles and the reason, when a tile keeps failing', async () => {
    // A copy of the after image with one corrupt block (pixels 0–255, 0–255): the tiles that read it fail every try.
    const scene = await openScene(join(dir, 'county', m.files.after));
    const { offsets, counts } = sceneInternals(scene).image;
    await closeScene(scene);
    const bytes = Buffer.from(await readBytes(join(dir, 'county', m.files.after)));
    bytes.fill(0xff, offsets[0], offsets[0] + counts[0]);
    await writeBytes(`s3://${BUCKET}/corrupt/after.tif`, bytes);
    const spec = {
      detect: detect('runs/partial', { after: { uri: `s3://${BUCKET}/corrupt/after.tif` }, normalize: { sampleTiles: 4 } }),
      tiles: { attempts: 2, backoffMs: 200 },
    };
    const sub = await q.submit(spec);
    const rec = await waitRunEnd(q.store, sub.runId);
    expect(rec.state).toBe('partial');
    const failed = Object.keys(rec.tilesFailed).sort();
    // The block is read by the tile that owns it and, through their halos, by its neighbours.
    expect(failed).toEqual(['r0c0', 'r0c1', 'r1c0', 'r1c1']);
    for (const reason of Object.values(rec.tilesFailed)) expect(reason).toMatch(/CORRUPT_FILE.*corrupt\/after\.tif.*tile 0,0/);
    expect(rec.tilesDone + failed.length).toBe(TILES);
    expect(rec.error).toMatch(/^4 of 16 tiles failed: r0c0: /);
    expect(await exists(`s3://${BUCKET}/runs/partial/summary.json`)).toBe(false);
    // Resubmitting a partial run starts a new attempt (the good tiles' results are reused).
    const again = await q.submit(spec);
    expect(again).toMatchObject({ status: 'submitted', attempt: 2 });
    expect((await waitRunEnd(q.store, sub.runId)).state).toBe('partial');
  }, 600_000);
});

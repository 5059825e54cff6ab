/**
 * Child process of the kill-mid-ingest test: opens the ledger given on the command line, ingests a
 * large synthetic run and reports each step of the write on stdout ("progress <stage> <done>/<total>"),
 * then "committed". The parent SIGKILLs it somewhere in between.
 * argv: <url|dir> <schema> <patches>
 */
import { openLedger } from '../../ledger/index.js';
import { bigRun } from './big-run.js';

const [where, schema, n] = process.argv.slice(2);
const l = await openLedger({ ...(where.startsWith('postgres') ? { url: where } : { dir: where }), schema });
process.stdout.write('opened\n');
await l.ingest(bigRun(Number(n), '2026-08-20'), {
  onProgress: (stage, done, total) => process.stdout.write(`progress ${stage} ${done}/${total}\n`),
});
process.stdout.write('committed\n');
await l.close();

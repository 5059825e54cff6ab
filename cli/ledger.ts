/**
 * `farmwatch ledger …`: the ledger from the command line. Embedded database by default (data
 * directory `--db`, else FARMWATCH_LEDGER_DIR, else .farmwatch/ledger under the current folder);
 * DATABASE_URL selects a PostgreSQL server instead.
 */
import { userInfo } from 'node:os';
import { Command } from 'commander';
import { z } from 'zod';
import { ConfigError } from '../pipeline/errors.js';
import { defaultLedgerDir, openLedger, STATUS_LABELS, type CaseFilter, type CaseSummary, type Ledger, type Page } from '../ledger/index.js';
import { CLUE_FORMATS, exportBalanceXlsx, exportClues, type ClueFormat } from '../ledger/export/index.js';
import { recordRunObservations } from './idle.js';

/** Where the ledger is: the server named by DATABASE_URL, else the embedded data directory. */
export function ledgerLocation(db?: string): { url?: string; dir?: string; schema?: string } {
  // FARMWATCH_LEDGER_SCHEMA: several ledgers in one database (default schema `ledger`).
  const schema = process.env.FARMWATCH_LEDGER_SCHEMA ? { schema: process.env.FARMWATCH_LEDGER_SCHEMA } : {};
  if (process.env.DATABASE_URL && !db) return { url: process.env.DATABASE_URL, ...schema };
  return { dir: db ?? defaultLedgerDir(), ...schema };
}

async function withLedger<T>(cmd: Command, f: (l: Ledger) => Promise<T>): Promise<T> {
  const o = cmd.optsWithGlobals() as { db?: string };
  const l = await openLedger(ledgerLocation(o.db));
  try {
    return await f(l);
  } finally {
    await l.close();
  }
}

const list = (v: string | undefined) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : undefined);
const num = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new ConfigError('CONFIG_INVALID', `--${name}: "${v}" is not a number`, { field: name });
  return n;
};
const whoami = () => {
  try {
    return process.env.FARMWATCH_ACTOR || userInfo().username;
  } catch {
    return 'unknown';
  }
};

/** Filter flags shared by list and export. */
function addFilterOptions(c: Command): Command {
  return c
    .option('--run <id>', 'cases observed in this run (id, see `ledger runs`)')
    .option('--township <codes>', 'township codes (XZQDM), comma separated')
    .option('--type <types>', 'change types (TBLX), comma separated')
    .option('--status <states>', 'states, code or Chinese (e.g. pending,已下发), comma separated')
    .option('--from <date>', 'last seen on or after (yyyy-mm-dd)')
    .option('--to <date>', 'last seen on or before (yyyy-mm-dd)')
    .option('--pbf', 'only cases on permanent basic farmland')
    .option('--not-pbf', 'only cases off permanent basic farmland')
    .option('--min-area <m2>', 'smallest area, m²')
    .option('--max-area <m2>', 'largest area, m²')
    .option('--include-merged', 'also cases merged into another');
}

function filterOf(o: Record<string, string | boolean | undefined>): CaseFilter {
  return {
    ...(o.run !== undefined ? { run: num('run', o.run as string) } : {}),
    ...(o.township ? { xzqdm: list(o.township as string) } : {}),
    ...(o.type ? { tblx: list(o.type as string) } : {}),
    ...(o.status ? { status: list(o.status as string) } : {}),
    ...(o.from ? { from: o.from as string } : {}),
    ...(o.to ? { to: o.to as string } : {}),
    ...(o.pbf ? { sfjbnt: true } : o.notPbf ? { sfjbnt: false } : {}),
    ...(o.minArea !== undefined ? { minAreaM2: num('min-area', o.minArea as string) } : {}),
    ...(o.maxArea !== undefined ? { maxAreaM2: num('max-area', o.maxArea as string) } : {}),
    ...(o.includeMerged ? { includeMerged: true } : {}),
  } as CaseFilter;
}

const table = (rows: CaseSummary[]) =>
  rows.map((c) => ({ JCBH: c.jcbh, 状态: c.statusLabel, 核查结果: c.rulingLabel ?? '', 类型: c.tblxmc, 乡镇: c.xzqmc ?? c.xzqdm ?? '', '面积(亩)': c.areaMu, 基本农田: c.sfjbnt ? '是' : '', 期限: c.deadline ?? '', 最近: c.lastSeen ?? '', 版本: c.version }));

const FIELD_FLAGS = { approvalNo: 'approval-no', reason: 'reason', illegalKind: 'kind', evidence: 'evidence', filingNo: 'filing-no', deadline: 'deadline' } as const;

export function ledgerCommand(): Command {
  const ledger = new Command('ledger')
    .description('The case ledger (台账): ingest runs, list and show cases, move them through the lifecycle, balances, exports')
    .option('--db <dir>', 'embedded ledger data directory (default $FARMWATCH_LEDGER_DIR or .farmwatch/ledger; DATABASE_URL selects a server)');

  ledger
    .command('ingest')
    .description('Record a run folder (summary.json + patches.geojson) in the ledger; a run already recorded is reported, not repeated')
    .argument('<runDir>', 'run output folder of `farmwatch detect`')
    .option('--actor <name>', 'who ingests', whoami())
    .option('--json', 'print the report as JSON')
    .action(async (runDir: string, o, cmd: Command) => {
      const r = await withLedger(cmd, (l) => l.ingestDir(runDir, { actor: o.actor }));
      if (o.json) return console.log(JSON.stringify(r, null, 2));
      if (r.status === 'already-ingested') console.log(`run ${r.runId} is already in the ledger (key ${r.runKey.slice(0, 12)}…): nothing changed`);
      else console.log(`run ${r.runId}: ${r.patches} patches → ${r.created} new cases, ${r.continued} seen again, ${r.relapsed} relapses, ${r.splits} splits, ${r.merges} merges`);
    });

  addFilterOptions(ledger.command('list').description('List cases with filters, paged'))
    .option('--limit <n>', 'page size (≤ 1000)', '50')
    .option('--offset <n>', 'rows to skip', '0')
    .option('--order <by>', 'jcbh | area_desc | last_seen_desc | deadline', 'jcbh')
    .option('--json', 'print JSON')
    .action(async (o, cmd: Command) => {
      const page = { limit: num('limit', o.limit), offset: num('offset', o.offset), order: o.order } as Page;
      const r = await withLedger(cmd, (l) => l.listCases(filterOf(o), page));
      if (o.json) return console.log(JSON.stringify(r, null, 2));
      console.log(`${r.total} cases; ${r.offset + 1}–${r.offset + r.rows.length}:`);
      if (r.rows.length) console.table(table(r.rows));
    });

  ledger
    .command('show')
    .description('One case with its observations, links and full history')
    .argument('<jcbh>', 'case number')
    .option('--json', 'print JSON (with geometry)')
    .action(async (jcbh: string, o, cmd: Command) => {
      const c = await withLedger(cmd, (l) => l.getCase(jcbh));
      if (o.json) return console.log(JSON.stringify(c, null, 2));
      const { geometryLonLat: _g, observationsList, links, events, ...rest } = c;
      console.log(rest);
      console.log('observations:');
      console.table(observationsList);
      if (links.length) {
        console.log('links:');
        console.table(links.map((l) => ({ ...l, details: JSON.stringify(l.details) })));
      }
      console.log('history:');
      console.table(events.map((e) => ({ at: e.at, actor: e.actor, kind: e.kind, from: e.fromStatus ? STATUS_LABELS[e.fromStatus as keyof typeof STATUS_LABELS] ?? e.fromStatus : '', to: e.toStatus ? STATUS_LABELS[e.toStatus as keyof typeof STATUS_LABELS] ?? e.toStatus : '', fields: JSON.stringify(e.fields), note: e.note ?? '', v: e.version })));
    });

  ledger
    .command('transition')
    .description(`Move a case to a state: ${Object.entries(STATUS_LABELS).map(([k, v]) => `${k}/${v}`).join(', ')}`)
    .argument('<jcbh>', 'case number')
    .argument('<to>', 'target state (code or Chinese)')
    .option('--actor <name>', 'who (recorded in the history)', whoami())
    .option('--approval-no <no>', '批准文号 (合法)')
    .option('--reason <text>', '伪变化 reason')
    .option('--kind <新增|存量>', '违法: new or old')
    .option('--evidence <text>', '整改材料 (已整改)')
    .option('--filing-no <no>', '设施农业备案号 (设施农用地)')
    .option('--deadline <date>', 'deadline yyyy-mm-dd instead of the township policy')
    .option('--note <text>', 'note kept with the event')
    .option('--expect-version <n>', 'fail with a conflict if the case changed since this version')
    .action(async (jcbh: string, to: string, o, cmd: Command) => {
      const fields: Record<string, unknown> = {};
      for (const [k, flag] of Object.entries(FIELD_FLAGS)) {
        const v = o[flag.replace(/-(\w)/g, (_m: string, ch: string) => ch.toUpperCase())];
        if (v !== undefined) fields[k] = v;
      }
      const r = await withLedger(cmd, (l) => l.transition(jcbh, { to, actor: o.actor, fields, note: o.note, expectedVersion: num('expect-version', o.expectVersion) }));
      console.log(`${r.jcbh}: ${STATUS_LABELS[r.from]} → ${STATUS_LABELS[r.to]} (version ${r.version}${r.deadline ? `, deadline ${r.deadline}` : ''})`);
    });

  ledger
    .command('overdue')
    .description('Cases past their deadline that still wait on the township')
    .option('--as-of <date>', 'date (yyyy-mm-dd), default today in China')
    .option('--json', 'print JSON')
    .action(async (o, cmd: Command) => {
      const r = await withLedger(cmd, (l) => l.overdue(o.asOf, { limit: 1000 }));
      if (o.json) return console.log(JSON.stringify(r, null, 2));
      console.log(`${r.total} overdue cases`);
      if (r.rows.length) console.table(table(r.rows));
    });

  ledger
    .command('balance')
    .description('Cropland in–out balance per township and year (m²), confirmed and pending apart')
    .option('--year <y>', 'one year')
    .option('--township <codes>', 'township codes, comma separated')
    .option('--json', 'print JSON')
    .action(async (o, cmd: Command) => {
      const rows = await withLedger(cmd, (l) => l.balances({ year: num('year', o.year), xzqdm: list(o.township) }));
      if (o.json) return console.log(JSON.stringify(rows, null, 2));
      const sum = (m: Record<string, number>) => Math.round(Object.values(m).reduce((s, v) => s + v, 0) * 100) / 100;
      console.table(
        rows.map((b) => ({ 年份: b.year, 乡镇: b.XZQMC || b.XZQDM, 转出已确认: sum(b.outConfirmedM2), 转出待定: sum(b.outPendingM2), 转进已确认: b.inConfirmedM2, 转进待定: b.inPendingM2, 水田转出: b.paddyOutConfirmedM2, 水田转进: b.paddyInConfirmedM2, 建设占用: b.occupationConfirmedM2, 平衡: b.balanced ? '是' : '否' })),
      );
    });

  const projects = ledger.command('projects').description('补充耕地 project register');
  projects
    .command('import')
    .description('Import or update projects from a GeoJSON file (XMBH, XMMC, YSRQ, XZGDMJ, XZQDM, DLBM)')
    .argument('<file>', 'GeoJSON polygons (crs member, else lon/lat)')
    .action(async (file: string, _o, cmd: Command) => {
      const r = await withLedger(cmd, (l) => l.importProjects(file));
      console.log(`${file}: ${r.inserted} projects added, ${r.updated} updated (EPSG:${r.srid})`);
    });
  projects
    .command('list')
    .description('Projects with their 5-year care period and open cases on their parcels')
    .option('--in-care', 'only projects inside their care period today')
    .option('--json', 'print JSON')
    .action(async (o, cmd: Command) => {
      const rows = await withLedger(cmd, (l) => l.projects({ inCareOnly: Boolean(o.inCare) }));
      if (o.json) return console.log(JSON.stringify(rows, null, 2));
      console.table(rows.map((p) => ({ ...p, openCases: p.openCases.join(' ') })));
    });

  ledger
    .command('runs')
    .description('Runs recorded in the ledger')
    .action(async (_o, cmd: Command) => {
      const rows = await withLedger(cmd, (l) => l.runs());
      console.table(rows.map((r) => ({ id: r.id, region: r.regionCode, before: r.beforeDate, after: r.afterDate, patches: r.patches, ingested: r.ingestedAt, source: r.source })));
    });

  addFilterOptions(
    ledger
      .command('export')
      .description(`Export the filtered cases (${CLUE_FORMATS.join(', ')}) or the balance table (balance)`)
      .argument('<format>', `${CLUE_FORMATS.join(' | ')} | balance`)
      .requiredOption('--out <file>', 'file to write'),
  )
    .option('--epsg <code>', 'Shapefile/GeoPackage CRS: 4490 or a CGCS2000 Gauss–Krüger zone (4513–4554)')
    .option('--sheet-per-township', 'xlsx: one sheet per township')
    .option('--title <text>', 'title of the workbook / document')
    .option('--year <y>', 'balance: one year')
    .action(async (format: string, o, cmd: Command) => {
      const fmt = z.enum([...CLUE_FORMATS, 'balance']).safeParse(format);
      if (!fmt.success) throw new ConfigError('CONFIG_INVALID', `unknown export format "${format}" (one of ${[...CLUE_FORMATS, 'balance'].join(', ')})`, { field: 'format' });
      const r = await withLedger(cmd, async (l) => {
        if (fmt.data === 'balance') return exportBalanceXlsx(await l.balanceRows({ year: num('year', o.year), xzqdm: list(o.township) }), o.out, o.title ? { title: o.title } : {});
        const features = await l.clueFeatures(filterOf(o));
        return exportClues(features, fmt.data as ClueFormat, o.out, {
          ...(o.epsg ? { epsg: num('epsg', o.epsg) } : {}),
          ...(o.sheetPerTownship ? { sheetPerTownship: true } : {}),
          ...(o.title ? { title: o.title } : {}),
        });
      });
      console.log(`${r.path}: ${r.count} ${fmt.data === 'balance' ? 'rows' : 'cases'}${r.warnings.length ? `\nwarnings: ${r.warnings.join('; ')}` : ''}`);
    });

  return ledger;
}

/** Records a finished run in the ledger (the demo's last step) and prints what happened. */
export async function ingestIntoLedger(result: import('../pipeline/run.js').RunResult, db?: string): Promise<void> {
  const where = ledgerLocation(db);
  const l = await openLedger(where);
  try {
    const r = await l.ingestResult(result, { actor: `farmwatch (${userInfo().username})` });
    const place = where.url ? 'the server ledger' : `the ledger in ${where.dir}`;
    if (r.status === 'already-ingested') console.log(`this run is already in ${place} (run ${r.runId}): nothing changed`);
    else console.log(`recorded in ${place} as run ${r.runId}: ${r.created} new cases, ${r.continued} seen again, ${r.relapsed} relapses (npx farmwatch ledger list)`);
    const observed = await recordRunObservations(l, result.summary.config);
    if (observed !== null) console.log(`idle monitoring: ${observed} observations of 补充耕地 parcels recorded (npx farmwatch idle --ledger)`);
    console.log("review the cases in a browser: FARMWATCH_PASSWORD='…' npx farmwatch users add <name> --role analyst, then npx farmwatch serve");
  } finally {
    await l.close();
  }
}

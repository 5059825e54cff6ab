/**
 * `farmwatch audit`: the 补充耕地 audit (issue 8).
 * - `audit import`: the complete register, the quota plan and indicator uses, validated row by row,
 *   written in one transaction (a bad row anywhere writes nothing);
 * - `audit run`: before/after imagery audit and geometry audit of every project in the ledger's
 *   register; findings become ledger cases of their own types; findings.json, observations.json
 *   and evidence chips in --out;
 * - `audit report`: the indicator account workbook (.xlsx, Chinese headers);
 * - `audit cases` / `audit rule`: list the cases; 核实 or 排除 one.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { parseAuditConfig } from '../audit/config.js';
import { writeIndicatorXlsx } from '../audit/report-xlsx.js';
import { runAudit } from '../audit/run.js';
import { readConfigFile } from '../config/index.js';
import { compensationAccount, listCompensationCases, recordAudit, ruleCompensationCase, COMPENSATION_STATUS_LABELS, type CompensationStatus } from '../ledger/compensation-audit.js';
import { importCompensation, registerGeoJson, registerProjects } from '../ledger/compensation.js';
import { openLedger, type Ledger } from '../ledger/index.js';
import { ConfigError } from '../pipeline/errors.js';
import { createClassifier, loadModel, resolveModelDir } from '../pipeline/classify/index.js';
import { checkDate } from '../audit/register.js';
import { ledgerLocation } from './ledger.js';
import { defaultModelDir } from './paths.js';

async function withLedger<T>(db: string | undefined, f: (l: Ledger) => Promise<T>): Promise<T> {
  const l = await openLedger(ledgerLocation(db));
  try {
    return await f(l);
  } finally {
    await l.close();
  }
}

const asOfOf = (v: string | undefined, l: Ledger): string => {
  if (!v) return l.today();
  const d = checkDate(v);
  if ('problem' in d) throw new ConfigError('CONFIG_INVALID', `--as-of: ${d.problem}`, { field: '--as-of' });
  return d.date;
};

/** name=file pairs of --zone. */
function parseZones(zones: string[] | undefined): { name: string; file: string }[] {
  return (zones ?? []).map((z) => {
    const i = z.indexOf('=');
    if (i <= 0 || i === z.length - 1) throw new ConfigError('CONFIG_INVALID', `--zone "${z}": give name=file, e.g. 生态保护红线=redline.geojson`, { field: '--zone' });
    return { name: z.slice(0, i), file: z.slice(i + 1) };
  });
}

export function auditCommand(): Command {
  const audit = new Command('audit').description('Audit 补充耕地 (compensation farmland): register, before/after imagery and geometry findings, indicator account');

  audit
    .command('import')
    .description('Import the project register (GeoJSON), quota plan and indicator uses (CSV): every row validated, nothing written if any row is bad')
    .option('--register <geojson>', 'project register: XMBH, XMLX, XZQDM, XZGDMJ, XZSTMJ, XZHDMJ, LXRQ, KGRQ, YSRQ, RKRQ (see audit/register.ts)')
    .option('--townships <geojson>', 'township boundaries (XZQDM, XZQMC) to check townships against (default: those the ledger knows)')
    .option('--quotas <csv>', 'quota plan: 乡镇代码, 乡镇名称, 年度, 新增耕地任务(亩), 新增水田任务(亩)')
    .option('--uses <csv>', 'indicator uses: 核销编号, 项目编号, 核销日期, 核销面积(亩), 其中水田(亩), 用途')
    .option('--db <dir>', 'embedded ledger data directory (DATABASE_URL selects a server)')
    .action(async (o) => {
      if (!o.register && !o.quotas && !o.uses) throw new ConfigError('CONFIG_INVALID', 'farmwatch audit import: give --register, --quotas and/or --uses', { field: '--register' });
      const r = await withLedger(o.db, (l) => importCompensation(l, { register: o.register, quotas: o.quotas, uses: o.uses, townships: o.townships }));
      console.log(JSON.stringify(r, null, 2));
    });

  audit
    .command('run')
    .description("Audit every project of the ledger's register: imagery before the start and after acceptance, overlaps, protected zones, slope; findings become ledger cases")
    .requiredOption('--scenes <tifs...>', '4-band scenes (blue, green, red, nir) with acquisition dates: some before the projects started, some after acceptance')
    .requiredOption('--out <dir>', 'folder for findings.json, observations.json and chips/')
    .option('--dem <tif>', 'DEM GeoTIFF in a projected CRS (metres) for the slope > 25° rule')
    .option('--zone <name=geojson...>', 'protected-zone layers, e.g. 生态保护红线=redline.geojson 水源保护区=water.geojson')
    .option('--config <json>', 'audit rules config (audit/config.ts; defaults in the README)')
    .option('--model <dir>', 'land-cover model folder (card.json + model.onnx); default the pipeline\'s')
    .option('--region-code <code>', 'administrative code prefixing case numbers (default: from the townships of the register)')
    .option('--as-of <date>', 'audit date (default today, China time)')
    .option('--actor <name>', 'who runs the audit (recorded with the cases)', process.env.USER ?? 'farmwatch')
    .option('--no-ledger', 'do not record the findings as ledger cases')
    .option('--db <dir>', 'embedded ledger data directory (DATABASE_URL selects a server)')
    .action(async (o) => {
      const cfg = parseAuditConfig(o.config ? await readConfigFile(o.config) : {}, o.config ?? 'audit config');
      const zones = parseZones(o.zone);
      await withLedger(o.db, async (l) => {
        const asOf = asOfOf(o.asOf, l);
        const projects = await registerProjects(l.db);
        if (!projects.length) throw new ConfigError('CONFIG_INVALID', 'the ledger holds no 补充耕地 projects: run `farmwatch audit import --register …` first', { field: '--register' });
        await mkdir(o.out, { recursive: true });
        const registerFile = join(o.out, 'register-from-ledger.geojson');
        await writeFile(registerFile, JSON.stringify(await registerGeoJson(l.db)));
        const model = await loadModel(o.model ? resolveModelDir(o.model) : defaultModelDir());
        const clf = await createClassifier(model, { workers: 1 });
        let result;
        try {
          result = await runAudit({
            registerFile,
            projects,
            scenes: (o.scenes as string[]).map((uri) => ({ uri })),
            dem: o.dem,
            zones,
            outDir: o.out,
            cfg,
            classifier: clf,
            contextPx: model.card.contextPx,
            log: (m) => console.error(m),
          });
        } finally {
          await clf.close();
        }
        const counts: Record<string, number> = {};
        for (const f of result.findings) counts[f.type] = (counts[f.type] ?? 0) + 1;
        const regionCode = o.regionCode ?? mostCommonPrefix(projects.map((p) => p.xzqdm).filter((x): x is string => !!x)) ?? '000000';
        const summary: Record<string, unknown> = { asOf, projects: projects.length, findings: counts, timings: result.timings };
        if (o.ledger)
          summary.cases = await recordAudit(l, result.findings, {
            regionCode,
            asOf,
            actor: o.actor,
            inputs: { scenes: o.scenes, dem: o.dem ?? null, zones, config: cfg, model: `${model.card.id}@${model.card.version}` },
            summary: { findings: counts, timings: result.timings },
          });
        console.table(result.findings.map((f) => ({ project: f.xmbh, type: f.label, subject: f.subject, 'area m²': f.areaM2, 'deduct m²': f.deductM2 })));
        console.log(JSON.stringify(summary, null, 2));
      });
    });

  audit
    .command('report')
    .description('Indicator account workbook (.xlsx): plan, accepted, 核减, achieved, 入库, 核销出库, reserve per township and year; 占补 beside 进出; projects; findings')
    .requiredOption('--out <xlsx>', 'workbook to write')
    .option('--as-of <date>', 'account date (default today, China time)')
    .option('--title <text>', 'title row of every sheet')
    .option('--db <dir>', 'embedded ledger data directory (DATABASE_URL selects a server)')
    .action(async (o) => {
      await withLedger(o.db, async (l) => {
        const { account, findings } = await compensationAccount(l, asOfOf(o.asOf, l));
        await writeIndicatorXlsx(account, findings, o.out, { title: o.title });
        console.table(Object.values(account.totals).map((t) => ({ year: t.year, 'target 亩': mu(t.targetM2), 'accepted 亩': mu(t.acceptedM2), '核减 亩': mu(t.deductedM2), 'achieved 亩': mu(t.achievedM2), 'used 亩': mu(t.usedM2), 'reserve 亩': mu(t.reserveM2) })));
        console.log(`wrote ${o.out}`);
      });
    });

  audit
    .command('cases')
    .description('List the audit cases')
    .option('--status <s>', 'pending (待核查), confirmed (核实) or dismissed (排除)')
    .option('--json', 'print JSON')
    .option('--db <dir>', 'embedded ledger data directory (DATABASE_URL selects a server)')
    .action(async (o) => {
      if (o.status && !(o.status in COMPENSATION_STATUS_LABELS)) throw new ConfigError('CONFIG_INVALID', `--status ${o.status}: one of ${Object.keys(COMPENSATION_STATUS_LABELS).join(', ')}`, { field: '--status' });
      const cases = await withLedger(o.db, (l) => listCompensationCases(l, { status: o.status as CompensationStatus | undefined }));
      if (o.json) console.log(JSON.stringify(cases, null, 2));
      else console.table(cases.map((c) => ({ JCBH: c.jcbh, 类型: c.tblxmc, 项目: c.xmbh, 关联: c.subject, 'm²': c.areaM2, '核减 m²': c.deductM2, 状态: COMPENSATION_STATUS_LABELS[c.status] })));
    });

  audit
    .command('rule <jcbh>')
    .description('Rule an audit case: confirmed (核实: the deduction stands) or dismissed (排除: reason required)')
    .requiredOption('--to <status>', 'confirmed or dismissed')
    .requiredOption('--actor <name>', 'who rules')
    .option('--reason <text>', 'why (required to dismiss)')
    .option('--db <dir>', 'embedded ledger data directory (DATABASE_URL selects a server)')
    .action(async (jcbh: string, o) => {
      if (o.to !== 'confirmed' && o.to !== 'dismissed') throw new ConfigError('CONFIG_INVALID', `--to ${o.to}: confirmed or dismissed`, { field: '--to' });
      const r = await withLedger(o.db, (l) => ruleCompensationCase(l, jcbh, o.to, { actor: o.actor, reason: o.reason }));
      console.log(JSON.stringify(r));
    });
  return audit;
}

const mu = (m2: number | null) => (m2 === null ? null : Math.round((m2 * 3) / 2000 * 100) / 100);

function mostCommonPrefix(codes: readonly string[]): string | null {
  const n = new Map<string, number>();
  for (const c of codes) if (c.length >= 6) n.set(c.slice(0, 6), (n.get(c.slice(0, 6)) ?? 0) + 1);
  return [...n].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
}

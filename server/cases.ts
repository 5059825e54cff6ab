/**
 * Case routes of the review app: the queue (filters and paging in SQL), one case with its history
 * and attachments, lifecycle decisions, field-check attachments, runs, townships, balances and
 * exports. Who may do what is decided here, on the server, for every route.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Queryable } from '../ledger/db.js';
import { CHANGE_TYPE_LABELS } from '../pipeline/types.js';
import { CLUE_FORMATS, exportClues, FORMAT_EXTENSION, type ClueFormat } from '../ledger/export/index.js';
import { STATUS_LABELS, TRANSITIONS, type CaseFilter, type Ledger, type Status } from '../ledger/index.js';
import { RULINGS } from '../ledger/lifecycle.js';
import { readBytes, writeBytes, joinUri } from '../storage/index.js';
import { upsertUser, listUsers, type Session } from './auth.js';
import { HttpError, parseOr400, sessionOf, type AppOptions } from './app.js';

/** The columns access checks and the imagery routes need. */
export interface CaseRef {
  id: number;
  jcbh: string;
  xzqdm: string | null;
  status: Status;
  version: number;
  lastRunId: number;
  /** Bounding box of the case, lon/lat: [west, south, east, north]. */
  bbox: [number, number, number, number];
}

/**
 * The case if this session may see it: 404 when it does not exist, 403 when it belongs to another
 * township than the officer's.
 */
export async function caseFor(db: Queryable, s: Session, jcbh: string): Promise<CaseRef> {
  const r = await db.query<{ id: number; jcbh: string; xzqdm: string | null; status: Status; version: number; last_run_id: number; w: number; so: number; e: number; n: number }>(
    `SELECT id, jcbh, xzqdm, status, version, last_run_id, ST_XMin(geom) AS w, ST_YMin(geom) AS so, ST_XMax(geom) AS e, ST_YMax(geom) AS n FROM cases WHERE jcbh = $1`,
    [jcbh],
  );
  const c = r.rows[0];
  if (!c) throw new HttpError(404, 'NOT_FOUND', `没有图斑 ${jcbh} (no such case)`);
  if (s.user.role === 'township' && c.xzqdm !== s.user.xzqdm) throw new HttpError(403, 'FORBIDDEN', `图斑 ${jcbh} 不属于您的乡镇 (not your township's case)`);
  return { id: c.id, jcbh: c.jcbh, xzqdm: c.xzqdm, status: c.status, version: c.version, lastRunId: c.last_run_id, bbox: [c.w, c.so, c.e, c.n] };
}

/** A township officer's filters are pinned to its township; asking for another township is refused. */
function scoped<F extends { xzqdm?: string[] }>(s: Session, f: F): F {
  if (s.user.role !== 'township') return f;
  const own = s.user.xzqdm as string;
  const other = f.xzqdm?.find((x) => x !== own);
  if (other) throw new HttpError(403, 'FORBIDDEN', `乡镇 ${other} 不是您的乡镇 (township officers see their own township only)`);
  return { ...f, xzqdm: [own] };
}

function requireWriter(s: Session): void {
  if (s.user.role === 'viewer') throw new HttpError(403, 'FORBIDDEN', '只读用户不能修改台账 (read-only account)');
}

/** Steps a township officer may take: its field-check ruling and the rectification reports. */
const TOWNSHIP_STEPS: Readonly<Partial<Record<Status, readonly Status[]>>> = {
  dispatched: RULINGS,
  illegal: ['rectifying'],
  rectifying: ['rectified'],
};

const csv = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
  .pipe(z.array(z.string()).min(1));
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date yyyy-mm-dd');

const FilterQuery = z
  .object({
    run: z.coerce.number().int().positive().optional(),
    xzqdm: csv.optional(),
    tblx: csv.optional(),
    status: csv.optional(),
    from: isoDate.optional(),
    to: isoDate.optional(),
    sfjbnt: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
    minAreaM2: z.coerce.number().nonnegative().optional(),
    maxAreaM2: z.coerce.number().nonnegative().optional(),
  })
  .strict();

const ListQuery = FilterQuery.extend({
  order: z.enum(['priority', 'jcbh', 'area_desc', 'last_seen_desc', 'deadline']).default('priority'),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
}).strict();

const ExportQuery = FilterQuery.extend({ format: z.enum(CLUE_FORMATS) }).strict();

const TransitionBody = z
  .object({
    to: z.string().min(1),
    fields: z.record(z.string(), z.unknown()).default({}),
    note: z.string().max(2000).optional(),
    /** The case version the decider saw: a decision on a stale view is refused with 409. */
    expectedVersion: z.number().int().positive(),
  })
  .strict();

const JcbhParams = z.object({ jcbh: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'a case number (JCBH)') }).strict();

/** Attachment types, recognised by their first bytes, not by what the client claims. */
const ATTACHMENT_TYPES: Readonly<Record<string, { ext: string; magic: (b: Buffer) => boolean }>> = {
  'image/jpeg': { ext: '.jpg', magic: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  'image/png': { ext: '.png', magic: (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) },
  'application/pdf': { ext: '.pdf', magic: (b) => b.subarray(0, 5).toString('latin1') === '%PDF-' },
};

export function registerCaseRoutes(app: FastifyInstance, opts: AppOptions): void {
  const { ledger } = opts;
  const maxBytes = opts.maxAttachmentBytes ?? 10 << 20;

  app.get('/api/cases', async (req) => {
    const s = sessionOf(req);
    const q = parseOr400(ListQuery, req.query, 'case list query');
    const { order, limit, offset, ...filter } = q;
    return ledger.listCases(scoped(s, filter as CaseFilter & { xzqdm?: string[] }), { order, limit, offset });
  });

  app.get('/api/cases/:jcbh', async (req) => {
    const s = sessionOf(req);
    const { jcbh } = parseOr400(JcbhParams, req.params, 'case');
    const ref = await caseFor(ledger.db, s, jcbh);
    const [detail, att] = await Promise.all([
      ledger.getCase(jcbh),
      ledger.db.query<{ id: number; filename: string; content_type: string; size_bytes: number; uploaded_by: string; at: string }>(
        `SELECT id, filename, content_type, size_bytes, uploaded_by, to_char(uploaded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS at FROM attachments WHERE case_id = $1 ORDER BY id`,
        [ref.id],
      ),
    ]);
    const allowed = allowedSteps(s, ref.status);
    return {
      ...detail,
      bbox: ref.bbox,
      lastRunId: ref.lastRunId,
      allowed: allowed.map((to) => ({ to, label: STATUS_LABELS[to] })),
      attachments: att.rows.map((a) => ({ id: a.id, filename: a.filename, contentType: a.content_type, sizeBytes: a.size_bytes, uploadedBy: a.uploaded_by, at: a.at })),
    };
  });

  app.post('/api/cases/:jcbh/transition', async (req) => {
    const s = sessionOf(req);
    requireWriter(s);
    const { jcbh } = parseOr400(JcbhParams, req.params, 'case');
    const body = parseOr400(TransitionBody, req.body, 'decision');
    const ref = await caseFor(ledger.db, s, jcbh);
    const to = String(body.to);
    if (s.user.role === 'township' && !(TOWNSHIP_STEPS[ref.status] ?? []).some((t) => t === to || STATUS_LABELS[t] === to))
      throw new HttpError(403, 'FORBIDDEN', `乡镇核查员不能把 ${STATUS_LABELS[ref.status]} 的图斑改为 ${to} (a township officer reports field checks and rectification only)`);
    return ledger.transition(jcbh, { to, actor: s.user.username, fields: { ...body.fields, role: s.user.role }, note: body.note, expectedVersion: body.expectedVersion });
  });

  for (const type of Object.keys(ATTACHMENT_TYPES))
    app.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit: maxBytes }, (_req, body, done) => done(null, body));

  app.post('/api/cases/:jcbh/attachments', async (req, reply) => {
    const s = sessionOf(req);
    requireWriter(s);
    const { jcbh } = parseOr400(JcbhParams, req.params, 'case');
    const ref = await caseFor(ledger.db, s, jcbh);
    const type = String(req.headers['content-type'] ?? '').split(';')[0].trim();
    const spec = ATTACHMENT_TYPES[type];
    const body = req.body;
    if (!spec || !Buffer.isBuffer(body)) throw new HttpError(415, 'UNSUPPORTED_TYPE', `附件只接受 JPEG、PNG 或 PDF (got ${type || 'no content type'})`);
    if (body.length === 0) throw new HttpError(400, 'EMPTY', '附件为空 (empty file)');
    if (!spec.magic(body)) throw new HttpError(415, 'TYPE_MISMATCH', `文件内容不是 ${type} (the bytes are not a ${type} file)`);
    const rawName = decodeURIComponent(String(req.headers['x-filename'] ?? `photo${spec.ext}`));
    const filename = rawName.replace(/[\\/\0]/g, '_').slice(0, 120) || `photo${spec.ext}`;
    const sha = createHash('sha256').update(body).digest('hex');
    const uri = joinUri(opts.attachmentsUri, jcbh, `${sha.slice(0, 16)}${spec.ext}`);
    // The file first: a failed database write leaves an unreferenced file, never a row without its file.
    await writeBytes(uri, body, type);
    const row = await ledger.db.transaction(async (tx) => {
      const a = await tx.query<{ id: number }>(
        'INSERT INTO attachments (case_id, filename, content_type, size_bytes, sha256, uri, uploaded_by) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id',
        [ref.id, filename, type, body.length, sha, uri, s.user.username],
      );
      const v = await tx.query<{ version: number }>('SELECT version FROM cases WHERE id = $1', [ref.id]);
      await tx.query(`INSERT INTO events (case_id, actor, kind, action, fields, version) VALUES ($1, $2, 'attachment', 'attach', $3::jsonb, $4)`, [
        ref.id,
        s.user.username,
        JSON.stringify({ attachmentId: a.rows[0].id, filename, contentType: type, sizeBytes: body.length, sha256: sha }),
        v.rows[0].version,
      ]);
      return a.rows[0];
    });
    reply.code(201);
    return { id: row.id, filename, contentType: type, sizeBytes: body.length, sha256: sha };
  });

  app.get('/api/cases/:jcbh/attachments/:id', async (req, reply) => {
    const s = sessionOf(req);
    const p = parseOr400(JcbhParams.extend({ id: z.coerce.number().int().positive() }).strict(), req.params, 'attachment');
    const ref = await caseFor(ledger.db, s, p.jcbh);
    const r = await ledger.db.query<{ uri: string; content_type: string; filename: string }>('SELECT uri, content_type, filename FROM attachments WHERE id = $1 AND case_id = $2', [p.id, ref.id]);
    const a = r.rows[0];
    if (!a) throw new HttpError(404, 'NOT_FOUND', `图斑 ${p.jcbh} 没有附件 ${p.id}`);
    reply.header('Content-Type', a.content_type).header('Content-Disposition', `inline; filename*=UTF-8''${encodeURIComponent(a.filename)}`);
    return Buffer.from(await readBytes(a.uri));
  });

  app.get('/api/export', async (req, reply) => {
    const s = sessionOf(req);
    const { format, ...filter } = parseOr400(ExportQuery, req.query, 'export query');
    const features = await ledger.clueFeatures(scoped(s, filter as CaseFilter & { xzqdm?: string[] }));
    const dir = await mkdtemp(join(tmpdir(), 'fw-export-'));
    try {
      const name = `线索清单${FORMAT_EXTENSION[format as ClueFormat]}`;
      const out = join(dir, name);
      await exportClues(features, format as ClueFormat, out, { title: '耕地变化线索清单' });
      const type = { xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', shp: 'application/zip', gpkg: 'application/geopackage+sqlite3', geojson: 'application/geo+json', kml: 'application/vnd.google-earth.kml+xml', csv: 'text/csv; charset=utf-8' }[format];
      reply.header('Content-Type', type).header('Content-Disposition', `attachment; filename*=UTF-8''${encodeURIComponent(name)}`).header('X-Feature-Count', String(features.length));
      return await readFile(out);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  app.get('/api/meta', async () => ({ statuses: STATUS_LABELS, changeTypes: CHANGE_TYPE_LABELS }));

  app.get('/api/runs', async () => ({ runs: await ledger.runs() }));

  app.get('/api/townships', async (req) => {
    const s = sessionOf(req);
    const r = await ledger.db.query<{ xzqdm: string; xzqmc: string | null; cases: number }>(
      `SELECT t.xzqdm, t.xzqmc, (SELECT count(*)::int FROM cases c WHERE c.xzqdm = t.xzqdm AND c.merged_into IS NULL) AS cases
       FROM townships t WHERE $1::text IS NULL OR t.xzqdm = $1 ORDER BY t.xzqdm`,
      [s.user.role === 'township' ? s.user.xzqdm : null],
    );
    return { townships: r.rows };
  });

  app.get('/api/balances', async (req) => {
    const s = sessionOf(req);
    const q = parseOr400(z.object({ year: z.coerce.number().int().min(2000).max(2100).optional(), xzqdm: csv.optional() }).strict(), req.query, 'balance query');
    return { balances: await ledger.balances(scoped(s, q)) };
  });

  app.get('/api/users', async (req) => {
    requireAdmin(sessionOf(req));
    return { users: await listUsers(ledger.db) };
  });

  app.post('/api/users', async (req, reply) => {
    const s = sessionOf(req);
    requireAdmin(s);
    const user = await upsertUser(ledger.db, req.body as never, s.user.username);
    reply.code(201);
    return { user };
  });

  app.get('/api/audit', async (req) => {
    requireAdmin(sessionOf(req));
    const r = await ledger.db.query(`SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS at, actor, action, details FROM audit_log ORDER BY id DESC LIMIT 200`);
    return { entries: r.rows };
  });
}

function requireAdmin(s: Session): void {
  if (s.user.role !== 'admin') throw new HttpError(403, 'FORBIDDEN', '仅管理员可管理账号 (admins only)');
}

/** The lifecycle steps this user may take from `status` (the page shows only these). */
export function allowedSteps(s: Session, status: Status): Status[] {
  if (s.user.role === 'viewer') return [];
  const all = TRANSITIONS[status];
  if (s.user.role === 'township') return all.filter((t) => (TOWNSHIP_STEPS[status] ?? []).includes(t));
  return [...all];
}

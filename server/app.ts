/**
 * The review app's HTTP server (fastify): a JSON API over the ledger, map tiles and chips of each
 * case's imagery, exports, and the page itself. Every /api route but login needs a session; every
 * write needs the session's CSRF token; a township officer reaches only its own township's cases,
 * on every route (lists, cases, chips, tiles, attachments, exports, balances).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import { packageRoot } from '../cli/paths.js';
import type { Ledger } from '../ledger/index.js';
import { isAppError } from '../pipeline/errors.js';
import { audit, checkLogin, createSession, endSession, findSession, LoginLimiter, ROLE_LABELS, type Session } from './auth.js';
import { registerCaseRoutes } from './cases.js';
import { registerImageryRoutes, type ImageryOptions } from './imagery.js';

declare module 'fastify' {
  interface FastifyRequest {
    session: Session | null;
    sessionToken: string | null;
  }
}

export const SESSION_COOKIE = 'fw_session';

export interface AppOptions {
  ledger: Ledger;
  /** Where field-check attachments go: a file:// or s3:// prefix. */
  attachmentsUri: string;
  /** Largest attachment accepted, bytes. */
  maxAttachmentBytes?: number;
  /** Mark the session cookie Secure (browsers still accept it on http://localhost). */
  secureCookies?: boolean;
  sessionTtlHours?: number;
  loginLimiter?: LoginLimiter;
  imagery?: ImageryOptions;
  logger?: boolean;
}

/** An error a route answers with: HTTP status, a code and a message for people (Chinese first where users see it). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const LEDGER_STATUS: Record<string, number> = {
  NOT_FOUND: 404,
  CONFLICT: 409,
  INVALID_TRANSITION: 422,
  MISSING_EVIDENCE: 422,
  CONFIG_INVALID: 400,
  VECTOR_INVALID: 400,
};

/** Parses `value` with `schema`, or answers 400 naming each bad field. */
export function parseOr400<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw new HttpError(400, 'BAD_REQUEST', `${what}: ${r.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')}`);
}

function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}

export function sessionOf(req: FastifyRequest): Session {
  if (!req.session) throw new HttpError(401, 'UNAUTHENTICATED', '请先登录 (not logged in)');
  return req.session;
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const LoginSchema = z.object({ username: z.string().min(1, 'required'), password: z.string().min(1, 'required') }).strict();

const WEB_FILES: Record<string, [string, string]> = {
  '/': ['server/web/index.html', 'text/html; charset=utf-8'],
  '/static/app.js': ['server/web/app.js', 'text/javascript; charset=utf-8'],
  '/static/app.css': ['server/web/app.css', 'text/css; charset=utf-8'],
  // MapLibre GL 6 is an ES module that starts its worker from a file beside it (import.meta.url).
  '/static/maplibre/maplibre-gl.mjs': ['node_modules/maplibre-gl/dist/maplibre-gl.mjs', 'text/javascript; charset=utf-8'],
  '/static/maplibre/maplibre-gl-worker.mjs': ['node_modules/maplibre-gl/dist/maplibre-gl-worker.mjs', 'text/javascript; charset=utf-8'],
  '/static/maplibre/maplibre-gl.css': ['node_modules/maplibre-gl/dist/maplibre-gl.css', 'text/css; charset=utf-8'],
};

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const { ledger } = opts;
  const limiter = opts.loginLimiter ?? new LoginLimiter();
  const ttlHours = opts.sessionTtlHours ?? 12;
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: 1 << 20, trustProxy: false });

  app.decorateRequest('session', null);
  app.decorateRequest('sessionToken', null);

  app.setErrorHandler((err: unknown, req, reply) => {
    if (err instanceof HttpError) return reply.code(err.status).send({ error: err.code, message: err.message });
    if (isAppError(err)) {
      const status = LEDGER_STATUS[err.code] ?? 500;
      if (status >= 500) req.log.error(err);
      const message = err.code === 'CONFLICT' ? `该图斑已被他人修改，请刷新后重试 (${err.message})` : err.message;
      return reply.code(status).send({ error: err.code, message, context: err.context });
    }
    const e = err as { statusCode?: number; code?: string; message?: string };
    if (e.statusCode && e.statusCode < 500) return reply.code(e.statusCode).send({ error: e.code ?? 'BAD_REQUEST', message: e.message });
    req.log.error(err);
    return reply.code(500).send({ error: 'INTERNAL', message: 'internal error; see the server log' });
  });

  // Sessions and CSRF, for every API route.
  app.addHook('onRequest', async (req) => {
    if (!req.url.startsWith('/api/')) return;
    const token = parseCookies(req.headers.cookie)[SESSION_COOKIE];
    if (token) {
      req.session = await findSession(ledger.db, token);
      req.sessionToken = req.session ? token : null;
    }
    if (req.url.startsWith('/api/login')) return;
    const s = sessionOf(req);
    if (WRITE_METHODS.has(req.method) && req.headers['x-csrf-token'] !== s.csrfToken) throw new HttpError(403, 'CSRF', 'CSRF 校验失败：缺少或错误的 X-CSRF-Token (missing or wrong CSRF token)');
  });
  app.addHook('onSend', async (_req, reply) => {
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('X-Frame-Options', 'DENY');
    reply.header('Referrer-Policy', 'same-origin');
    // Only our own scripts; MapLibre starts its worker from a blob URL and draws tiles from blobs.
    reply.header('Content-Security-Policy', "default-src 'self'; script-src 'self'; worker-src 'self' blob:; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'");
  });

  const cookie = (value: string, maxAgeS: number) =>
    `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${opts.secureCookies === false ? '' : '; Secure'}`;

  app.post('/api/login', async (req, reply) => {
    const body = parseOr400(LoginSchema, req.body, 'login');
    const key = `${req.ip}|${body.username.toLowerCase()}`;
    const wait = await limiter.retryAfter(ledger.db, key);
    if (wait > 0) {
      reply.header('Retry-After', String(wait));
      throw new HttpError(429, 'RATE_LIMITED', `登录失败次数过多，请 ${Math.ceil(wait / 60)} 分钟后再试 (too many failed logins; retry in ${wait} s)`);
    }
    const user = await checkLogin(ledger.db, body.username, body.password);
    if (!user) {
      await limiter.fail(ledger.db, key);
      throw new HttpError(401, 'BAD_CREDENTIALS', '用户名或密码错误 (wrong username or password)');
    }
    await limiter.succeed(ledger.db, key);
    const s = await createSession(ledger.db, user, ttlHours);
    await audit(ledger.db, user.username, 'login', { ip: req.ip });
    reply.header('Set-Cookie', cookie(s.token, ttlHours * 3600));
    return { user: { ...user, roleLabel: ROLE_LABELS[user.role] }, csrfToken: s.csrfToken };
  });

  app.post('/api/logout', async (req, reply) => {
    if (req.sessionToken) await endSession(ledger.db, req.sessionToken);
    reply.header('Set-Cookie', cookie('', 0));
    return { ok: true };
  });

  app.get('/api/me', async (req) => {
    const s = sessionOf(req);
    return { user: { ...s.user, roleLabel: ROLE_LABELS[s.user.role] }, csrfToken: s.csrfToken };
  });

  registerCaseRoutes(app, opts);
  registerImageryRoutes(app, ledger, opts.imagery ?? {});

  const root = packageRoot();
  for (const [url, [file, type]] of Object.entries(WEB_FILES)) {
    app.get(url, async (_req: FastifyRequest, reply: FastifyReply) => {
      reply.header('Content-Type', type).header('Cache-Control', url === '/' ? 'no-cache' : 'max-age=300');
      return readFile(join(root, file));
    });
  }
  app.get('/favicon.ico', async (_req, reply) => reply.code(204).send());
  return app;
}

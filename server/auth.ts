/**
 * Accounts, passwords and sessions of the review app.
 *
 * Passwords are hashed with scrypt (memory-hard: N=2^15, r=8 needs 32 MiB per hash), a random salt
 * per user, compared in constant time. A session is a random token in an HttpOnly cookie; the
 * database keeps only its sha256, beside the session's CSRF token that every write must echo.
 */
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { z } from 'zod';
import type { Db, Queryable } from '../ledger/db.js';
import { LedgerError } from '../ledger/errors.js';

export const ROLES = ['admin', 'analyst', 'township', 'viewer'] as const;
export type Role = (typeof ROLES)[number];
export const ROLE_LABELS: Readonly<Record<Role, string>> = { admin: '管理员', analyst: '县级分析员', township: '乡镇核查员', viewer: '只读' };

export interface User {
  id: number;
  username: string;
  displayName: string | null;
  role: Role;
  /** Township of a township officer; null for county-wide roles. */
  xzqdm: string | null;
}

const SCRYPT = { N: 1 << 15, r: 8, p: 1, keyLen: 32 };

function scrypt(password: string, salt: Buffer, n: number, r: number, p: number, keyLen: number): Promise<Buffer> {
  const opts: ScryptOptions = { N: n, r, p, maxmem: 128 * n * r * 2 };
  return new Promise((res, rej) => scryptCb(password.normalize('NFKC'), salt, keyLen, opts, (e, k) => (e ? rej(e) : res(k))));
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, SCRYPT.N, SCRYPT.r, SCRYPT.p, SCRYPT.keyLen);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !hash) return false;
  const want = Buffer.from(hash, 'base64url');
  const got = await scrypt(password, Buffer.from(salt, 'base64url'), Number(n), Number(r), Number(p), want.length);
  return timingSafeEqual(got, want);
}

export const NewUserSchema = z
  .object({
    username: z.string().regex(/^[A-Za-z0-9_.@-]{2,64}$/, 'username: 2–64 letters, digits or _ . @ -'),
    password: z.string().min(8, 'password: at least 8 characters'),
    role: z.enum(ROLES, { error: `role: one of ${ROLES.join(', ')}` }),
    xzqdm: z.string().min(1).nullable().default(null),
    displayName: z.string().min(1).nullable().default(null),
  })
  .strict()
  .refine((u) => (u.role === 'township') === (u.xzqdm !== null), { message: 'xzqdm: a township officer needs a township, and only a township officer has one', path: ['xzqdm'] });
export type NewUser = z.input<typeof NewUserSchema>;

interface UserRow {
  id: number;
  username: string;
  display_name: string | null;
  role: Role;
  xzqdm: string | null;
}
const toUser = (r: UserRow): User => ({ id: r.id, username: r.username, displayName: r.display_name, role: r.role, xzqdm: r.xzqdm });

/** Creates an account (or replaces its password, role and township) and logs who did it. */
export async function upsertUser(db: Db, input: NewUser, actor: string): Promise<User> {
  const parsed = NewUserSchema.safeParse(input);
  if (!parsed.success) throw new LedgerError('CONFIG_INVALID', `user: ${parsed.error.issues.map((i) => i.message).join('; ')}`, { field: String(parsed.error.issues[0]?.path[0] ?? '') });
  const u = parsed.data;
  const hash = await hashPassword(u.password);
  return db.transaction(async (tx) => {
    const r = await tx.query<UserRow>(
      `INSERT INTO users (username, display_name, role, xzqdm, password_hash) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (username) DO UPDATE SET display_name = EXCLUDED.display_name, role = EXCLUDED.role, xzqdm = EXCLUDED.xzqdm, password_hash = EXCLUDED.password_hash, disabled = false
       RETURNING id, username, display_name, role, xzqdm`,
      [u.username, u.displayName, u.role, u.xzqdm, hash],
    );
    await audit(tx, actor, 'user.upsert', { username: u.username, role: u.role, xzqdm: u.xzqdm });
    return toUser(r.rows[0]);
  });
}

export async function listUsers(db: Queryable): Promise<(User & { disabled: boolean })[]> {
  const r = await db.query<UserRow & { disabled: boolean }>('SELECT id, username, display_name, role, xzqdm, disabled FROM users ORDER BY username');
  return r.rows.map((row) => ({ ...toUser(row), disabled: row.disabled }));
}

export const audit = (db: Queryable, actor: string, action: string, details: Record<string, unknown>): Promise<unknown> =>
  db.query('INSERT INTO audit_log (actor, action, details) VALUES ($1, $2, $3::jsonb)', [actor, action, JSON.stringify(details)]);

// A fixed hash to compare against when the user does not exist, so timing does not tell which usernames exist.
let dummyHash: Promise<string> | null = null;

/** The user for a username and password, or null (unknown user, wrong password or disabled). */
export async function checkLogin(db: Queryable, username: string, password: string): Promise<User | null> {
  const r = await db.query<UserRow & { password_hash: string; disabled: boolean }>('SELECT id, username, display_name, role, xzqdm, password_hash, disabled FROM users WHERE username = $1', [username]);
  const row = r.rows[0];
  if (!row) {
    dummyHash ??= hashPassword('not a password of anyone');
    await verifyPassword(password, await dummyHash);
    return null;
  }
  const ok = await verifyPassword(password, row.password_hash);
  return ok && !row.disabled ? toUser(row) : null;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export interface Session {
  user: User;
  csrfToken: string;
}

export async function createSession(db: Queryable, user: User, ttlHours: number): Promise<{ token: string; csrfToken: string }> {
  const token = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(24).toString('base64url');
  await db.query(`INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at) VALUES ($1, $2, $3, now() + make_interval(hours => $4))`, [sha256(token), user.id, csrfToken, ttlHours]);
  return { token, csrfToken };
}

export async function findSession(db: Queryable, token: string): Promise<Session | null> {
  const r = await db.query<UserRow & { csrf_token: string }>(
    `SELECT u.id, u.username, u.display_name, u.role, u.xzqdm, s.csrf_token FROM sessions s JOIN users u ON u.id = s.user_id
     WHERE s.token_hash = $1 AND s.expires_at > now() AND NOT u.disabled`,
    [sha256(token)],
  );
  const row = r.rows[0];
  return row ? { user: toUser(row), csrfToken: row.csrf_token } : null;
}

export async function endSession(db: Queryable, token: string): Promise<void> {
  await db.query('DELETE FROM sessions WHERE token_hash = $1 OR expires_at < now()', [sha256(token)]);
}

/**
 * Failed logins per key (client address + username) in a sliding window: after `max` failures the
 * key waits until the oldest failure leaves the window. Kept in the ledger (login_failures), so a
 * restart does not clear a lockout and every server process on one ledger enforces the same one.
 */
export class LoginLimiter {
  constructor(
    private readonly max = 5,
    private readonly windowMs = 15 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds to wait before the next attempt of `key`, or 0. */
  async retryAfter(db: Db, key: string): Promise<number> {
    const t = this.now();
    const r = await db.query<{ n: number; oldest: number | null }>(
      'SELECT count(*)::int AS n, (extract(epoch FROM min(failed_at)) * 1000)::float8 AS oldest FROM login_failures WHERE key = $1 AND failed_at > to_timestamp($2 / 1000.0)',
      [key, t - this.windowMs],
    );
    const { n, oldest } = r.rows[0];
    return n >= this.max && oldest !== null ? Math.max(1, Math.ceil((oldest + this.windowMs - t) / 1000)) : 0;
  }

  async fail(db: Db, key: string): Promise<void> {
    const t = this.now();
    await db.query('DELETE FROM login_failures WHERE failed_at <= to_timestamp($1 / 1000.0)', [t - this.windowMs]);
    await db.query('INSERT INTO login_failures (key, failed_at) VALUES ($1, to_timestamp($2 / 1000.0))', [key, t]);
  }

  async succeed(db: Db, key: string): Promise<void> {
    await db.query('DELETE FROM login_failures WHERE key = $1', [key]);
  }
}

/**
 * Issue 6 acceptance, API side, on the machine's PostgreSQL/PostGIS: township scoping on every
 * route (case, chip, tile, attachment, export), read-only viewers, CSRF on writes, rate-limited
 * login, and two analysts deciding one case at once.
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaseSummary, Ledger } from '../../ledger/index.js';
import { tileRange } from '../../server/tiles/index.js';
import { upsertUser } from '../../server/auth.js';
import { dropServerSchemas, testLedger } from '../ledger/helpers.js';
import { appFor, detectSample, PASSWORD, seedLedger, type Accounts, type World } from './fixture.js';

let world: World;
let ledger: Ledger;
let app: FastifyInstance;
let acc: Accounts;

beforeAll(async () => {
  world = await detectSample();
  ledger = await testLedger('server');
  acc = await seedLedger(ledger, world);
  app = await appFor(ledger, world);
}, 300_000);
afterAll(async () => {
  await app?.close();
  await ledger?.close();
  await dropServerSchemas();
});

interface Login {
  cookie: string;
  csrf: string;
}
async function login(username: string, password = PASSWORD): Promise<Login> {
  const r = await app.inject({ method: 'POST', url: '/api/login', payload: { username, password } });
  expect(r.statusCode, r.body).toBe(200);
  const cookie = String(r.headers['set-cookie']).split(';')[0];
  return { cookie, csrf: r.json().csrfToken };
}
const get = (who: Login, url: string) => app.inject({ method: 'GET', url, headers: { cookie: who.cookie } });
const post = (who: Login, url: string, payload: unknown, csrf = who.csrf) =>
  app.inject({ method: 'POST', url, payload: payload as object, headers: { cookie: who.cookie, ...(csrf ? { 'x-csrf-token': csrf } : {}) } });

async function casesOf(xzqdm: string, status?: string): Promise<CaseSummary[]> {
  return (await ledger.listCases({ xzqdm: [xzqdm], ...(status ? { status: [status] } : {}) }, { limit: 1000 })).rows;
}

/** A z17 tile over the middle of a case. */
async function tileOver(jcbh: string): Promise<{ z: number; x: number; y: number }> {
  const c = await ledger.getCase(jcbh);
  const ring = c.geometryLonLat[0][0];
  const lon = ring.reduce((s, p) => s + p[0], 0) / ring.length;
  const lat = ring.reduce((s, p) => s + p[1], 0) / ring.length;
  const r = tileRange([lon, lat, lon, lat], 17);
  return { z: 17, x: r.x0, y: r.y0 };
}

describe('sessions', () => {
  it('sets an HttpOnly, Secure, SameSite=Strict cookie and needs it on every API route', async () => {
    const r = await app.inject({ method: 'POST', url: '/api/login', payload: { username: 'analyst1', password: PASSWORD } });
    const set = String(r.headers['set-cookie']);
    expect(set).toMatch(/^fw_session=[\w-]{40,};/);
    expect(set).toMatch(/HttpOnly/);
    expect(set).toMatch(/Secure/);
    expect(set).toMatch(/SameSite=Strict/);
    expect((await app.inject({ method: 'GET', url: '/api/cases' })).statusCode).toBe(401);
    const page = await app.inject({ method: 'GET', url: '/' });
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self';/);
    expect(page.headers['x-frame-options']).toBe('DENY');
    const who = await login('analyst1');
    expect((await get(who, '/api/me')).json().user).toMatchObject({ username: 'analyst1', role: 'analyst' });
    await post(who, '/api/logout', {});
    expect((await get(who, '/api/me')).statusCode).toBe(401);
  });

  it('rate-limits wrong passwords per account and address, even for the right password afterwards', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 6; i++) codes.push((await app.inject({ method: 'POST', url: '/api/login', payload: { username: 'admin', password: `wrong ${i}` } })).statusCode);
    expect(codes).toEqual([401, 401, 401, 401, 401, 429]);
    const locked = await app.inject({ method: 'POST', url: '/api/login', payload: { username: 'admin', password: PASSWORD } });
    expect(locked.statusCode).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(800);
    expect(locked.json().message).toMatch(/登录失败次数过多/);
    // Another account from the same address is not locked out.
    expect((await app.inject({ method: 'POST', url: '/api/login', payload: { username: 'analyst2', password: PASSWORD } })).statusCode).toBe(200);
  });

  it('keeps the lockout in the ledger: a second server on it, or a restarted one, refuses too', async () => {
    await upsertUser(ledger.db, { username: 'lockout', password: PASSWORD, role: 'viewer', xzqdm: null, displayName: 'lockout' }, 'test');
    const other = await appFor(ledger, world);
    try {
      const login = (a: typeof app, password: string) => a.inject({ method: 'POST', url: '/api/login', payload: { username: 'lockout', password } });
      const codes: number[] = [];
      // Failures alternate between the two servers; the sixth attempt is refused by either.
      for (let i = 0; i < 5; i++) codes.push((await login(i % 2 ? other : app, `wrong ${i}`)).statusCode);
      expect(codes).toEqual([401, 401, 401, 401, 401]);
      expect((await login(other, PASSWORD)).statusCode).toBe(429);
      const restarted = await appFor(ledger, world);
      expect((await login(restarted, PASSWORD)).statusCode).toBe(429);
      await restarted.close();
    } finally {
      await other.close();
    }
  });

  it('stores passwords as memory-hard scrypt hashes, never in clear', async () => {
    const r = await ledger.db.query<{ password_hash: string }>("SELECT password_hash FROM users WHERE username = 'analyst1'");
    expect(r.rows[0].password_hash).toMatch(/^scrypt\$32768\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(r.rows[0].password_hash).not.toContain(PASSWORD);
  });
});

describe('queue', () => {
  it('filters and pages in the database, and rejects bad queries with 400 naming the field', async () => {
    const who = await login('analyst1');
    const all = (await get(who, '/api/cases?limit=500')).json();
    expect(all.total).toBe((await ledger.listCases({}, { limit: 1 })).total);
    const town = (await get(who, `/api/cases?xzqdm=${acc.town}&limit=500`)).json();
    expect(town.total).toBe((await casesOf(acc.town)).length);
    expect(town.rows.every((c: { xzqdm: string }) => c.xzqdm === acc.town)).toBe(true);
    const page2 = (await get(who, '/api/cases?limit=2&offset=2&order=jcbh')).json();
    const sorted = all.rows.map((c: { jcbh: string }) => c.jcbh).sort();
    expect(page2.rows.map((c: { jcbh: string }) => c.jcbh)).toEqual(sorted.slice(2, 4));
    // Priority: permanent basic farmland first.
    const prio = all.rows.map((c: { sfjbnt: boolean }) => c.sfjbnt);
    expect(prio).toEqual([...prio].sort((a: boolean, b: boolean) => Number(b) - Number(a)));
    const bad = await get(who, '/api/cases?limit=abc');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/limit/);
    const badStatus = await get(who, '/api/cases?status=maybe');
    expect(badStatus.statusCode).toBe(400);
    expect(badStatus.json().message).toMatch(/unknown status "maybe"/);
    expect((await get(who, '/api/cases?colour=red')).statusCode).toBe(400);
  });
});

describe('township scoping', () => {
  it("a township officer sees its own cases only and gets 403 for another township's case, chip, tile, attachment and export", async () => {
    const officer = await login('town1');
    const analyst = await login('analyst1');
    const own = await casesOf(acc.town);
    const other = (await casesOf(acc.otherTown))[0];
    const list = (await get(officer, '/api/cases?limit=500')).json();
    expect(list.total).toBe(own.length);
    expect(new Set(list.rows.map((c: { xzqdm: string }) => c.xzqdm))).toEqual(new Set([acc.town]));
    expect((await get(officer, `/api/cases?xzqdm=${acc.otherTown}`)).statusCode).toBe(403);

    // An attachment on the other township's case, by the analyst.
    const jpeg = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#4a7' } }).jpeg().toBuffer();
    const up = await app.inject({ method: 'POST', url: `/api/cases/${other.jcbh}/attachments`, payload: jpeg, headers: { cookie: analyst.cookie, 'x-csrf-token': analyst.csrf, 'content-type': 'image/jpeg', 'x-filename': encodeURIComponent('现场.jpg') } });
    expect(up.statusCode, up.body).toBe(201);
    const t = await tileOver(other.jcbh);
    const urls = [
      `/api/cases/${other.jcbh}`,
      `/api/cases/${other.jcbh}/chips/after.png`,
      `/api/cases/${other.jcbh}/imagery`,
      `/api/cases/${other.jcbh}/tiles/after-true/${t.z}/${t.x}/${t.y}.png`,
      `/api/cases/${other.jcbh}/attachments/${up.json().id}`,
      `/api/export?format=xlsx&xzqdm=${acc.otherTown}`,
    ];
    for (const url of urls) {
      const r = await get(officer, url);
      expect(r.statusCode, url).toBe(403);
      // The analyst reaches every one of them.
      const a = await get(analyst, url);
      expect(a.statusCode, `analyst ${url}`).toBe(200);
    }
    const w = await post(officer, `/api/cases/${other.jcbh}/transition`, { to: 'dispatched', expectedVersion: other.version });
    expect(w.statusCode).toBe(403);

    // Its own export holds its own township only.
    const ex = await get(officer, '/api/export?format=geojson');
    expect(ex.statusCode).toBe(200);
    const fc = JSON.parse(ex.body) as { features: { properties: { XZQDM: string } }[] };
    expect(fc.features.length).toBe(own.length);
    expect(fc.features.every((f) => f.properties.XZQDM === acc.town)).toBe(true);
  });

  it('a township officer reports field checks on its dispatched cases but cannot dispatch', async () => {
    const analyst = await login('analyst1');
    const officer = await login('town1');
    const [a, b] = await casesOf(acc.town, 'pending');
    const denied = await post(officer, `/api/cases/${a.jcbh}/transition`, { to: 'dispatched', expectedVersion: a.version });
    expect(denied.statusCode).toBe(403);
    const d = await post(analyst, `/api/cases/${b.jcbh}/transition`, { to: 'dispatched', expectedVersion: b.version });
    expect(d.statusCode, d.body).toBe(200);
    const ruled = await post(officer, `/api/cases/${b.jcbh}/transition`, { to: 'illegal', fields: { illegalKind: '新增' }, expectedVersion: d.json().version });
    expect(ruled.statusCode, ruled.body).toBe(200);
    const hist = (await get(officer, `/api/cases/${b.jcbh}`)).json();
    expect(hist.events.slice(-2).map((e: { actor: string; toStatus: string }) => [e.actor, e.toStatus])).toEqual([
      ['analyst1', 'dispatched'],
      ['town1', 'illegal'],
    ]);
    expect(hist.events.at(-1).fields).toMatchObject({ illegalKind: '新增', role: 'township' });
  });
});

describe('writes', () => {
  it('a viewer reads but cannot write', async () => {
    const v = await login('viewer');
    const c = (await casesOf(acc.town, 'pending'))[0];
    expect((await get(v, `/api/cases/${c.jcbh}`)).statusCode).toBe(200);
    const r = await post(v, `/api/cases/${c.jcbh}/transition`, { to: 'dispatched', expectedVersion: c.version });
    expect(r.statusCode).toBe(403);
    expect(r.json().message).toMatch(/只读/);
    const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#000' } }).png().toBuffer();
    const up = await app.inject({ method: 'POST', url: `/api/cases/${c.jcbh}/attachments`, payload: png, headers: { cookie: v.cookie, 'x-csrf-token': v.csrf, 'content-type': 'image/png' } });
    expect(up.statusCode).toBe(403);
    expect((await ledger.getCase(c.jcbh)).version).toBe(c.version);
  });

  it('refuses a write without the CSRF token or with a wrong one', async () => {
    const a = await login('analyst1');
    const c = (await casesOf(acc.otherTown, 'pending'))[0];
    for (const csrf of ['', 'not-the-token']) {
      const r = await post(a, `/api/cases/${c.jcbh}/transition`, { to: 'dispatched', expectedVersion: c.version }, csrf);
      expect(r.statusCode).toBe(403);
      expect(r.json().error).toBe('CSRF');
    }
    expect((await ledger.getCase(c.jcbh)).status).toBe('pending');
    const ok = await post(a, `/api/cases/${c.jcbh}/transition`, { to: 'false_change', fields: { reason: '云影' }, expectedVersion: c.version });
    expect(ok.statusCode, ok.body).toBe(200);
  });

  it('two analysts deciding one case at once: one succeeds, the other gets a conflict message', async () => {
    const [a1, a2] = [await login('analyst1'), await login('analyst2')];
    const c = (await casesOf(acc.otherTown, 'pending'))[0];
    const [r1, r2] = await Promise.all([
      post(a1, `/api/cases/${c.jcbh}/transition`, { to: 'dispatched', expectedVersion: c.version }),
      post(a2, `/api/cases/${c.jcbh}/transition`, { to: 'false_change', fields: { reason: '季节性差异' }, expectedVersion: c.version }),
    ]);
    const codes = [r1.statusCode, r2.statusCode].sort();
    expect(codes).toEqual([200, 409]);
    const lost = r1.statusCode === 409 ? r1 : r2;
    expect(lost.json().message).toMatch(/changed by someone else/);
    const after = await ledger.getCase(c.jcbh);
    expect(after.version).toBe(c.version + 1);
    expect(after.events.filter((e) => e.kind === 'transition')).toHaveLength(1);
  });

  it('rejects a decision without its required evidence, with 422 naming the field', async () => {
    const a = await login('analyst1');
    const c = (await casesOf(acc.town, 'pending'))[0];
    const r = await post(a, `/api/cases/${c.jcbh}/transition`, { to: 'false_change', expectedVersion: c.version });
    expect(r.statusCode).toBe(422);
    expect(r.json().message).toMatch(/reason/);
    const noVersion = await post(a, `/api/cases/${c.jcbh}/transition`, { to: 'dispatched' });
    expect(noVersion.statusCode).toBe(400);
    expect(noVersion.json().message).toMatch(/expectedVersion/);
  });
});

describe('attachments', () => {
  it('stores field photos checked by size and content, as audited events', async () => {
    const officer = await login('town1');
    const c = (await casesOf(acc.town))[0];
    const jpeg = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#863' } }).jpeg().toBuffer();
    const send = (body: Buffer, type: string) =>
      app.inject({ method: 'POST', url: `/api/cases/${c.jcbh}/attachments`, payload: body, headers: { cookie: officer.cookie, 'x-csrf-token': officer.csrf, 'content-type': type, 'x-filename': encodeURIComponent('东侧.jpg') } });
    const ok = await send(jpeg, 'image/jpeg');
    expect(ok.statusCode, ok.body).toBe(201);
    const back = await get(officer, `/api/cases/${c.jcbh}/attachments/${ok.json().id}`);
    expect(Buffer.compare(back.rawPayload, jpeg)).toBe(0);
    expect(back.headers['content-type']).toBe('image/jpeg');
    // Bytes that are not what the type says, a type not accepted, and a file too large.
    expect((await send(Buffer.from('%PDF-1.4 not an image'), 'image/jpeg')).statusCode).toBe(415);
    expect((await send(jpeg, 'text/html')).statusCode).toBe(415);
    const big = Buffer.concat([jpeg, Buffer.alloc(11 << 20)]);
    expect((await send(big, 'image/jpeg')).statusCode).toBe(413);
    const detail = (await get(officer, `/api/cases/${c.jcbh}`)).json();
    expect(detail.attachments).toHaveLength(1);
    expect(detail.attachments[0]).toMatchObject({ filename: '东侧.jpg', uploadedBy: 'town1', sizeBytes: jpeg.length });
    expect(detail.events.at(-1)).toMatchObject({ kind: 'attachment', actor: 'town1', fields: expect.objectContaining({ filename: '东侧.jpg' }) });
  });
});

describe('imagery', () => {
  it('serves before/after tiles and chips of a case, and refuses tiles far from it', async () => {
    const a = await login('analyst1');
    const c = (await casesOf(acc.town))[0];
    const t = await tileOver(c.jcbh);
    const pngs: Buffer[] = [];
    for (const layer of ['before-true', 'after-true', 'after-false', 'change']) {
      const r = await get(a, `/api/cases/${c.jcbh}/tiles/${layer}/${t.z}/${t.x}/${t.y}.png`);
      expect(r.statusCode, layer).toBe(200);
      expect(r.headers['content-type']).toBe('image/png');
      const meta = await sharp(r.rawPayload).metadata();
      expect([meta.width, meta.height]).toEqual([256, 256]);
      pngs.push(r.rawPayload);
    }
    // Different dates and styles are different pictures.
    expect(Buffer.compare(pngs[0], pngs[1])).not.toBe(0);
    expect(Buffer.compare(pngs[1], pngs[2])).not.toBe(0);
    const far = await get(a, `/api/cases/${c.jcbh}/tiles/after-true/${t.z}/${t.x + 40}/${t.y}.png`);
    expect(far.statusCode).toBe(403);
    const chip = await get(a, `/api/cases/${c.jcbh}/chips/before.png`);
    expect(chip.statusCode).toBe(200);
    const expected = await readFile(`${world.result.outDir}/chips/${(await ledger.getCase(c.jcbh)).observationsList.at(-1)!.patchId}_before.png`);
    expect(Buffer.compare(chip.rawPayload, expected)).toBe(0);
    expect((await get(a, `/api/cases/${c.jcbh}/tiles/sideways/${t.z}/${t.x}/${t.y}.png`)).statusCode).toBe(400);
  });
});

/**
 * Issue 6 acceptance, in a real browser: Debian's Chromium driven by playwright-core against the
 * review app over the embedded ledger. Log in, filter the queue, open a case, see the before and
 * after imagery load on the map, confirm one case and reject another with a reason by keyboard,
 * and find both decisions in the case history. Screenshots go to test-artifacts/server/.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ledger } from '../../ledger/index.js';
import { testLedger } from '../ledger/helpers.js';
import { appFor, detectSample, PASSWORD, seedLedger, type Accounts } from './fixture.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'server');

let ledger: Ledger;
let app: FastifyInstance;
let acc: Accounts;
let browser: Browser;
let base: string;

beforeAll(async () => {
  const world = await detectSample();
  ledger = await testLedger('embedded');
  acc = await seedLedger(ledger, world);
  app = await appFor(ledger, world);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  base = `http://localhost:${typeof addr === 'object' && addr ? addr.port : 0}`;
  await mkdir(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // SwiftShader gives MapLibre its WebGL without a GPU.
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await ledger?.close();
});

/** expect.poll with room for a loaded CI machine (its default gives up after one second). */
const poll = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 20_000 });

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

describe.runIf(existsSync(CHROMIUM))('review page in Chromium', () => {
  it('log in, filter, open a case with its imagery, confirm one and reject another by keyboard, see both in the history', async () => {
    const page = await browser.newPage({ viewport: { width: 1600, height: 900 }, locale: 'zh-CN' });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const tiles = new Map<string, number>();
    page.on('response', (r) => {
      const m = /\/tiles\/(before|after)-true\//.exec(r.url());
      if (m && r.status() === 200 && r.headers()['content-type'] === 'image/png') tiles.set(m[1], (tiles.get(m[1]) ?? 0) + 1);
    });

    await page.goto(base);
    await page.fill('#login-username', 'analyst1');
    await page.fill('#login-password', 'wrong password');
    await page.click('#login-submit');
    await poll(() => page.textContent('#login-error')).toMatch(/用户名或密码错误/);
    await page.fill('#login-password', PASSWORD);
    await page.click('#login-submit');
    await page.waitForSelector('#case-list li');
    await shot(page, '1-queue');

    // Filter by township: the queue holds that township's cases only.
    const expected = (await ledger.listCases({ xzqdm: [acc.town] }, { limit: 1 })).total;
    await page.selectOption('#f-xzqdm', acc.town);
    await poll(() => page.textContent('#queue-meta')).toBe(`共 ${expected} 个图斑`);
    const listed = await page.$$eval('#case-list li', (lis) => lis.map((li) => li.getAttribute('data-jcbh')));
    const inTown = new Set((await ledger.listCases({ xzqdm: [acc.town] }, { limit: 1000 })).rows.map((c) => c.jcbh));
    expect(listed.length).toBe(expected);
    expect(listed.every((j) => j && inTown.has(j))).toBe(true);

    // Open the first case by keyboard; both maps load their imagery tiles.
    await page.focus('#case-list');
    await page.keyboard.press('j');
    const first = listed[0] as string;
    await poll(() => page.textContent('#case-title')).toContain(first);
    await expect.poll(() => [tiles.get('before') ?? 0, tiles.get('after') ?? 0].every((n) => n > 0), { timeout: 30_000 }).toBe(true);
    type Maps = { __maps: Record<string, { loaded(): boolean; areTilesLoaded(): boolean }> };
    await page.waitForFunction(() => Object.values((globalThis as unknown as Maps).__maps).every((m) => m.loaded() && m.areTilesLoaded()), undefined, { timeout: 30_000 });
    // The chips of the case are real images.
    expect(await page.$eval('#chip-before', (img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBeGreaterThan(0);
    await shot(page, '2-case-imagery');

    // Confirm (c): 待核查 → 已下发, submitted with Enter.
    await page.keyboard.press('c');
    await page.waitForSelector('#decision:not([hidden])');
    await page.keyboard.press('Enter');
    await poll(() => page.textContent('#message')).toContain(`已提交：${first} 已下发`);
    await shot(page, '3-confirmed');

    // Next case (j), reject (x) with a reason.
    await page.keyboard.press('j');
    const second = listed[1] as string;
    await poll(() => page.textContent('#case-title')).toContain(second);
    await page.keyboard.press('x');
    await page.waitForSelector('#d-reason');
    await page.keyboard.type('云或云影');
    await page.keyboard.press('Enter');
    await poll(() => page.textContent('#message')).toContain(`已提交：${second} 伪变化`);
    await poll(() => page.textContent('#history li[data-to="false_change"]')).toContain('原因：云或云影');
    expect(await page.textContent('#history li[data-to="false_change"]')).toContain('analyst1');
    await shot(page, '4-rejected');

    // Back to the first (k): its history holds the confirmation.
    await page.keyboard.press('k');
    await poll(() => page.textContent('#case-title')).toContain(first);
    const confirmedHistory = await page.textContent('#history li[data-to="dispatched"]');
    expect(confirmedHistory).toContain('analyst1');
    expect(confirmedHistory).toContain('待核查 → 已下发');

    // And the ledger agrees.
    expect((await ledger.getCase(first)).status).toBe('dispatched');
    const c2 = await ledger.getCase(second);
    expect(c2.status).toBe('false_change');
    expect(c2.events.at(-1)).toMatchObject({ actor: 'analyst1', toStatus: 'false_change', fields: expect.objectContaining({ reason: '云或云影' }) });
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);

  it('shows a conflict message when someone else decided the case first', async () => {
    const page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
    await page.goto(base);
    await page.fill('#login-username', 'analyst2');
    await page.fill('#login-password', PASSWORD);
    await page.click('#login-submit');
    await page.selectOption('#f-status', 'pending');
    await page.waitForSelector('#case-list li');
    await page.click('#case-list li[data-i="0"]');
    const jcbh = (await page.getAttribute('#case-list li[data-i="0"]', 'data-jcbh')) as string;
    await poll(() => page.textContent('#case-title')).toContain(jcbh);
    // Another analyst decides it while this page shows the old version.
    const c = await ledger.getCase(jcbh);
    await ledger.transition(jcbh, { to: 'dispatched', actor: 'analyst1', expectedVersion: c.version });
    await page.keyboard.press('x');
    await page.waitForSelector('#d-reason');
    await page.keyboard.type('影像配准误差');
    await page.keyboard.press('Enter');
    await poll(() => page.textContent('#message')).toMatch(/冲突：.*changed by someone else/);
    expect((await ledger.getCase(jcbh)).status).toBe('dispatched');
    await shot(page, '5-conflict');
    await page.close();
  }, 120_000);
});

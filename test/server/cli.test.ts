/**
 * `farmwatch users add` and `farmwatch serve` from source on an embedded ledger: an account made on
 * the command line logs in to the server the command starts, which stops cleanly on SIGTERM.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/paths.js';

const cli = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'cli', 'main.ts'), ...args], { cwd: repoRoot, env: { ...process.env, DATABASE_URL: '', ...env }, encoding: 'utf8', timeout: 120_000 });

describe('farmwatch users / serve', () => {
  it('adds accounts, refuses a bad one with a clear message, and serves the app on them', async () => {
    const db = join(await mkdtemp(join(tmpdir(), 'fw-serve-')), 'ledger');
    const ok = cli(['users', 'add', 'chief', '--role', 'admin', '--db', db], { FARMWATCH_PASSWORD: 'a long password' });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/account chief \(admin\) saved/);
    const bad = cli(['users', 'add', 'someone', '--role', 'township', '--db', db], { FARMWATCH_PASSWORD: 'a long password' });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/xzqdm: a township officer needs a township/);
    const list = cli(['users', 'list', '--db', db]);
    expect(list.stdout.trim().split('\n')).toEqual([expect.stringMatching(/^chief\tadmin/)]);

    const server = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'cli', 'main.ts'), 'serve', '--db', db, '--port', '0'], { cwd: repoRoot, env: { ...process.env, DATABASE_URL: '' } });
    try {
      let stderr = '';
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL from serve: ${stderr}`)), 60_000);
        server.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
          const m = /review app on (http:\/\/\S+)/.exec(stderr);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
        server.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
      });
      const page = await fetch(url);
      expect(await page.text()).toContain('耕地卫片监测');
      const login = await fetch(`${url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'chief', password: 'a long password' }) });
      expect(login.status).toBe(200);
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
      const me = (await (await fetch(`${url}/api/me`, { headers: { cookie } })).json()) as { user: unknown };
      expect(me.user).toMatchObject({ username: 'chief', role: 'admin' });
      const cases = (await (await fetch(`${url}/api/cases`, { headers: { cookie } })).json()) as unknown;
      expect(cases).toMatchObject({ total: 0, rows: [] });
    } finally {
      const exited = new Promise<number | null>((r) => server.once('exit', r));
      server.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  }, 180_000);
});

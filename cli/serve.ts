/**
 * `farmwatch serve`: the review app over the ledger; `farmwatch users`: its accounts.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { openLedger } from '../ledger/index.js';
import { buildApp } from '../server/app.js';
import { listUsers, ROLES, upsertUser } from '../server/auth.js';
import { TileRenderer } from '../server/tiles/index.js';
import { fileUri } from '../storage/index.js';
import { ledgerLocation } from './ledger.js';

async function readPassword(envName: string): Promise<string> {
  const fromEnv = process.env[envName];
  if (fromEnv) return fromEnv;
  if (process.stdin.isTTY) throw new Error(`set the password in $${envName} or pipe it on stdin`);
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0];
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Start the review app (web page and JSON API) over the ledger')
    .option('--db <dir>', 'embedded ledger data directory (default $FARMWATCH_LEDGER_DIR or .farmwatch/ledger; DATABASE_URL selects a server)')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port', '8080')
    .option('--attachments <uri>', 'where field-check photos are stored (folder, file:// or s3:// prefix)', '.farmwatch/attachments')
    .option('--base-dir <dir>', 'folder that relative run and scene paths in the ledger are resolved against', '.')
    .option('--tile-cache <dir>', 'disk cache of rendered map tiles (default: memory only)')
    .option('--insecure-cookies', 'session cookie without the Secure flag (plain http on a non-localhost address)')
    .action(async (o) => {
      const ledger = await openLedger(ledgerLocation(o.db));
      const attachments = /^[a-z0-9]+:\/\//i.test(o.attachments) ? o.attachments : fileUri(resolve(o.attachments));
      const renderer = new TileRenderer(o.tileCache ? { cacheDir: o.tileCache } : {});
      const app = await buildApp({ ledger, attachmentsUri: attachments, secureCookies: !o.insecureCookies, imagery: { baseDir: resolve(o.baseDir), renderer }, logger: true });
      const users = await listUsers(ledger.db);
      if (!users.length) console.error('no accounts yet: add one with `npx farmwatch users add <name> --role admin` (password from $FARMWATCH_PASSWORD or stdin)');
      const stop = async () => {
        await app.close();
        await ledger.close();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const url = await app.listen({ host: o.host, port: Number(o.port) });
      console.error(`farmwatch review app on ${url} (ledger: ${ledger.db.where})`);
    });

  const users = program.command('users').description('Accounts of the review app');
  users
    .command('add <username>')
    .description('Add an account, or reset its password, role and township')
    .requiredOption('--role <role>', ROLES.join(' | '))
    .option('--township <xzqdm>', 'township code (XZQDM) of a township officer')
    .option('--name <name>', 'display name')
    .option('--password-env <var>', 'environment variable holding the password (else the first line of stdin)', 'FARMWATCH_PASSWORD')
    .option('--db <dir>', 'embedded ledger data directory')
    .action(async (username: string, o) => {
      const password = await readPassword(o.passwordEnv);
      const ledger = await openLedger(ledgerLocation(o.db));
      try {
        const u = await upsertUser(ledger.db, { username, password, role: o.role, xzqdm: o.township ?? null, displayName: o.name ?? null }, `cli:${process.env.USER ?? 'unknown'}`);
        console.log(`account ${u.username} (${u.role}${u.xzqdm ? `, township ${u.xzqdm}` : ''}) saved in ${ledger.db.where}`);
      } finally {
        await ledger.close();
      }
    });
  users
    .command('list')
    .description('List the accounts')
    .option('--db <dir>', 'embedded ledger data directory')
    .action(async (o) => {
      const ledger = await openLedger(ledgerLocation(o.db));
      try {
        for (const u of await listUsers(ledger.db)) console.log([u.username, u.role, u.xzqdm ?? '', u.displayName ?? '', u.disabled ? 'disabled' : ''].join('\t'));
      } finally {
        await ledger.close();
      }
    });
}

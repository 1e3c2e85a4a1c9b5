/** Test servers: real HTTP on 127.0.0.1, a fresh SQLite file, a clock tests move by hand. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/clock.js';
import { type Config, loadConfig } from '../../src/config.js';
import { type RunningServer, startServer } from '../../src/server.js';
import type { ClientType, ConsentSetting } from '../../src/storage/types.js';

export interface TestServer extends RunningServer {
  clock: ManualClock;
  issuer: string;
  dir: string;
  dbPath: string;
  /** Stops the server; the database stays until cleanup(). */
  stop(): Promise<void>;
  cleanup(): Promise<void>;
}

export function tempDir(prefix = 'latchkey-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Starts a server; pass `dbPath` (and the same `port`) to restart on an existing database. */
export async function startTestServer(
  opts: { overrides?: Partial<Config>; dbPath?: string; port?: number; clock?: ManualClock } = {},
): Promise<TestServer> {
  const dir = tempDir();
  const dbPath = opts.dbPath ?? join(dir, 'latchkey.db');
  const clock = opts.clock ?? new ManualClock();
  // Bind first to learn the port, so the issuer can name it.
  let port = opts.port ?? 0;
  if (port === 0) port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const config = loadConfig(
    { port, host: '127.0.0.1', issuer, database: dbPath, logLevel: 'silent', ...(opts.overrides as object) },
    {},
  );
  const server = await startServer(config, { clock });
  return {
    ...server,
    clock,
    issuer,
    dir,
    dbPath,
    stop: () => server.close(),
    async cleanup() {
      await server.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const p = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(p));
    });
  });
}

export const PASSWORD = 'correct horse battery staple';

export async function createUser(
  server: TestServer,
  username = 'alice',
  extra: { email?: string; name?: string } = {},
): Promise<{ id: string; username: string }> {
  const u = await server.ctx.users.create({
    username,
    password: PASSWORD,
    email: extra.email ?? `${username}@example.com`,
    name: extra.name ?? `${username[0]!.toUpperCase()}${username.slice(1)} Example`,
  });
  return { id: u.id, username: u.username };
}

export async function createClient(
  server: TestServer,
  opts: {
    type?: ClientType;
    redirectUris?: string[];
    consent?: ConsentSetting;
    name?: string;
    requirePkce?: boolean;
    postLogoutRedirectUris?: string[];
    allowedScopes?: string[];
  } = {},
): Promise<{ clientId: string; secret?: string; redirectUri: string }> {
  const type = opts.type ?? 'native';
  const redirectUris = opts.redirectUris ?? (type === 'service' ? [] : ['http://127.0.0.1/callback']);
  const { client, secret } = await server.ctx.clients.create({
    name: opts.name ?? `Test ${type} app`,
    type,
    redirectUris,
    ...(opts.postLogoutRedirectUris ? { postLogoutRedirectUris: opts.postLogoutRedirectUris } : {}),
    ...(opts.consent ? { consent: opts.consent } : {}),
    ...(opts.requirePkce !== undefined ? { requirePkce: opts.requirePkce } : {}),
    ...(opts.allowedScopes ? { allowedScopes: opts.allowedScopes } : {}),
  });
  return { clientId: client.clientId, ...(secret ? { secret } : {}), redirectUri: redirectUris[0] ?? '' };
}

/**
 * Test servers: real HTTP on 127.0.0.1, a fresh SQLite file, a clock tests move by hand.
 *
 * Two costs that say nothing about what a test checks are cut here, for in-process servers only
 * (spawned `latchkey serve` processes are untouched): passwords are hashed with a cheap argon2id
 * cost (the hashes are real argon2id and verify as any other), and the signing keys of each
 * generation are made once per test process and reused by every server (an RSA-2048 key takes
 * about 0.4 s here; a fresh database per test made one each time). Pass `freshKeys` where a test
 * needs keys of its own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPasswordHasher } from '../../src/auth/passwords.js';
import { ManualClock } from '../../src/clock.js';
import { type Config, loadConfig } from '../../src/config.js';
import type { ContextOptions } from '../../src/context.js';
import { type RunningServer, startServer } from '../../src/server.js';
import type { ClientType, ConsentSetting, SigningKey } from '../../src/storage/types.js';
import { generateSigningKey, type KeyGenerator } from '../../src/tokens/keys.js';

/** argon2id at its smallest useful cost: m=1 MiB, t=1 (the server's is m=19 MiB, t=2). */
export const cheapPasswords = createPasswordHasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 });

const keysByGeneration = new Map<number, Promise<SigningKey>>();

/** The key material of each generation made once per process; the times are the caller's. */
export const reusedKeys: KeyGenerator = async (generation, now, activeAt) => {
  let made = keysByGeneration.get(generation);
  if (!made) {
    made = generateSigningKey(generation, 0, 0);
    keysByGeneration.set(generation, made);
  }
  return { ...structuredClone(await made), createdAt: now, activeAt };
};

/** What in-process test servers get (see the top of this file). */
export const TEST_CONTEXT: ContextOptions = { passwords: cheapPasswords, generateKey: reusedKeys };

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
  opts: {
    overrides?: Partial<Config>;
    dbPath?: string;
    port?: number;
    clock?: ManualClock;
    /** Keys made for this server alone (default: the process's reused ones). */
    freshKeys?: boolean;
  } = {},
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
  const context: ContextOptions = opts.freshKeys ? { passwords: cheapPasswords } : TEST_CONTEXT;
  const server = await startServer(config, { clock, context });
  return {
    ...server,
    clock,
    issuer: config.issuer,
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
    /** RFC 9126: requests only through /par. */
    requirePar?: boolean;
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
    ...(opts.requirePar ? { requirePushedAuthorizationRequests: true } : {}),
  });
  return { clientId: client.clientId, ...(secret ? { secret } : {}), redirectUri: redirectUris[0] ?? '' };
}

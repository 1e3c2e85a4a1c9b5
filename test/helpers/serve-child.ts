/**
 * `latchkey serve` as a child process (the built command, as operators run it), with the data a
 * flow needs written to its database beforehand, for tests of signals, crashes and outages.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { createContext } from '../../src/context.js';
import { openStorage } from '../../src/storage/index.js';
import { spawnCli } from './cli-process.js';
import { PASSWORD } from './server.js';

export interface Seeded {
  /** Native app (public, PKCE, no consent page) with redirect http://127.0.0.1/callback. */
  app: { clientId: string; redirectUri: string };
  /** Confidential web app: introspects tokens. */
  web: { clientId: string; secret: string };
  /** Service app: client_credentials. */
  service: { clientId: string; secret: string };
  usernames: string[];
}

/** Writes the applications and `users` users (password PASSWORD) to the database at `db`. */
export async function seed(db: string, users = 1): Promise<Seeded> {
  const storage = await openStorage(db);
  try {
    const ctx = createContext(loadConfig({ database: db, logLevel: 'silent' }, {}), systemClock, storage);
    await ctx.keys.ensureKey();
    const redirectUri = 'http://127.0.0.1/callback';
    const app = await ctx.clients.create({
      name: 'Flow app',
      type: 'native',
      redirectUris: [redirectUri],
      consent: 'none',
    });
    const web = await ctx.clients.create({
      name: 'Introspecting app',
      type: 'web',
      redirectUris: ['https://web.example/cb'],
    });
    const service = await ctx.clients.create({ name: 'Service', type: 'service', redirectUris: [] });
    const usernames: string[] = [];
    for (let i = 0; i < users; i++) {
      const username = `user${i}`;
      await ctx.users.create({
        username,
        password: PASSWORD,
        email: `${username}@example.com`,
        name: username,
      });
      usernames.push(username);
    }
    return {
      app: { clientId: app.client.clientId, redirectUri },
      web: { clientId: web.client.clientId, secret: web.secret! },
      service: { clientId: service.client.clientId, secret: service.secret! },
      usernames,
    };
  } finally {
    await storage.close();
  }
}

export interface ServeProcess {
  child: ChildProcessWithoutNullStreams;
  url: string;
  port: number;
  /** Everything printed so far. */
  output(): string;
  /** Resolves when the process ends: exit code (null when killed by a signal) and when. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** SIGKILL if still running (for cleanup). */
  kill(): Promise<void>;
}

/**
 * Starts `latchkey serve` on `port` and waits for its "listening" line; `more.args` are added
 * to its arguments, `more.detached` makes it the leader of a process group of its own (for a
 * signal to the whole group, as a terminal's Ctrl-C sends it).
 */
export async function startServe(
  db: string,
  port: number,
  env: Record<string, string> = {},
  more: { args?: string[]; detached?: boolean } = {},
): Promise<ServeProcess> {
  const args = more.args ?? [];
  const url = `http://127.0.0.1:${port}`;
  const child = spawnCli(
    ['serve', '--port', String(port), '--host', '127.0.0.1', '--issuer', url, '--db', db, ...args],
    {
      env: { LATCHKEY_LOG_LEVEL: 'warn', LATCHKEY_RATE_LIMIT: 'false', ...env },
      ...(more.detached ? { detached: true } : {}),
    },
  );
  child.stdin.end();
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  let ended = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.on('exit', (code, signal) => {
      ended = true;
      resolve({ code, signal, at: Date.now() });
    }),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start in 20 s:\n${out}`)), 20_000);
    const check = () => {
      if (out.includes('Latchkey listening on')) {
        clearTimeout(timer);
        child.stdout.off('data', check);
        resolve();
      }
    };
    child.stdout.on('data', check);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`serve exited before listening:\n${out}`));
    });
  });
  return {
    child,
    url,
    port,
    output: () => out,
    exited,
    async kill() {
      if (!ended) child.kill('SIGKILL');
      await exited;
    },
  };
}

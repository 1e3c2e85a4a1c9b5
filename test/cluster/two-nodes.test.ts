/**
 * Several nodes on one PostgreSQL database: two real `latchkey serve` processes with the same
 * issuer. Mandatory when LATCHKEY_TEST_POSTGRES is set (fails if PostgreSQL is unreachable).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { createContext } from '../../src/context.js';
import { openStorage } from '../../src/storage/index.js';
import { authorizeThroughBrowser, Browser } from '../helpers/browser.js';
import { spawnCli } from '../helpers/cli-process.js';
import { createTempDatabase, PG_SKIP, pgQuery, type TempPgDatabase } from '../helpers/databases.js';
import { authorizeRequest, codeFrom, redeem } from '../helpers/flow.js';
import { freePort, PASSWORD } from '../helpers/server.js';

/** The scope of this file's authorization requests. */
const PROFILE = { scope: 'openid profile' };

interface Node {
  name: string;
  url: string;
  proc: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function spawnNode(name: string, db: string, port: number, issuer: string): Node {
  const proc: ChildProcess = spawnCli(
    ['serve', '--db', db, '--port', String(port), '--issuer', issuer, '--host', '127.0.0.1'],
    { from: 'source', env: { LATCHKEY_LOG_LEVEL: 'silent', LATCHKEY_PG_POOL_SIZE: '10' } },
  );
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { name, url: `http://127.0.0.1:${port}`, proc, output: () => out, exited };
}

async function waitReady(node: Node, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (node.proc.exitCode !== null) throw new Error(`${node.name} exited early:\n${node.output()}`);
    try {
      const r = await fetch(`${node.url}/readyz`);
      if (r.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100)); // polling a child process start-up, not testing expiry
  }
  throw new Error(`${node.name} not ready after ${timeoutMs} ms:\n${node.output()}`);
}

async function stopNode(node: Node | undefined): Promise<void> {
  if (!node || node.proc.exitCode !== null || node.proc.signalCode !== null) return;
  node.proc.kill('SIGTERM');
  const t = setTimeout(() => node.proc.kill('SIGKILL'), 10_000);
  await node.exited;
  clearTimeout(t);
}

describe('two latchkey processes on one PostgreSQL database', {
  skip: PG_SKIP,
}, () => {
  let db: TempPgDatabase;
  let a: Node;
  let b: Node;
  let app: { clientId: string; redirectUri: string };

  before(async () => {
    db = await createTempDatabase('latchkey_cluster');
    const [pa, pb] = [await freePort(), await freePort()];
    const issuer = `http://127.0.0.1:${pa}`;
    // Both started at the same instant against an empty database.
    a = spawnNode('A', db.url, pa, issuer);
    b = spawnNode('B', db.url, pb, issuer);
    await Promise.all([waitReady(a), waitReady(b)]);

    const storage = await openStorage(db.url, { poolSize: 2 });
    try {
      const ctx = createContext(loadConfig({ database: db.url, issuer }, {}), systemClock, storage);
      await ctx.users.create({
        username: 'alice',
        password: PASSWORD,
        email: 'alice@example.com',
        name: 'Alice',
      });
      const { client } = await ctx.clients.create({
        name: 'Cluster app',
        type: 'native',
        redirectUris: ['http://127.0.0.1/callback'],
        consent: 'none',
      });
      app = { clientId: client.clientId, redirectUri: 'http://127.0.0.1/callback' };
    } finally {
      await storage.close();
    }
  });

  after(async () => {
    await Promise.all([stopNode(a), stopNode(b)]);
    await db?.drop();
  });

  test('both came up from an empty database at once: schema migrated once, exactly one signing key', async () => {
    const keys = await pgQuery<{ n: string }>(db.url, 'select count(*) as n from signing_keys');
    assert.equal(Number(keys[0]?.n), 1);
    const migrations = await pgQuery<{ name: string }>(db.url, 'select name from latchkey_migrations');
    assert.equal(new Set(migrations.map((m) => m.name)).size, migrations.length, 'no migration ran twice');
    const storage = await openStorage(db.url, { poolSize: 1 });
    try {
      assert.equal(await storage.pendingMigrations(), 0);
    } finally {
      await storage.close();
    }
    const tables = await pgQuery<{ table_name: string }>(
      db.url,
      "select table_name from information_schema.tables where table_schema = 'public'",
    );
    const names = new Set(tables.map((t) => t.table_name));
    for (const t of [
      'clients',
      'users',
      'sessions',
      'interactions',
      'grants',
      'codes',
      'access_tokens',
      'refresh_tokens',
      'consents',
      'signing_keys',
      'audit_events',
    ]) {
      assert.ok(names.has(t), `table ${t} exists`);
    }
    // Both nodes publish that same key.
    const [ja, jb] = await Promise.all(
      [a, b].map(async (n) => (await (await fetch(`${n.url}/jwks`)).json()) as { keys: { kid: string }[] }),
    );
    assert.deepEqual(
      ja?.keys.map((k) => k.kid),
      jb?.keys.map((k) => k.kid),
    );
  });

  test('sign in on A, redeem on B; the session made on A is honoured by B', async () => {
    const browserA = new Browser(a.url);
    const p = authorizeRequest(a.url, app, PROFILE);
    const final = await authorizeThroughBrowser(browserA, p.url);
    assert.equal(final.status, 303, final.body.slice(0, 300));
    const code = codeFrom(final.location, p.state);
    const res = await redeem(b.url, app, code, p.verifier);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.equal(typeof res.json.access_token, 'string');
    assert.equal(typeof res.json.id_token, 'string');

    // The access token minted on B is accepted by A (shared keys and token records).
    const info = await fetch(`${a.url}/userinfo`, {
      headers: { authorization: `Bearer ${res.json.access_token}` },
    });
    assert.equal(info.status, 200);
    assert.equal(((await info.json()) as { sub: string }).sub.length > 0, true);

    // A's session cookie on B: a code at once, no sign-in page.
    const browserB = new Browser(b.url);
    for (const [k, v] of browserA.cookies) browserB.cookies.set(k, v);
    const p2 = authorizeRequest(b.url, app, PROFILE);
    const direct = await browserB.get(p2.url);
    assert.equal(direct.status, 303);
    assert.ok(
      direct.location?.startsWith(app.redirectUri),
      `redirected to the client, got ${direct.location}`,
    );
    const code2 = codeFrom(direct.location, p2.state);
    assert.equal((await redeem(a.url, app, code2, p2.verifier)).status, 200);
  });

  test('50 concurrent redemptions of one code over both nodes: exactly one succeeds', async () => {
    const browser = new Browser(a.url);
    const p = authorizeRequest(a.url, app, PROFILE);
    const final = await authorizeThroughBrowser(browser, p.url);
    const code = codeFrom(final.location, p.state);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, n) => redeem(n % 2 === 0 ? a.url : b.url, app, code, p.verifier)),
    );
    const ok = results.filter((r) => r.status === 200);
    assert.equal(ok.length, 1, `successes: ${ok.length}`);
    for (const r of results.filter((x) => x.status !== 200)) {
      assert.equal(r.status, 400);
      assert.equal(r.json.error, 'invalid_grant');
    }
    // The reuse revoked what the code issued: the one token is no longer accepted.
    const info = await fetch(`${b.url}/userinfo`, {
      headers: { authorization: `Bearer ${ok[0]?.json.access_token}` },
    });
    assert.equal(info.status, 401);
  });

  test('kill -9 node A mid-load: B keeps serving, codes and tokens issued on A survive', async () => {
    const browser = new Browser(a.url);
    const first = authorizeRequest(a.url, app, PROFILE);
    assert.equal((await authorizeThroughBrowser(browser, first.url)).status, 303);
    const browserB = new Browser(b.url);
    for (const [k, v] of browser.cookies) browserB.cookies.set(k, v);

    // Codes and a token issued on A before the crash.
    const pending: { p: ReturnType<typeof authorizeRequest>; code: string }[] = [];
    for (let i = 0; i < 5; i++) {
      const p = authorizeRequest(a.url, app, PROFILE);
      const step = await browser.get(p.url);
      assert.equal(step.status, 303);
      pending.push({ p, code: codeFrom(step.location, p.state) });
    }
    const tokenFromA = await redeem(a.url, app, pending[0]!.code, pending[0]!.p.verifier);
    assert.equal(tokenFromA.status, 200);

    // Load on both nodes; A is killed while it runs.
    let stop = false;
    const bResults: number[] = [];
    const loadB = (async () => {
      while (!stop) {
        const p = authorizeRequest(b.url, app, PROFILE);
        const step = await browserB.get(p.url);
        const r = await redeem(b.url, app, codeFrom(step.location, p.state), p.verifier);
        bResults.push(r.status);
      }
    })();
    const loadA = (async () => {
      let failures = 0;
      while (!stop) {
        try {
          await browser.get(authorizeRequest(a.url, app, PROFILE).url);
        } catch {
          failures++;
          if (failures > 3) return;
        }
      }
    })();
    while (bResults.length < 10) await new Promise((r) => setImmediate(r));
    a.proc.kill('SIGKILL');
    await a.exited;
    const atKill = bResults.length;
    while (bResults.length < atKill + 20) await new Promise((r) => setImmediate(r));
    stop = true;
    await Promise.all([loadA, loadB]);
    assert.ok(
      bResults.every((s) => s === 200),
      `B answered every request: ${JSON.stringify(bResults)}`,
    );

    // Everything A issued before the crash is still in the shared store.
    for (const { p, code } of pending.slice(1)) {
      const r = await redeem(b.url, app, code, p.verifier);
      assert.equal(r.status, 200, JSON.stringify(r.json));
    }
    const info = await fetch(`${b.url}/userinfo`, {
      headers: { authorization: `Bearer ${tokenFromA.json.access_token}` },
    });
    assert.equal(info.status, 200);
    const ready = await fetch(`${b.url}/readyz`);
    assert.equal(ready.status, 200);
  });
});

describe('many nodes starting at once on an empty PostgreSQL database', {
  skip: PG_SKIP,
}, () => {
  test('8 concurrent start-ups (migrate + first key): all succeed, one schema, one key', async () => {
    const db = await createTempDatabase('latchkey_race');
    try {
      const config = loadConfig({ database: db.url }, {});
      const storages = await Promise.all(
        Array.from({ length: 8 }, async () => {
          const storage = await openStorage(db.url, { poolSize: 2 });
          await createContext(config, systemClock, storage).keys.ensureKey();
          return storage;
        }),
      );
      try {
        for (const s of storages) assert.equal(await s.pendingMigrations(), 0);
        const keys = await pgQuery<{ n: string }>(db.url, 'select count(*) as n from signing_keys');
        assert.equal(Number(keys[0]?.n), 1);
        const runs = await pgQuery<{ n: string }>(db.url, 'select count(*) as n from latchkey_migrations');
        const distinct = await pgQuery<{ n: string }>(
          db.url,
          'select count(distinct name) as n from latchkey_migrations',
        );
        assert.equal(runs[0]?.n, distinct[0]?.n);
      } finally {
        await Promise.all(storages.map((s) => s.close()));
      }
    } finally {
      await db.drop();
    }
  });
});

/**
 * A database outage is an outage, not a crash.
 *
 * PostgreSQL: a real `latchkey serve` talks to PostgreSQL through a TCP proxy that resets every
 * connection and then refuses new ones for OUTAGE_MS, under a steady load of sign-ins, token,
 * and introspection requests. The process keeps running, every answer that needs the store is
 * 503 with Retry-After (an error page for the HTML routes, temporarily_unavailable in a redirect
 * from /authorize, JSON elsewhere) and never a 500, /readyz says so within 5 s, everything works
 * again within 5 s of the database's return, and tokens and codes issued before it still work.
 * The outage lasts 10 s: longer than the 3 s connection timeout and the 5 s detection window
 * together, so requests meet a database that has been down for a while.
 *
 * SQLite (an in-process server): a full database (PRAGMA max_page_count lowered on the server's
 * connection; a tmpfs would need mount rights in the test), a read-only connection (PRAGMA
 * query_only: SQLITE_READONLY as from a file made read-only under a running server) and a write
 * lock held past the busy timeout (SQLITE_BUSY) each give 503 and /readyz not ready until it
 * clears, then sign-ins work again without a restart.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import { databaseForTests } from '../../src/storage/index.js';
import { isStorageUnavailable } from '../../src/storage/unavailable.js';
import { createTempDatabase, PG_SKIP, PG_URL, type TempPgDatabase } from '../helpers/databases.js';
import { type Code, clientCredentials, getCode, introspect, pkce, redeem, refresh } from '../helpers/flow.js';
import { type Seeded, type ServeProcess, seed, startServe } from '../helpers/serve-child.js';
import { createClient, createUser, freePort, startTestServer, type TestServer } from '../helpers/server.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const OUTAGE_MS = 10_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What one request of the load got: 'ok', '503', 'redirect-unavailable', or something wrong. */
type Outcome = { kind: string; at: number; detail?: string };

function classify(r: { status: number; headers: Headers; json?: Record<string, unknown> }): Outcome {
  const at = Date.now();
  if (r.status < 500) return { kind: 'ok', at };
  if (r.status === 503 && /^\d+$/.test(r.headers.get('retry-after') ?? '')) return { kind: '503', at };
  return { kind: `bad ${r.status}`, at, detail: JSON.stringify(r.json ?? {}).slice(0, 200) };
}

describe('PostgreSQL goes away for 10 s under load', { skip: PG_SKIP }, () => {
  let tmp: TempPgDatabase;
  let proxy: TcpProxy;
  let serve: ServeProcess;
  let seeded: Seeded;
  /** A code for `username` through the sign-in form (offline_access, for a refresh token). */
  const signIn = (base: string, username: string) =>
    getCode(base, seeded.app, pkce(), { scope: 'openid offline_access' }, { username });
  const redeemCode = (base: string, c: Code) => redeem(base, seeded.app, c.code, c.verifier);
  before(async () => {
    tmp = await createTempDatabase('latchkey_outage');
    seeded = await seed(tmp.url, 4);
    const pg = new URL(PG_URL);
    proxy = await startTcpProxy({ host: pg.hostname, port: Number(pg.port || 5432) });
    const through = new URL(tmp.url);
    through.hostname = '127.0.0.1';
    through.port = String(proxy.port);
    serve = await startServe(through.toString(), await freePort());
  });
  after(async () => {
    await serve?.kill();
    await proxy?.close();
    await tmp?.drop();
  });

  test('503 + Retry-After (never 500), /readyz down within 5 s, back within 5 s, nothing lost', async () => {
    const base = serve.url;
    // Issued before the outage: a token set and a code not yet redeemed.
    const first = await redeemCode(base, await signIn(base, 'user0'));
    assert.equal(first.status, 200, JSON.stringify(first.json));
    const pending = await signIn(base, 'user1');
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    const pre = await introspect(base, seeded.service, String(first.json.access_token));
    assert.equal(pre.json.active, true, JSON.stringify(pre));

    const outcomes: Outcome[] = [];
    let running = true;
    const loop = async (i: number) => {
      for (let n = 0; running; n++) {
        const kind = (i + n) % 3;
        try {
          if (kind === 0) {
            const c = await signIn(base, `user${2 + (i % 2)}`);
            outcomes.push(classify(await redeemCode(base, c)));
          } else if (kind === 1) {
            outcomes.push(classify(await clientCredentials(base, seeded.service)));
          } else {
            outcomes.push(classify(await introspect(base, seeded.service, String(first.json.access_token))));
          }
        } catch (err) {
          const e = err as Error & { status?: number; location?: string; retryAfter?: string | null };
          if (
            e.status === 303 &&
            e.location &&
            new URL(e.location).searchParams.get('error') === 'temporarily_unavailable'
          )
            outcomes.push({ kind: 'redirect-unavailable', at: Date.now() });
          else if (e.status === 503 && /^\d+$/.test(e.retryAfter ?? ''))
            outcomes.push({ kind: '503', at: Date.now() });
          else
            outcomes.push({
              kind: `bad ${e.status ?? 'network'}`,
              at: Date.now(),
              detail: e.message.slice(0, 200),
            });
        }
        await sleep(50);
      }
    };
    const loops = Array.from({ length: 4 }, (_, i) => loop(i));
    await sleep(500);

    const cutAt = Date.now();
    await proxy.cut();
    let downSeenAt: number | undefined;
    while (Date.now() - cutAt < OUTAGE_MS) {
      const r = await fetch(`${base}/readyz`);
      if (r.status === 503 && downSeenAt === undefined) {
        downSeenAt = Date.now();
        assert.match(r.headers.get('retry-after') ?? '', /^\d+$/);
      }
      if (r.status === 200 && downSeenAt !== undefined) assert.fail('/readyz ready again during the outage');
      await sleep(200);
    }
    const restoredAt = Date.now();
    await proxy.restore();
    let readyAt: number | undefined;
    let flowAt: number | undefined;
    while (Date.now() - restoredAt < 10_000 && (readyAt === undefined || flowAt === undefined)) {
      if (readyAt === undefined && (await fetch(`${base}/readyz`)).status === 200) readyAt = Date.now();
      if (flowAt === undefined) {
        try {
          const t = await redeemCode(base, await signIn(base, 'user0'));
          if (t.status === 200) flowAt = Date.now();
        } catch {}
      }
      if (readyAt === undefined || flowAt === undefined) await sleep(200);
    }
    await sleep(500);
    running = false;
    await Promise.all(loops);

    const during = outcomes.filter((o) => o.at > cutAt && o.at < restoredAt);
    const count = (k: string) => outcomes.filter((o) => o.kind === k).length;
    const bad = outcomes.filter((o) => o.kind.startsWith('bad'));
    console.log(
      `outage: ${outcomes.length} answers (${during.length} during the outage): ${count('ok')} ok, ${count('503')} 503 + Retry-After, ` +
        `${count('redirect-unavailable')} redirects with temporarily_unavailable, ${bad.length} other; ` +
        `/readyz down ${downSeenAt === undefined ? 'never' : `${downSeenAt - cutAt} ms`} after the cut, ` +
        `ready ${readyAt === undefined ? 'never' : `${readyAt - restoredAt} ms`} and a full flow ${flowAt === undefined ? 'never' : `${flowAt - restoredAt} ms`} after the return`,
    );
    assert.deepEqual(bad.slice(0, 5), [], `${bad.length} answers were neither success nor 503`);
    assert.ok(count('503') > 0, 'requests met the outage');
    assert.equal(serve.child.exitCode, null, `the server exited:\n${serve.output()}`);
    assert.doesNotMatch(serve.output(), /uncaught|unhandled/i);
    assert.ok(
      downSeenAt !== undefined && downSeenAt - cutAt <= 5000,
      '/readyz reported the database down within 5 s',
    );
    assert.ok(
      readyAt !== undefined && readyAt - restoredAt <= 5000,
      '/readyz ready within 5 s of the return',
    );
    assert.ok(
      flowAt !== undefined && flowAt - restoredAt <= 5000,
      'a full flow works within 5 s of the return',
    );

    // Nothing issued before the outage was lost.
    const at = await introspect(base, seeded.service, String(first.json.access_token));
    assert.equal(at.json.active, true, JSON.stringify(at));
    const rt = await introspect(base, seeded.service, String(first.json.refresh_token));
    assert.equal(rt.json.active, true);
    assert.equal((await refresh(base, seeded.app, String(first.json.refresh_token))).status, 200);
    const late = await redeemCode(base, pending);
    assert.equal(late.status, 200, JSON.stringify(late.json));
  });
});

describe('SQLite: full, read-only and locked at run time', () => {
  let server: TestServer;
  let app: { clientId: string; redirectUri: string };
  /** A code for alice through the sign-in form; a refusal throws (NoCodeError: status, body…). */
  const signIn = () =>
    getCode(server, app, pkce(), { scope: 'openid offline_access' }, { username: 'alice' });
  before(async () => {
    server = await startTestServer();
    await createUser(server, 'alice');
    app = await createClient(server, { consent: 'none' });
  });
  after(async () => {
    await server.cleanup();
  });

  /** Sign-ins until one fails (the store refuses), asserting how it fails; returns how many worked. */
  async function signInsUntilRefused(max: number): Promise<number> {
    for (let i = 0; i < max; i++) {
      try {
        await signIn();
      } catch (err) {
        const e = err as Error & {
          status?: number;
          body?: string;
          retryAfter?: string | null;
          location?: string;
        };
        if (e.status === 303 && e.location?.includes('error=temporarily_unavailable')) return i;
        assert.equal(e.status, 503, e.message);
        assert.equal(e.retryAfter, '5');
        assert.match(e.body ?? '', /Temporarily unavailable/);
        assert.doesNotMatch(e.body ?? '', /SQLITE|at .*\.js|Error:/);
        return i;
      }
    }
    assert.fail(`${max} sign-ins all worked`);
  }

  async function readiness(): Promise<{
    http: number;
    reason: string | undefined;
    retryAfter: string | null;
  }> {
    const r = await fetch(`${server.url}/readyz`);
    const body = (await r.json()) as { reason?: string };
    return { http: r.status, reason: body.reason, retryAfter: r.headers.get('retry-after') };
  }

  async function recovered(): Promise<void> {
    assert.deepEqual(await readiness(), { http: 200, reason: undefined, retryAfter: null }, 'ready again');
  }

  const notReady = { http: 503, reason: 'database not writable', retryAfter: '5' };

  test('a full database (SQLITE_FULL): 503, /readyz not ready until there is room again', async () => {
    const db = databaseForTests(server.ctx.storage);
    const pages = Number(
      ((await sql`pragma page_count`.execute(db)).rows[0] as { page_count: number }).page_count,
    );
    await sql.raw(`pragma max_page_count = ${pages}`).execute(db);
    try {
      await signInsUntilRefused(100);
      assert.deepEqual(await readiness(), notReady);
    } finally {
      await sql.raw('pragma max_page_count = 1073741823').execute(db);
    }
    await recovered();
    await signIn();
  });

  test('a read-only database (SQLITE_READONLY) and a lock held past the busy timeout (SQLITE_BUSY)', async () => {
    const db = databaseForTests(server.ctx.storage);
    await sql`pragma query_only = on`.execute(db);
    try {
      assert.equal(await signInsUntilRefused(5), 0);
      assert.deepEqual(await readiness(), notReady);
    } finally {
      await sql`pragma query_only = off`.execute(db);
    }
    await recovered();

    await sql`pragma busy_timeout = 200`.execute(db);
    const other = new Database(server.dbPath);
    try {
      other.exec('begin exclusive');
      assert.equal(await signInsUntilRefused(5), 0);
      assert.deepEqual(await readiness(), notReady);
      other.exec('rollback');
    } finally {
      other.close();
      await sql`pragma busy_timeout = 5000`.execute(db);
    }
    await recovered();
    await signIn();
  });

  test('errors that mean "the store cannot answer now" are recognised, others are not', () => {
    const e = (code: string, message = 'x') => Object.assign(new Error(message), { code });
    for (const u of [
      e('SQLITE_FULL'),
      e('SQLITE_IOERR_WRITE'),
      e('SQLITE_BUSY'),
      e('SQLITE_READONLY_DBMOVED'),
      e('ECONNREFUSED'),
      e('57P01'),
      e('08006'),
      e('53100'),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      new Error('wrapped', { cause: e('ECONNRESET') }),
    ])
      assert.equal(isStorageUnavailable(u), true, String((u as { code?: string }).code ?? u.message));
    for (const n of [
      e('SQLITE_CONSTRAINT_UNIQUE'),
      e('23505'),
      e('42P01'),
      e('SQLITE_ERROR'),
      new Error('boom'),
      null,
    ])
      assert.equal(isStorageUnavailable(n), false, String(n && ((n as { code?: string }).code ?? n.message)));
  });
});

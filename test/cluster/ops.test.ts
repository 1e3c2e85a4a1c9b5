/** /readyz and /metrics on one node (SQLite; the PostgreSQL pool gauges when LATCHKEY_TEST_POSTGRES is set). */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { createServer, startServer } from '../../src/server.js';
import { databaseForTests, openStorage } from '../../src/storage/index.js';
import { authorizeThroughBrowser, Browser } from '../helpers/browser.js';
import { createTempDatabase, PG_SKIP, type TempPgDatabase } from '../helpers/databases.js';
import { authorizeRequest, codeFrom, redeem } from '../helpers/flow.js';
import {
  createClient,
  createUser,
  startTestServer,
  TEST_CONTEXT,
  type TestServer,
  tempDir,
} from '../helpers/server.js';

/** The scope of this file's authorization requests. */
const PROFILE = { scope: 'openid profile' };

const TOKEN = 'metrics-secret-for-tests';

/** Reads one sample's value from Prometheus text, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

async function getMetrics(server: TestServer, token = TOKEN): Promise<Response> {
  return fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
}

describe('readiness and metrics (SQLite)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ overrides: { metricsToken: TOKEN } });
  });
  after(async () => {
    await server.cleanup();
  });

  test('/healthz and /readyz answer 200 while the database is reachable', async () => {
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    const ready = await fetch(`${server.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ready' });
  });

  test('/metrics is 404 without the bearer token or with a wrong one', async () => {
    assert.equal((await fetch(`${server.url}/metrics`)).status, 404);
    assert.equal((await getMetrics(server, 'wrong')).status, 404);
    assert.equal((await getMetrics(server, `${TOKEN}x`)).status, 404);
    const basic = await fetch(`${server.url}/metrics`, { headers: { authorization: `Basic ${TOKEN}` } });
    assert.equal(basic.status, 404);
  });

  test('counts requests per route, tokens issued, sign-ins and code reuse', async () => {
    await createUser(server, 'alice');
    const app = await createClient(server, { consent: 'none' });
    const browser = new Browser(server.url);

    // One failed sign-in, then a successful one through the real form.
    const bad = authorizeRequest(server.url, app, PROFILE);
    const refused = await authorizeThroughBrowser(new Browser(server.url), bad.url, {
      password: 'wrong password!',
    });
    assert.notEqual(refused.status, 303);

    const p = authorizeRequest(server.url, app, PROFILE);
    const final = await authorizeThroughBrowser(browser, p.url);
    assert.equal(final.status, 303);
    const code = codeFrom(final.location, p.state);
    const first = await redeem(server.url, app, code, p.verifier);
    assert.equal(first.status, 200);
    const replay = await redeem(server.url, app, code, p.verifier);
    assert.equal(replay.status, 400);
    assert.equal(replay.json.error, 'invalid_grant');

    const res = await getMetrics(server);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const text = await res.text();
    assert.equal(sample(text, 'latchkey_tokens_issued_total', { grant_type: 'authorization_code' }), 1);
    assert.equal(sample(text, 'latchkey_sign_ins_total', { result: 'success' }), 1);
    assert.equal(sample(text, 'latchkey_sign_ins_total', { result: 'failure' }), 1);
    assert.equal(sample(text, 'latchkey_code_reuse_detected_total'), 1);
    assert.equal(
      sample(text, 'latchkey_http_requests_total', { method: 'POST', route: '/token', status: '200' }),
      1,
    );
    assert.equal(
      sample(text, 'latchkey_http_requests_total', { method: 'POST', route: '/token', status: '400' }),
      1,
    );
    assert.ok(
      (sample(text, 'latchkey_http_requests_total', { method: 'GET', route: '/authorize' }) ?? 0) >= 2,
    );
    assert.equal(
      sample(text, 'latchkey_http_request_duration_seconds_count', { method: 'POST', route: '/token' }),
      2,
    );
    assert.equal(sample(text, 'latchkey_info', { dialect: 'sqlite' }), 1);
    assert.equal(
      sample(text, 'latchkey_db_pool_connections', { state: 'total' }),
      undefined,
      'no pool on SQLite',
    );
  });

  test('unknown paths are counted under one label, not per path', async () => {
    await fetch(`${server.url}/no/such/path-1`);
    await fetch(`${server.url}/no/such/path-2`);
    const text = await (await getMetrics(server)).text();
    assert.equal(
      sample(text, 'latchkey_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' }),
      2,
    );
    assert.doesNotMatch(text, /path-1/);
  });

  test('/readyz is 503 once the database is gone', async () => {
    await databaseForTests(server.ctx.storage).destroy();
    const res = await fetch(`${server.url}/readyz`);
    assert.equal(res.status, 503);
    assert.equal(((await res.json()) as { status: string }).status, 'unavailable');
  });
});

describe('the purge timer', () => {
  test('logs one line per run that deleted something, and /metrics counts rows per table and runs', async () => {
    const dir = tempDir('latchkey-purge-timer-');
    const lines: Record<string, unknown>[] = [];
    const stream = { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) };
    const config = loadConfig(
      { port: 0, host: '127.0.0.1', database: join(dir, 'purge.db'), metricsToken: TOKEN },
      {},
    );
    const server = await startServer(config, {
      logger: { level: 'info', stream },
      context: TEST_CONTEXT,
      purgeIntervalMs: 30,
    });
    try {
      const now = Date.now();
      for (const idHash of ['gone-1', 'gone-2'])
        await server.ctx.storage.sessions.create({
          idHash,
          userId: 'u1',
          authTime: now,
          createdAt: now,
          lastSeenAt: now,
          expiresAt: now - 1,
          endedAt: null,
        });
      const purged = () => lines.filter((l) => l['msg'] === 'purge');
      for (let i = 0; i < 200 && purged().length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      // Several runs went by; only the one that deleted something logged.
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(purged().length, 1, JSON.stringify(lines));
      const line = purged()[0]!;
      assert.equal((line['deleted'] as Record<string, number>)['sessions'], 2);
      assert.equal(typeof line['ms'], 'number');
      const text = await (
        await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
      ).text();
      assert.equal(sample(text, 'latchkey_purge_deleted_rows_total', { table: 'sessions' }), 2);
      assert.equal(sample(text, 'latchkey_purge_deleted_rows_total', { table: 'audit_events' }), 0);
      assert.ok((sample(text, 'latchkey_purge_duration_seconds_count') ?? 0) >= 2, 'every run is timed');
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('metrics off by default', () => {
  test('/metrics is 404 when LATCHKEY_METRICS_TOKEN is not set, even with a bearer token', async () => {
    const server = await startTestServer();
    try {
      assert.equal((await getMetrics(server, '')).status, 404);
      assert.equal((await getMetrics(server, 'anything')).status, 404);
    } finally {
      await server.cleanup();
    }
  });
});

describe('readiness and pool metrics (PostgreSQL)', { skip: PG_SKIP }, () => {
  let db: TempPgDatabase;
  let server: TestServer;
  before(async () => {
    db = await createTempDatabase();
    server = await startTestServer({ overrides: { database: db.url, pgPoolSize: 4, metricsToken: TOKEN } });
  });
  after(async () => {
    await server?.cleanup();
    await db?.drop();
  });

  test('/readyz is ready and /metrics shows the pool', async () => {
    const ready = await fetch(`${server.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ready' });
    const text = await (await getMetrics(server)).text();
    assert.equal(sample(text, 'latchkey_info', { dialect: 'postgres' }), 1);
    const total = sample(text, 'latchkey_db_pool_connections', { state: 'total' });
    assert.ok(total !== undefined && total >= 1 && total <= 4, `pool total ${total}`);
    assert.equal(sample(text, 'latchkey_db_pool_connections', { state: 'waiting' }), 0);
  });

  test('LATCHKEY_DATABASE=postgres://… selects PostgreSQL (and the node joins the existing schema)', async () => {
    const config = loadConfig(
      { port: 0, host: '127.0.0.1', logLevel: 'silent' },
      { LATCHKEY_DATABASE: db.url },
    );
    const other = await createServer(config);
    try {
      assert.equal(other.ctx.storage.dialect, 'postgres');
      assert.deepEqual(
        (await other.ctx.keys.list()).map((k) => k.kid),
        (await server.ctx.keys.list()).map((k) => k.kid),
        'same signing key as the first node',
      );
    } finally {
      await other.close();
    }
  });

  test('/readyz is 503 when the database is dropped under it', async () => {
    await db.drop();
    const res = await fetch(`${server.url}/readyz`);
    assert.equal(res.status, 503);
  });
});

describe('settings read once, at start', () => {
  test('LATCHKEY_METRICS_TOKEN is part of the configuration and validated there', () => {
    assert.equal(loadConfig({}, { LATCHKEY_METRICS_TOKEN: TOKEN }).metricsToken, TOKEN);
    assert.equal(loadConfig({}, {}).metricsToken, undefined);
    assert.throws(
      () => loadConfig({}, { LATCHKEY_METRICS_TOKEN: 'short' }),
      /LATCHKEY_METRICS_TOKEN must be at least 16 characters/,
    );
  });
});

describe('PostgreSQL bigints', { skip: PG_SKIP }, () => {
  test('are numbers for Latchkey’s pool and left alone for every other pg user in the process', async () => {
    const db = await createTempDatabase();
    const storage = await openStorage(db.url);
    try {
      const { default: pg } = await import('pg');
      assert.equal(pg.types.getTypeParser(20)('12'), '12', 'the process-wide int8 parser is untouched');
      await storage.audit.record({
        id: 'bigint-check',
        at: 1_790_000_000_000,
        type: 'user_created',
        clientId: null,
        userId: null,
        ip: null,
        detail: null,
      });
      const [event] = await storage.audit.list({ limit: 1 });
      assert.equal(event?.at, 1_790_000_000_000);
    } finally {
      await storage.close();
      await db.drop();
    }
  });
});

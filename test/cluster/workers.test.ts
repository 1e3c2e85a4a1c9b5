/**
 * `latchkey serve --workers 2` as operators run it (the built command), on SQLite and on
 * PostgreSQL: full PKCE flows, answered by both worker processes (the pid in each JSON request
 * log line; the listening line names the workers' pids), start-up lines printed once, /metrics
 * summed over the workers, one purge for all of them (the purge-run count in the aggregate), a
 * worker killed with SIGKILL restarted and its role taken over, SIGTERM draining everything to
 * exit 0 with no process left; and `--demo --workers 2`, whose printed attempt works on every
 * worker and is used up on all of them by one exchange.
 */
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { authorizeThroughBrowser, Browser, formOf } from '../helpers/browser.js';
import { createTempDatabase, PG_SKIP, type TempPgDatabase } from '../helpers/databases.js';
import { getCode, pkce, redeem } from '../helpers/flow.js';
import { type Seeded, type ServeProcess, seed, startServe } from '../helpers/serve-child.js';
import { freePort, tempDir } from '../helpers/server.js';

const TOKEN = 'metrics-secret-for-worker-tests';
/** The purge's first run comes this long after a worker starts (ops/cleanup.ts FIRST_PURGE_DELAY_MS). */
const FIRST_PURGE_MS = 5000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms = 20_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** One sample's value from Prometheus text, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

/** A GET on a connection of its own (so that node:cluster may hand it to any worker). */
function freshGet(url: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }>(
    (resolve, reject) => {
      http
        .get(url, { agent: false, headers: { connection: 'close', ...headers } }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
        })
        .on('error', reject);
    },
  );
}

const metricsOf = async (s: ServeProcess) => {
  const r = await freshGet(`${s.url}/metrics`, { authorization: `Bearer ${TOKEN}` });
  assert.equal(r.status, 200, r.body);
  return r.body;
};

/** The workers' pids, as the listening line lists them. */
function bannerPids(out: string): number[] {
  const m = /^Latchkey listening on .*; 2 workers, pids (\d+), (\d+)\)$/m.exec(out);
  assert.ok(m, out);
  return [Number(m[1]), Number(m[2])];
}

/** The pids in the JSON request log lines (of requests whose URL starts with `path`). */
function requestPids(out: string, path = '/'): Set<number> {
  const pids = new Set<number>();
  for (const line of out.split('\n')) {
    if (!line.startsWith('{')) continue;
    const o = JSON.parse(line) as { msg?: string; pid?: number; req?: { url?: string } };
    if (o.msg === 'incoming request' && o.req?.url?.startsWith(path) && o.pid) pids.add(o.pid);
  }
  return pids;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const count = (text: string, re: RegExp) => (text.match(new RegExp(re, 'gm')) ?? []).length;

/** Six sign-ins with PKCE at once, each code redeemed: all must get tokens. */
async function flows(s: ServeProcess, seeded: Seeded): Promise<void> {
  const results = await Promise.all(
    Array.from({ length: 6 }, async () => {
      const c = await getCode(s.url, seeded.app, pkce(), {}, { username: 'user0' });
      return redeem(s.url, seeded.app, c.code, c.verifier);
    }),
  );
  for (const r of results) {
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.ok(r.json.access_token);
  }
}

const ENV = { LATCHKEY_LOG_LEVEL: 'info', LATCHKEY_LOG_FORMAT: 'json', LATCHKEY_METRICS_TOKEN: TOKEN };

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`serve --workers 2 (${backend})`, { skip: backend === 'postgres' ? PG_SKIP : false }, () => {
    let dir: string;
    let pgdb: TempPgDatabase | undefined;
    let db: string;
    let seeded: Seeded;
    let serve: ServeProcess;
    let listeningAt: number;
    let pids: number[];

    before(async () => {
      dir = tempDir('latchkey-workers-');
      if (backend === 'postgres') {
        pgdb = await createTempDatabase('latchkey_workers');
        db = pgdb.url;
      } else db = join(dir, 'workers.db');
      seeded = await seed(db);
      serve = await startServe(db, await freePort(), ENV, { args: ['--workers', '2'] });
      listeningAt = Date.now();
      pids = bannerPids(serve.output());
    });
    after(async () => {
      await serve?.kill();
      await pgdb?.drop();
      rmSync(dir, { recursive: true, force: true });
    });

    test('PKCE flows succeed, answered by both workers; start-up lines once; metrics summed', async () => {
      await flows(serve, seeded);
      // Connections of their own: node:cluster hands each new one to the next worker.
      for (let i = 0; i < 6; i++) assert.equal((await freshGet(`${serve.url}/healthz`)).status, 200);
      const out = serve.output();
      assert.deepEqual([...requestPids(out)].sort(), [...pids].sort(), 'requests answered by both workers');
      assert.notEqual(pids[0], pids[1]);
      assert.equal(count(out, /^Latchkey listening on /), 1);
      assert.equal(count(out, /^WARNING: the issuer uses http/), 1);
      assert.equal(count(out, /^WARNING: sign-in throttling is off/), 1);

      const text = await metricsOf(serve);
      assert.equal(sample(text, 'latchkey_tokens_issued_total', { grant_type: 'authorization_code' }), 6);
      assert.equal(sample(text, 'latchkey_sign_ins_total', { result: 'success' }), 6);
      assert.equal(sample(text, 'latchkey_info', { dialect: backend }), 1);
      assert.equal(sample(text, 'latchkey_workers'), 2);
      assert.equal(sample(text, 'latchkey_worker_restarts_total'), 0);
    });

    test('one worker runs the purge', async () => {
      // By then every worker's first purge has come (the timers start before the workers listen).
      await sleep(Math.max(0, listeningAt + FIRST_PURGE_MS + 1500 - Date.now()));
      const runs = await waitFor('a purge run', async () =>
        sample(await metricsOf(serve), 'latchkey_purge_duration_seconds_count'),
      );
      assert.equal(runs, 1, 'purge runs summed over the workers');
    });

    test('kill -9 of a worker: restarted with a log line, flows go on, counted; it keeps its purge', async () => {
      const [first, second] = pids as [number, number];
      process.kill(first, 'SIGKILL');
      const restarted = await waitFor(
        'the restart',
        () => /^worker 1 restarted \(pid (\d+)\)$/m.exec(serve.output())?.[1],
      );
      const restartedAt = Date.now();
      assert.match(
        serve.output(),
        new RegExp(`^worker 1 \\(pid ${first}\\) died \\(signal SIGKILL\\); restarting it in \\d+ ms$`, 'm'),
      );
      assert.ok(alive(second), 'the other worker went on');
      assert.ok(!alive(first));
      await flows(serve, seeded);
      const text = await metricsOf(serve);
      assert.equal(sample(text, 'latchkey_worker_restarts_total'), 1);
      assert.equal(sample(text, 'latchkey_workers'), 2);
      pids = [Number(restarted), second];
      // The replacement of worker 1 runs the purge (its first run FIRST_PURGE_MS after its start);
      // worker 2 still does not (its runs would add up in the sum).
      await sleep(Math.max(0, restartedAt + FIRST_PURGE_MS + 1500 - Date.now()));
      const runs = await waitFor('a purge run after the restart', async () =>
        sample(await metricsOf(serve), 'latchkey_purge_duration_seconds_count'),
      );
      assert.equal(runs, 1);
    });

    test('SIGTERM to the primary: every worker drains, all exit, code 0', async () => {
      serve.child.kill('SIGTERM');
      const { code } = await serve.exited;
      assert.equal(code, 0, serve.output());
      for (const pid of pids) assert.ok(!alive(pid), `worker ${pid} is gone`);
      assert.match(serve.output(), /^SIGTERM: shutting down 2 workers/m);
      assert.match(serve.output(), /^shutdown: done in \d+ ms$/m);
      // Every worker closed the file: no connection is left, so a checkpoint of the whole WAL
      // succeeds at once and the file is intact. (The -wal file itself may stay: SQLite deletes
      // it only at the close that sees no other connection, and two workers can close together.)
      if (backend === 'sqlite' && existsSync(`${db}-wal`)) {
        const Database = (await import('better-sqlite3')).default;
        const check = new Database(db);
        try {
          const [row] = check.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
          assert.equal(row?.busy, 0, 'no worker still holds the database');
          assert.equal(check.pragma('integrity_check', { simple: true }), 'ok');
        } finally {
          check.close();
        }
      }
    });
  });

  describe(`serve --demo --workers 2 (${backend})`, {
    skip: backend === 'postgres' ? PG_SKIP : false,
  }, () => {
    let dir: string;
    let pgdb: TempPgDatabase | undefined;
    let serve: ServeProcess;

    before(async () => {
      dir = tempDir('latchkey-workers-demo-');
      if (backend === 'postgres') pgdb = await createTempDatabase('latchkey_workers_demo');
      const db = pgdb?.url ?? join(dir, 'demo.db');
      serve = await startServe(db, await freePort(), ENV, {
        args: ['--demo', '--workers', '2'],
        detached: true,
      });
      await waitFor('the demo banner', () => /={78}\n[\s\S]*={78}\n/.test(serve.output()));
    });
    after(async () => {
      await serve?.kill();
      await pgdb?.drop();
      rmSync(dir, { recursive: true, force: true });
    });

    test('the printed attempt works whichever worker answers, and is used up on all', async () => {
      const out = serve.output();
      assert.equal(count(out, /^DEMO MODE/), 1, 'one banner');
      assert.equal(count(out, /^Created demo data:/), 1);
      const url = /^ {2}(http:\/\/127\.0\.0\.1:\d+\/authorize\?\S+)$/m.exec(out)?.[1];
      const password = /password: (\S+)/.exec(out)?.[1];
      const verifier = /code_verifier for the token exchange: (\S+)/.exec(out)?.[1];
      assert.ok(url && password && verifier, out);

      const browser = new Browser(serve.url);
      const final = await authorizeThroughBrowser(browser, url, { username: 'demo', password });
      assert.equal(final.status, 303, final.body);
      const landing = new URL(final.location ?? '');
      assert.equal(landing.pathname, '/demo/callback');
      // Every worker knows the printed attempt: its page offers the exchange, verifier and all.
      // The second worker may still be starting when the banner is out (then the first answers
      // everything): ask until both have answered, each answer checked.
      for (let i = 0; i < 4 || (i < 60 && requestPids(serve.output(), '/demo/callback').size < 2); i++) {
        if (i >= 4) await new Promise((r) => setTimeout(r, 50));
        const page = await freshGet(landing.href);
        assert.equal(page.status, 200);
        assert.ok(page.body.includes(`code_verifier=${verifier}`), 'the exchange with the printed verifier');
        assert.match(page.body, /action="\/demo\/exchange"/);
      }
      assert.equal(requestPids(serve.output(), '/demo/callback').size, 2, 'the page came from both workers');

      const page = await browser.get(landing.pathname + landing.search);
      const { csrf } = formOf(page.body);
      const tokens = await browser.post('/demo/exchange', {
        csrf,
        code: landing.searchParams.get('code') ?? '',
        state: landing.searchParams.get('state') ?? '',
      });
      assert.equal(tokens.status, 200, tokens.body);
      assert.match(tokens.body, /access_token/);
      // Used up: no worker offers the exchange again (one connection after another alternate).
      await waitFor('every worker to forget the attempt', async () => {
        for (let i = 0; i < 4; i++)
          if ((await freshGet(landing.href)).body.includes('action="/demo/exchange"')) return undefined;
        return true;
      });
    });

    test('Ctrl-C (SIGINT to the whole process group): one drain, all exit, code 0', async () => {
      const pid = serve.child.pid!;
      process.kill(-pid, 'SIGINT');
      const { code } = await serve.exited;
      assert.equal(code, 0, serve.output());
      assert.equal(count(serve.output(), /^SIGINT: shutting down 2 workers/), 1);
      assert.doesNotMatch(serve.output(), /again: exiting now/);
      await waitFor('no process left in the group', () => {
        try {
          process.kill(-pid, 0);
          return undefined;
        } catch {
          return true;
        }
      });
    });
  });
}

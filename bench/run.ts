/**
 * `npm run bench` — Latchkey side by side with node-oidc-provider on loopback.
 *
 * Starts each server itself (Latchkey on a fresh SQLite file in a temporary folder, the peer from
 * bench/peer-oidc-provider.ts with its in-memory store), signs its people in through each server's
 * sign-in page (one browser session per person: 200, or 48 with --quick), then drives it with
 * bench/load.ts in a separate process: 16 workers, each its own person, and a second flow
 * scenario with all the people cycling over the 16 connections. Prints a table and writes
 * bench/results.json. See bench/README.md for what each figure means.
 *
 *   npm run bench                  full run (about 2 minutes): Latchkey, the peer with its default
 *                                  opaque access tokens, and the peer with JWT access tokens
 *   npm run bench -- --quick       smoke run for CI (about 35 s), without the JWT peer
 *   npm run bench -- --peer-jwt    (with --quick) add the JWT peer; --no-peer-jwt leaves it out
 *   npm run bench -- --profile     flow load only, Latchkey under node --cpu-prof (.tmp/bench/profile)
 *   npm run bench -- --no-es256    leave out Latchkey with ES256 access tokens (flows + refresh;
 *                                  in the full run by default, with --quick only with --es256)
 *   npm run bench -- --per-core    the headline: each server pinned to core 1 (its threads too), the
 *                                  load generator to core 0; flows and refreshes of Latchkey (RS256
 *                                  and ES256 access tokens) and both peers, the signing floor
 *                                  (crypto.sign alone on core 1) and the load generator's own CPU
 *   npm run bench -- --workers 2   Latchkey as `serve --workers 2` (with --only latchkey: 1 against 2)
 *   npm run bench -- --only latchkey|peer
 *   npm run bench -- --dpop-only   Latchkey alone: the flow with Bearer tokens, then with DPoP
 *                                  (RFC 9449; each worker its own key), and resource-server
 *                                  verification of both kinds (brief: no peer, no other scenario)
 *   npm run bench -- --no-dpop     leave the DPoP figures out of the full run
 *   npm run bench -- --rows 1000000  Latchkey on an empty file and on one grown to 1 M users, grants,
 *                                  refresh tokens (and 200 k sessions), alternating rounds; then
 *                                  /token p99 while the purge clears a backlog (30 % expired)
 *   npm run bench -- --rows 1000000 --backlog-only   the fill and the purge backlog, no rounds
 *   npm run bench -- --rows 1000000 --db postgres://postgres@127.0.0.1:5432/test
 *                                  the same on PostgreSQL (databases test_empty and test_grown)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { hash } from '@node-rs/argon2';
import { exportJWK, generateKeyPair } from 'jose';
import {
  BUILD,
  build,
  type Entry,
  freePort,
  load,
  log,
  ROOT,
  rssMiB,
  run,
  type Started,
  setLoadEntry,
  setPinning,
  signInPeople,
  startServer,
  stop,
} from './harness.js';
import { type LoadResult, PASSWORD, REDIRECT_URI } from './lib.js';
import type { LoadTarget } from './load.js';
import type { VerifyResult } from './verify.js';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const profile = argv.includes('--profile');
const onlyIdx = argv.indexOf('--only');
const only = onlyIdx >= 0 ? argv[onlyIdx + 1] : undefined;
/** node-oidc-provider with RFC 9068 JWT access tokens (RS256 for both tokens, as Latchkey). */
const peerJwt = quick ? argv.includes('--peer-jwt') : !argv.includes('--no-peer-jwt');
/** Latchkey again with LATCHKEY_ACCESS_TOKEN_ALG=ES256, flows and refreshes only. */
const es256 = !profile && (quick ? argv.includes('--es256') : !argv.includes('--no-es256'));
/** --rows N: the grown-database run (bench/grow.ts fills a copy with N users, grants, …). */
const rowsIdx = argv.indexOf('--rows');
/** --workers N: Latchkey served by `serve --workers N` (CPU and memory summed over its processes). */
const workersIdx = argv.indexOf('--workers');
const serveWorkers = workersIdx >= 0 ? argv[workersIdx + 1] : undefined;
/** --dpop-only: Latchkey's Bearer and DPoP flows and verifications, nothing else. */
const dpopOnly = argv.includes('--dpop-only');
/** DPoP figures for Latchkey (RS256) in the normal run. */
const dpop = dpopOnly || (!profile && !argv.includes('--no-dpop'));
/** --per-core: each server on core 1 (all its threads), the load generator on core 0. */
const perCore = argv.includes('--per-core');
const growRows = rowsIdx >= 0 ? Number(argv[rowsIdx + 1]) : undefined;
/**
 * --rows N --db postgres://…/NAME: the grown run on PostgreSQL, in two databases NAME_empty and
 * NAME_grown made (and dropped again) on that server; SQLite files otherwise.
 */
const dbIdx = argv.indexOf('--db');
const growDb = dbIdx >= 0 ? argv[dbIdx + 1] : undefined;
/** Rounds of the grown run, alternating empty and grown: every round is printed. */
const GROWTH_ROUNDS = argv.includes('--backlog-only') ? 0 : 3;
/** The share of the grown file made expired for the purge-backlog phase. */
const BACKLOG_SHARE = 0.3;

const TIMES = quick
  ? // The first load after start-up needs the longer warm-up (the JIT): 0.5 s gave Latchkey, which
    // has more code to compile, ratios 20 % below the full run's.
    { firstWarmup: 1.5, warmup: 0.5, flow: 2.5, refresh: 1.5, idleProbe: 1.5, signin: 2, verify: 1 }
  : { firstWarmup: 2, warmup: 2, flow: 10, refresh: 5, idleProbe: 4, signin: 6, verify: 3 };
const CONCURRENCY = 16;
const PROBE_CONCURRENCY = 2;
/**
 * The /token probe's pace, idle and under sign-in load: a fixed schedule of flows (open loop), so
 * that it measures the latency a client sees while people sign in instead of competing with the
 * sign-ins for the CPU as a second flat-out load (bench/README.md, "How we measure").
 */
const PROBE_RATE = 100;
/**
 * The people of the second flow scenario: more than the connections, each with a session, as a
 * server meets them (each of the 16 workers cycles over its own 12 or 13). Every scenario has
 * one person per worker at least (bench/README.md, How we measure).
 */
const PEOPLE = quick ? 48 : 200;

// ---------------------------------------------------------------------------------------------
// One server, all scenarios

interface ServerFigures {
  server: string;
  runAs: string;
  coldStartMs: number;
  flow: LoadResult;
  /** The same flow with PEOPLE people over CONCURRENCY connections. */
  flowManyPeople: LoadResult | null;
  refresh: LoadResult | null;
  /** The first flow scenario with a DPoP proof at /token (a key per worker); null when not run. */
  flowDpop: LoadResult | null;
  refreshNote?: string;
  tokenIdle: LoadResult | null;
  signin: LoadResult | null;
  tokenDuringSignin: LoadResult | null;
  rssAfterLoadMiB: number | null;
  verification: VerifyResult | null;
  /** latchkey/resource checking DPoP-bound tokens with their proofs. */
  verificationDpop: VerifyResult | null;
  accessTokenFormat: string;
  profile?: string;
}

interface Discovery {
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  grant_types_supported?: string[];
}

async function measure(
  name: string,
  entry: Entry,
  start: () => Promise<Started>,
  clientId: string,
  audience: string | null,
  opts: { flowAndRefreshOnly?: boolean; dpop?: boolean; dpopOnly?: boolean } = {},
): Promise<ServerFigures> {
  log(`\n== ${name}  (${entry.how})`);
  const started = await start();
  log(`   cold start ${started.coldStartMs} ms`);
  try {
    const discovery = (await (
      await fetch(`${started.base}/.well-known/openid-configuration`)
    ).json()) as Discovery;
    const people = profile || opts.dpopOnly ? CONCURRENCY : PEOPLE;
    const signInStart = performance.now();
    const sessions = await signInPeople(started.base, discovery.authorization_endpoint, clientId, people);
    log(`   ${people} people signed in, ${Math.round(performance.now() - signInStart)} ms`);
    const targetOf = (n: number): LoadTarget => ({
      origin: started.base,
      authorizationEndpoint: discovery.authorization_endpoint,
      tokenEndpoint: discovery.token_endpoint,
      clientId,
      sessions: sessions.slice(0, n),
    });
    const target = targetOf(CONCURRENCY);
    const base = { target, warmupSeconds: TIMES.warmup, serverPid: started.child.pid };

    log(`   full PKCE flow, ${CONCURRENCY} people, one each per connection, ${TIMES.flow} s …`);
    const flow = await load({
      ...base,
      warmupSeconds: TIMES.firstWarmup,
      scenario: 'flow',
      concurrency: CONCURRENCY,
      seconds: TIMES.flow,
      keepTokens: 64,
    });

    let flowDpop: LoadResult | null = null;
    if (opts.dpop) {
      log(`   full PKCE flow with DPoP, ${CONCURRENCY} people, a key each, ${TIMES.flow} s …`);
      flowDpop = await load({
        ...base,
        scenario: 'flow',
        concurrency: CONCURRENCY,
        seconds: TIMES.flow,
        keepTokens: 64,
        dpop: true,
      });
    }

    let flowManyPeople: LoadResult | null = null;
    if (!profile && !opts.dpopOnly) {
      log(`   full PKCE flow, ${people} people over ${CONCURRENCY} connections, ${TIMES.flow} s …`);
      flowManyPeople = await load({
        ...base,
        target: targetOf(people),
        scenario: 'flow',
        concurrency: CONCURRENCY,
        seconds: TIMES.flow,
      });
    }

    let refresh: LoadResult | null = null;
    let refreshNote: string | undefined;
    let tokenIdle: LoadResult | null = null;
    let signin: LoadResult | null = null;
    let tokenDuringSignin: LoadResult | null = null;
    if (profile || opts.dpopOnly) {
      refreshNote = profile
        ? 'not run with --profile (the profile covers the flow load only)'
        : 'not run with --dpop-only';
    } else {
      if (discovery.grant_types_supported?.includes('refresh_token')) {
        log(`   refresh grant, ${CONCURRENCY} users, ${TIMES.refresh} s …`);
        refresh = await load({
          ...base,
          scenario: 'refresh',
          concurrency: CONCURRENCY,
          seconds: TIMES.refresh,
        });
      } else {
        refreshNote = 'refresh_token is not in grant_types_supported';
        log(`   refresh grant: n/a (${refreshNote})`);
      }
    }
    if (!profile && !opts.flowAndRefreshOnly && !opts.dpopOnly) {
      log(
        `   token endpoint idle (${PROBE_CONCURRENCY} users, ${PROBE_RATE} flows/s), ${TIMES.idleProbe} s …`,
      );
      tokenIdle = await load({
        ...base,
        scenario: 'flow',
        concurrency: PROBE_CONCURRENCY,
        ratePerSecond: PROBE_RATE,
        seconds: TIMES.idleProbe,
      });

      log(
        `   sign-in flat out (${CONCURRENCY} users) + token endpoint probe (${PROBE_RATE} flows/s), ${TIMES.signin} s …`,
      );
      [signin, tokenDuringSignin] = await Promise.all([
        load({ ...base, scenario: 'signin', concurrency: CONCURRENCY, seconds: TIMES.signin }),
        load({
          ...base,
          scenario: 'flow',
          concurrency: PROBE_CONCURRENCY,
          ratePerSecond: PROBE_RATE,
          // starts after the sign-in load is running and stops before it does
          warmupSeconds: TIMES.warmup + 0.5,
          seconds: TIMES.signin - 1,
        }),
      ]);
    }
    const rssAfterLoadMiB = rssMiB(started.child.pid);

    let verification: VerifyResult | null = null;
    const tokens = flow.accessTokens ?? [];
    const isJwt = tokens.length > 0 && tokens.every((t) => t.split('.').length === 3);
    if (audience !== null && isJwt && !opts.flowAndRefreshOnly) {
      log(`   resource-server verification, 1 core, ${TIMES.verify} s …`);
      try {
        const out = await run([
          '--import',
          'tsx',
          join(ROOT, 'bench/verify.ts'),
          JSON.stringify({
            jwksUri: discovery.jwks_uri,
            issuer: started.base,
            audience,
            tokens,
            seconds: TIMES.verify,
          }),
        ]);
        verification = JSON.parse(out.trim().split('\n').pop() ?? '') as VerifyResult;
      } catch (err) {
        // Secondary figure: reported as n/a rather than failing the whole run.
        log(`   verification failed: ${(err as Error).message.split('\n').slice(0, 3).join(' ')}`);
      }
    }
    let verificationDpop: VerifyResult | null = null;
    const bound = flowDpop?.accessTokens ?? [];
    if (audience !== null && flowDpop && bound.length > 0 && flowDpop.dpopKeys?.length === bound.length) {
      const proofs = quick ? 10_000 : 30_000;
      log(`   resource-server verification with DPoP proofs, 1 core, ${proofs} proofs …`);
      try {
        const out = await run([
          '--import',
          'tsx',
          join(ROOT, 'bench/verify.ts'),
          JSON.stringify({
            jwksUri: discovery.jwks_uri,
            issuer: started.base,
            audience,
            tokens: bound,
            seconds: TIMES.verify,
            dpop: { keys: flowDpop.dpopKeys, url: 'https://api.example/hello', proofs },
          }),
        ]);
        verificationDpop = JSON.parse(out.trim().split('\n').pop() ?? '') as VerifyResult;
      } catch (err) {
        log(`   DPoP verification failed: ${(err as Error).message.split('\n').slice(0, 3).join(' ')}`);
      }
    }
    delete flow.accessTokens;
    if (flowDpop) {
      delete flowDpop.accessTokens;
      delete flowDpop.dpopKeys;
    }
    return {
      server: name,
      runAs: entry.how,
      coldStartMs: started.coldStartMs,
      flow,
      flowManyPeople,
      refresh,
      flowDpop,
      ...(refreshNote ? { refreshNote } : {}),
      tokenIdle,
      signin,
      tokenDuringSignin,
      rssAfterLoadMiB,
      verification,
      verificationDpop,
      accessTokenFormat: isJwt ? 'JWT (RS256)' : 'opaque',
    };
  } finally {
    await stop(started.child);
  }
}

/** Prepares a Latchkey database (an application and the people) for a run on it. */
async function prepareLatchkey(entry: Entry, db: string): Promise<string> {
  const cli = (args: string[], input?: string) =>
    run([...entry.args, ...args, '--db', db], {
      env: { LATCHKEY_LOG_LEVEL: 'silent' },
      ...(input !== undefined ? { input } : {}),
    });
  const client = JSON.parse(
    await cli([
      'clients',
      'create',
      '--name',
      'Bench',
      '--type',
      'native',
      '--redirect-uri',
      REDIRECT_URI,
      '--consent',
      'none',
      '--json',
    ]),
  ) as { client_id: string };
  await cli(['migrate']);
  // The people, through the project's user service (one argon2 hash shared: bench/seed-users.ts).
  await run(['--import', 'tsx', join(ROOT, 'bench/seed-users.ts'), JSON.stringify({ db, count: PEOPLE })]);
  return client.client_id;
}

async function latchkey(
  entry: Entry,
  dir: string,
  accessTokenAlg: 'RS256' | 'ES256' = 'RS256',
  opts: { db?: string; name?: string; flowAndRefreshOnly?: boolean; dpop?: boolean } = {},
): Promise<ServerFigures> {
  const db = opts.db ?? join(dir, `latchkey-${accessTokenAlg}.db`);
  const clientId = await prepareLatchkey(entry, db);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const profileDir = join(BUILD, 'profile');
  const nodeFlags = profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const figures = await measure(
    (opts.name ?? (accessTokenAlg === 'RS256' ? 'Latchkey' : `Latchkey (${accessTokenAlg} access tokens)`)) +
      (serveWorkers ? `, --workers ${serveWorkers}` : ''),
    entry,
    () =>
      startServer(
        [
          ...nodeFlags,
          ...entry.args,
          'serve',
          '--db',
          db,
          '--port',
          String(port),
          '--host',
          '127.0.0.1',
          ...(serveWorkers ? ['--workers', serveWorkers] : []),
        ],
        {
          LATCHKEY_LOG_LEVEL: 'silent',
          LATCHKEY_RATE_LIMIT: 'false',
          LATCHKEY_ISSUER: base,
          LATCHKEY_ACCESS_TOKEN_ALG: accessTokenAlg,
          NODE_ENV: 'production',
        },
        base,
      ),
    clientId,
    'api://default',
    {
      flowAndRefreshOnly: opts.flowAndRefreshOnly ?? accessTokenAlg !== 'RS256',
      dpop: opts.dpop ?? (dpop && accessTokenAlg === 'RS256'),
      dpopOnly,
    },
  );
  if (profile) figures.profile = profileDir;
  return figures;
}

async function peer(
  entry: Entry,
  jwt: boolean,
  opts: { flowAndRefreshOnly?: boolean } = {},
): Promise<ServerFigures> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'bench' };
  // Same argon2id cost as src/auth/passwords.ts.
  const passwordHash = await hash(PASSWORD, { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  return measure(
    jwt ? 'node-oidc-provider (JWT access tokens)' : 'node-oidc-provider',
    entry,
    () =>
      startServer(
        entry.args,
        {
          BENCH_PORT: String(port),
          BENCH_JWK: JSON.stringify(jwk),
          BENCH_PASSWORD_HASH: passwordHash,
          BENCH_PEER_JWT: jwt ? '1' : '0',
          NODE_ENV: 'production',
        },
        base,
      ),
    'bench',
    jwt ? 'api://default' : null,
    opts,
  );
}

// ---------------------------------------------------------------------------------------------
// The grown database (--rows N)

interface GrowthRound {
  round: number;
  empty: ServerFigures;
  grown: ServerFigures;
}

interface BacklogFigures {
  expiredGrants: number;
  /** /token p99 (2 workers) over a window that holds the first purge after start. */
  tokenP99DuringPurge: number | null;
  /** The same probe once the purge is done. */
  tokenP99After: number | null;
  purgeSeconds: number | null;
  rowsDeleted: number | null;
}

const METRICS_TOKEN = 'bench-metrics-token-0123456789';

/** Reads one Prometheus sample (summed over its labels) from Latchkey's /metrics. */
async function metric(base: string, name: string): Promise<number | null> {
  const text = await (
    await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
  ).text();
  const values = text
    .split('\n')
    .filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
    .map((l) => Number(l.split(' ').pop()));
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0);
}

/**
 * The purge backlog: a share of the grown file expired; the server's first purge (5 s after
 * start) deletes it while a 2-worker /token probe runs, then the same probe runs again.
 */
async function backlogPhase(entry: Entry, db: string): Promise<BacklogFigures> {
  const expired = JSON.parse(
    await run([
      '--import',
      'tsx',
      join(ROOT, 'bench/grow.ts'),
      JSON.stringify({ db, expire: BACKLOG_SHARE }),
    ]),
  ) as { expired: number };
  const clientId = await prepareLatchkey(entry, db);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const started = await startServer(
    [...entry.args, 'serve', '--db', db, '--port', String(port), '--host', '127.0.0.1'],
    {
      LATCHKEY_LOG_LEVEL: 'silent',
      LATCHKEY_RATE_LIMIT: 'false',
      LATCHKEY_ISSUER: base,
      LATCHKEY_METRICS_TOKEN: METRICS_TOKEN,
      NODE_ENV: 'production',
    },
    base,
  );
  try {
    const discovery = (await (await fetch(`${base}/.well-known/openid-configuration`)).json()) as Discovery;
    const sessions = await signInPeople(base, discovery.authorization_endpoint, clientId, PROBE_CONCURRENCY);
    const target: LoadTarget = {
      origin: base,
      authorizationEndpoint: discovery.authorization_endpoint,
      tokenEndpoint: discovery.token_endpoint,
      clientId,
      sessions,
    };
    log(
      `   /token probe (${PROBE_CONCURRENCY} people) while the first purge clears ${expired.expired} grants …`,
    );
    const during = await load({
      target,
      scenario: 'flow',
      concurrency: PROBE_CONCURRENCY,
      warmupSeconds: 0.5,
      seconds: 20,
    });
    // Wait for the purge to end (its run is counted once done; up to 10 minutes), then the same
    // probe again: that is the idle figure the one during the purge is compared with.
    for (let i = 0; i < 600 && ((await metric(base, 'latchkey_purge_duration_seconds_count')) ?? 0) < 1; i++)
      await new Promise((r) => setTimeout(r, 1000));
    const afterwards = await load({
      target,
      scenario: 'flow',
      concurrency: PROBE_CONCURRENCY,
      warmupSeconds: 0.5,
      seconds: 5,
    });
    return {
      expiredGrants: expired.expired,
      tokenP99DuringPurge: during.steps['token']?.p99 ?? null,
      tokenP99After: afterwards.steps['token']?.p99 ?? null,
      purgeSeconds: await metric(base, 'latchkey_purge_duration_seconds_sum'),
      rowsDeleted: await metric(base, 'latchkey_purge_deleted_rows_total'),
    };
  } finally {
    await stop(started.child);
  }
}

async function growthRun(entries: { latchkey: Entry }, rows: number): Promise<number> {
  const t0 = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-grown-'));
  const pgDatabases = growDb === undefined ? undefined : await benchDatabases(growDb);
  try {
    const empty = pgDatabases?.empty ?? join(dir, 'empty.db');
    const grown = pgDatabases?.grown ?? join(dir, 'grown.db');
    log(`bench: growing ${grown} to ${rows} users, grants, refresh tokens and ${rows / 5} sessions …`);
    const fill = JSON.parse(
      await run(['--import', 'tsx', join(ROOT, 'bench/grow.ts'), JSON.stringify({ db: grown, rows })]),
    ) as { ms: number; bytes: number | null };
    log(`   filled in ${Math.round(fill.ms / 1000)} s, ${((fill.bytes ?? 0) / 2 ** 20).toFixed(0)} MiB`);
    const rounds: GrowthRound[] = [];
    for (let round = 1; round <= GROWTH_ROUNDS; round++) {
      // Alternating, so a drift of the machine lands on both.
      const e = await latchkey(entries.latchkey, dir, 'RS256', {
        db: empty,
        name: `Latchkey, empty ${pgDatabases ? 'database' : 'file'}, round ${round}`,
        flowAndRefreshOnly: true,
        dpop: false,
      });
      const g = await latchkey(entries.latchkey, dir, 'RS256', {
        db: grown,
        name: `Latchkey, ${rows} rows, round ${round}`,
        flowAndRefreshOnly: true,
        dpop: false,
      });
      rounds.push({ round, empty: e, grown: g });
    }
    const backlog = await backlogPhase(entries.latchkey, grown);
    const fmt = (v: number | null | undefined) => (v === null || v === undefined ? 'n/a' : String(v));
    const lines = [
      `Grown database: ${rows} users, grants (half redeemed), refresh tokens, ${rows / 5} sessions; ` +
        `${((fill.bytes ?? 0) / 2 ** 20).toFixed(0)} MiB after the fill (${pgDatabases ? 'PostgreSQL' : 'SQLite'})`,
      `${'round'.padEnd(8)}${'flows/s empty'.padStart(15)}${'grown'.padStart(10)}${'ratio'.padStart(8)}` +
        `${'p99 empty'.padStart(11)}${'grown'.padStart(8)}${'refresh/s empty'.padStart(17)}${'grown'.padStart(8)}${'ratio'.padStart(8)}`,
    ];
    for (const r of rounds) {
      lines.push(
        `${String(r.round).padEnd(8)}${fmt(r.empty.flow.perSecond).padStart(15)}${fmt(r.grown.flow.perSecond).padStart(10)}` +
          `${fmt(ratio(r.grown.flow.perSecond, r.empty.flow.perSecond)).padStart(8)}` +
          `${fmt(r.empty.flow.p99).padStart(11)}${fmt(r.grown.flow.p99).padStart(8)}` +
          `${fmt(r.empty.refresh?.perSecond).padStart(17)}${fmt(r.grown.refresh?.perSecond).padStart(8)}` +
          `${fmt(ratio(r.grown.refresh?.perSecond, r.empty.refresh?.perSecond)).padStart(8)}`,
      );
    }
    const flowRatios = rounds
      .map((r) => ratio(r.grown.flow.perSecond, r.empty.flow.perSecond) ?? 0)
      .sort((a, b) => a - b);
    lines.push(
      `median flow ratio grown/empty: ${flowRatios[Math.floor(flowRatios.length / 2)] ?? 'n/a'} (target ≥ 0.9)`,
      `purge backlog: ${backlog.expiredGrants} expired grants (+ their refresh tokens, ${Math.floor(backlog.expiredGrants / 5)} sessions): ` +
        `${fmt(backlog.rowsDeleted)} rows in ${fmt(backlog.purgeSeconds === null ? null : Math.round(backlog.purgeSeconds * 10) / 10)} s; ` +
        `/token p99 ${fmt(backlog.tokenP99DuringPurge)} ms during it, ${fmt(backlog.tokenP99After)} ms after ` +
        `(${fmt(ratio(backlog.tokenP99DuringPurge, backlog.tokenP99After))}×, limit 2×)`,
    );
    process.stdout.write(`\n${lines.join('\n')}\n`);
    const seconds = Math.round((performance.now() - t0) / 100) / 10;
    writeFileSync(
      join(ROOT, 'bench', 'results-growth.json'),
      `${JSON.stringify({ date: new Date().toISOString(), rows, seconds, fill, rounds, backlog }, null, 2)}\n`,
    );
    process.stdout.write(`\nbench/results-growth.json written (${seconds} s)\n`);
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await pgDatabases?.drop();
  }
}

/** Two fresh PostgreSQL databases beside the one `url` names: NAME_empty and NAME_grown. */
async function benchDatabases(url: string): Promise<{ empty: string; grown: string; drop(): Promise<void> }> {
  if (!/^postgres(ql)?:\/\//.test(url)) throw new Error('--db for --rows takes a postgres:// URL');
  const { default: pg } = await import('pg');
  const base = new URL(url);
  const name = base.pathname.slice(1) || 'postgres';
  const names = { empty: `${name}_empty`, grown: `${name}_grown` };
  const admin = async (statements: string[]) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      for (const q of statements) await c.query(q);
    } finally {
      await c.end();
    }
  };
  const drops = Object.values(names).map((n) => `DROP DATABASE IF EXISTS ${n} WITH (FORCE)`);
  await admin([...drops, ...Object.values(names).map((n) => `CREATE DATABASE ${n}`)]);
  const at = (n: string) => {
    const u = new URL(url);
    u.pathname = `/${n}`;
    return u.toString();
  };
  return { empty: at(names.empty), grown: at(names.grown), drop: () => admin(drops) };
}

// ---------------------------------------------------------------------------------------------
// Report

type Pick = (f: ServerFigures) => number | null | undefined;
type Row = [string, Pick, 'higher' | 'lower'];

const ROWS: Row[] = [
  ['full PKCE flows/s (16 people)', (f) => f.flow.perSecond, 'higher'],
  ['  flow p50 ms', (f) => f.flow.p50, 'lower'],
  ['  flow p99 ms', (f) => f.flow.p99, 'lower'],
  ['  flow errors', (f) => f.flow.errors, 'lower'],
  ['  server CPU ms per flow', (f) => f.flow.serverCpuMsPerIteration, 'lower'],
  ['  server cores busy', (f) => f.flow.serverCores, 'lower'],
  ['  load generator cores busy', (f) => f.flow.loadCores, 'lower'],
  ['  /authorize p50 ms', (f) => f.flow.steps['authorize']?.p50, 'lower'],
  ['  /token p50 ms', (f) => f.flow.steps['token']?.p50, 'lower'],
  [`full PKCE flows/s (${PEOPLE} people)`, (f) => f.flowManyPeople?.perSecond, 'higher'],
  ['  flow p99 ms', (f) => f.flowManyPeople?.p99, 'lower'],
  ['  server CPU ms per flow', (f) => f.flowManyPeople?.serverCpuMsPerIteration, 'lower'],
  ['refresh grants/s (16 people)', (f) => f.refresh?.perSecond, 'higher'],
  ['  refresh p50 ms', (f) => f.refresh?.p50, 'lower'],
  ['  refresh p99 ms', (f) => f.refresh?.p99, 'lower'],
  ['  server CPU ms per refresh', (f) => f.refresh?.serverCpuMsPerIteration, 'lower'],
  ['  refresh errors', (f) => f.refresh?.errors, 'lower'],
  ['sign-ins/s (argon2id, 16 people)', (f) => f.signin?.perSecond, 'higher'],
  ['  sign-in p50 ms', (f) => f.signin?.p50, 'lower'],
  ['  sign-in errors', (f) => f.signin?.errors, 'lower'],
  [`/token p99 ms idle (2 people, ${PROBE_RATE} flows/s)`, (f) => f.tokenIdle?.steps['token']?.p99, 'lower'],
  ['/token p99 ms during sign-ins', (f) => f.tokenDuringSignin?.steps['token']?.p99, 'lower'],
  ['full PKCE flows/s with DPoP (16)', (f) => f.flowDpop?.perSecond, 'higher'],
  ['  DPoP flow p99 ms', (f) => f.flowDpop?.p99, 'lower'],
  ['  server CPU ms per DPoP flow', (f) => f.flowDpop?.serverCpuMsPerIteration, 'lower'],
  ['  /token p50 ms with DPoP', (f) => f.flowDpop?.steps['token']?.p50, 'lower'],
  ['  DPoP flow errors', (f) => f.flowDpop?.errors, 'lower'],
  ['resource verifications/s/core', (f) => f.verification?.perSecond, 'higher'],
  ['  raw RS256 verify/s/core', (f) => f.verification?.rawRs256PerSecond, 'higher'],
  ['DPoP verifications/s/core (proof+token)', (f) => f.verificationDpop?.dpopPerSecond, 'higher'],
  ['  ES256 proofs signed/s (client)', (f) => f.verificationDpop?.dpopProofsSignedPerSecond, 'higher'],
  ['cold start ms', (f) => f.coldStartMs, 'lower'],
  ['RSS after load MiB', (f) => f.rssAfterLoadMiB, 'lower'],
];

/** Latchkey, then each peer column with the ratio Latchkey / peer. */
function table(l: ServerFigures | undefined, peers: Array<[string, ServerFigures]>, rows = ROWS): string {
  const fmt = (v: number | null | undefined) =>
    v === null || v === undefined ? 'n/a' : Number.isInteger(v) ? String(v) : v.toFixed(1);
  const head = [`${'figure'.padEnd(40)}${'Latchkey'.padStart(10)}`];
  for (const [name] of peers) head.push(`${name.padStart(20)}${'L/P'.padStart(8)}`);
  const lines = [head.join(''), '-'.repeat(50 + 28 * peers.length)];
  for (const [label, pick, better] of rows) {
    const a = l ? pick(l) : undefined;
    let line = `${label.padEnd(40)}${fmt(a).padStart(10)}`;
    for (const [, p] of peers) {
      const b = pick(p);
      const r =
        typeof a === 'number' && typeof b === 'number' && b !== 0 && !label.includes('errors')
          ? `${(a / b).toFixed(2)}${better === 'higher' ? '↑' : '↓'}`
          : 'n/a';
      line += `${fmt(b).padStart(20)}${r.padStart(8)}`;
    }
    lines.push(line);
  }
  lines.push('(L/P = Latchkey / node-oidc-provider; ↑ higher is better, ↓ lower is better)');
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Per core (--per-core)

const PER_CORE_ROWS = ROWS.filter(([label]) => /flow|refresh|cores/.test(label));

async function perCoreRun(entries: { latchkey: Entry; peer: Entry }): Promise<number> {
  const t0 = performance.now();
  if (availableParallelism() < 2) throw new Error('--per-core needs two cores');
  if (spawnSync('taskset', ['-c', '0', 'true']).status !== 0)
    throw new Error('--per-core needs taskset (util-linux) and cores 0 and 1');
  setPinning({ server: '1', load: '0' });
  log('bench: per core: servers on core 1 (every thread), the load generator on core 0');
  const floor = JSON.parse(
    (await run(['--import', 'tsx', join(ROOT, 'bench/signing-floor.ts'), '2'], { cpu: '1' })).trim(),
  ) as { rs256Ms: number; es256Ms: number };
  log(`   signing floor on core 1: RS256 ${floor.rs256Ms} ms, ES256 ${floor.es256Ms} ms per signature`);
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-'));
  let l: ServerFigures;
  let le: ServerFigures;
  let p: ServerFigures;
  let pj: ServerFigures;
  try {
    l = await latchkey(entries.latchkey, dir, 'RS256', { flowAndRefreshOnly: true, dpop: false });
    le = await latchkey(entries.latchkey, dir, 'ES256');
    p = await peer(entries.peer, false, { flowAndRefreshOnly: true });
    pj = await peer(entries.peer, true, { flowAndRefreshOnly: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const twoRs = Math.round(floor.rs256Ms * 2 * 100) / 100;
  const rsEs = Math.round((floor.rs256Ms + floor.es256Ms) * 100) / 100;
  const cpu = (f: ServerFigures) => f.flow.serverCpuMsPerIteration;
  const x = (a: number | null | undefined, b: number | null | undefined) => `${ratio(a, b) ?? 'n/a'}×`;
  const busiestLoad = Math.max(...[l, le, p, pj].map((f) => f.flow.loadCores ?? 0));
  const lines = [
    table(
      l,
      [
        ['oidc-provider', p],
        ['oidc-provider JWT', pj],
        ['Latchkey ES256', le],
      ],
      PER_CORE_ROWS,
    ),
    '(the last column compares Latchkey RS256 with itself on ES256 access tokens)',
    '',
    `signing floor (crypto.sign on core 1): two RS256 signatures ${twoRs} ms, RS256 + ES256 ${rsEs} ms`,
    `Latchkey server CPU per flow: ${cpu(l)} ms = ${x(cpu(l), twoRs)} the floor (target ≤ 1.3×); ` +
      `ES256 access tokens ${cpu(le)} ms = ${x(cpu(le), rsEs)} its floor`,
    `flows/s: ${x(l.flow.perSecond, p.flow.perSecond)} the opaque peer (target ≥ 1.4×), ` +
      `${x(l.flow.perSecond, pj.flow.perSecond)} the JWT peer (target ≥ 1.6×); ES256 ${x(le.flow.perSecond, p.flow.perSecond)} the opaque peer (target ≥ 2×)`,
    `refresh/s: ${x(l.refresh?.perSecond, p.refresh?.perSecond)} the opaque peer, ${x(l.refresh?.perSecond, pj.refresh?.perSecond)} the JWT peer (target ≥ 2×)`,
    busiestLoad > 0.9
      ? `WARNING: the load generator used ${busiestLoad} of its core: it may be the bottleneck`
      : `the load generator used at most ${busiestLoad} of its core (not the bottleneck)`,
  ];
  process.stdout.write(`\n${lines.join('\n')}\n`);
  const seconds = Math.round((performance.now() - t0) / 100) / 10;
  writeFileSync(
    join(ROOT, 'bench', 'results-per-core.json'),
    `${JSON.stringify({ date: new Date().toISOString(), seconds, floor, latchkey: l, latchkeyEs256: le, peer: p, peerJwt: pj }, null, 2)}\n`,
  );
  process.stdout.write(`\nbench/results-per-core.json written (${seconds} s)\n`);
  return 0;
}

function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  return typeof a === 'number' && typeof b === 'number' && b !== 0 ? Math.round((a / b) * 100) / 100 : null;
}

async function main(): Promise<number> {
  const t0 = performance.now();
  const loadAtStart = loadavg().map((n) => Math.round(n * 100) / 100);
  if ((loadAtStart[0] ?? 0) > availableParallelism() / 2) {
    log(`bench: the machine is already busy (load average ${loadAtStart.join(' ')}); figures will be noisy`);
  }
  const entries = await build();
  setLoadEntry(entries.load);
  if (growRows !== undefined) {
    if (!Number.isInteger(growRows) || growRows < 1000) throw new Error('--rows needs a number ≥ 1000');
    return growthRun(entries, growRows);
  }
  if (perCore) return perCoreRun(entries);
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-'));
  let l: ServerFigures | undefined;
  let p: ServerFigures | undefined;
  let pj: ServerFigures | undefined;
  let le: ServerFigures | undefined;
  try {
    if (only !== 'peer') l = await latchkey(entries.latchkey, dir);
    // --dpop-only: nothing else, the Bearer and DPoP figures side by side.
    if (!dpopOnly) {
      if (only !== 'peer' && es256) le = await latchkey(entries.latchkey, dir, 'ES256');
      if (only !== 'latchkey') p = await peer(entries.peer, false);
      if (only !== 'latchkey' && peerJwt) pj = await peer(entries.peer, true);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const peers: Array<[string, ServerFigures]> = [];
  if (p) peers.push(['oidc-provider', p]);
  if (pj) peers.push(['oidc-provider JWT', pj]);
  const report = table(l, peers);
  process.stdout.write(`\n${report}\n`);
  if (le) {
    const times = (a: number | null | undefined, b: number | null | undefined) => `${ratio(a, b) ?? 'n/a'}×`;
    process.stdout.write(
      `\nLatchkey with ES256 access tokens (ID tokens RS256): ${le.flow.perSecond} flows/s ` +
        `(p50 ${le.flow.p50} ms, p99 ${le.flow.p99} ms, ${le.flow.serverCpuMsPerIteration} ms CPU per flow) = ` +
        `${times(le.flow.perSecond, p?.flow.perSecond)} the peer` +
        `${pj ? `, ${times(le.flow.perSecond, pj.flow.perSecond)} the JWT peer` : ''} (target ≥ 2×); ` +
        `${le.refresh?.perSecond ?? 'n/a'} refreshes/s = ${times(le.refresh?.perSecond, p?.refresh?.perSecond)} the peer\n`,
    );
  }
  const checks = l && {
    flowsVsPeer: ratio(l.flow.perSecond, p?.flow.perSecond),
    flowsVsPeerTarget: 1.4,
    verificationPerCore: l.verification?.perSecond ?? null,
    verificationTarget: 20000,
    coldStartMs: l.coldStartMs,
    coldStartTargetMs: 1000,
    tokenP99DuringSigninVsIdle: ratio(
      l.tokenDuringSignin?.steps['token']?.p99,
      l.tokenIdle?.steps['token']?.p99,
    ),
    tokenP99Limit: 2,
  };
  if (checks) {
    process.stdout.write(
      `\nLatchkey vs targets: flows ${checks.flowsVsPeer ?? 'n/a'}× peer (target ≥ 1.4×), ` +
        `verification ${checks.verificationPerCore ?? 'n/a'}/s/core (target ≥ 20000), ` +
        `cold start ${checks.coldStartMs} ms (target ≤ 1000), ` +
        `/token p99 under sign-in load ${checks.tokenP99DuringSigninVsIdle ?? 'n/a'}× idle (limit 2×)\n`,
    );
  }
  const seconds = Math.round((performance.now() - t0) / 100) / 10;
  const results = {
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    people: { perWorker: 1, manyPeopleScenario: PEOPLE, connections: CONCURRENCY },
    seconds,
    machine: {
      cpus: availableParallelism(),
      model: cpus()[0]?.model ?? 'unknown',
      node: process.version,
      loadAverageAtStart: loadAtStart,
      loadAverageAtEnd: loadavg().map((n) => Math.round(n * 100) / 100),
    },
    latchkey: l ?? null,
    peer: p ?? null,
    peerJwtAccessTokens: pj ?? null,
    latchkeyEs256AccessTokens: le ?? null,
    ratiosEs256VsPeer: le
      ? {
          flowsPerSecond: ratio(le.flow.perSecond, p?.flow.perSecond),
          flowP99: ratio(le.flow.p99, p?.flow.p99),
          refreshPerSecond: ratio(le.refresh?.perSecond, p?.refresh?.perSecond),
          flowsPerSecondVsJwtPeer: ratio(le.flow.perSecond, pj?.flow.perSecond),
        }
      : null,
    ratiosVsPeerJwtAccessTokens: pj
      ? {
          flowsPerSecond: ratio(l?.flow.perSecond, pj.flow.perSecond),
          flowsPerSecondManyPeople: ratio(l?.flowManyPeople?.perSecond, pj.flowManyPeople?.perSecond),
          serverCpuPerFlow: ratio(l?.flow.serverCpuMsPerIteration, pj.flow.serverCpuMsPerIteration),
          refreshPerSecond: ratio(l?.refresh?.perSecond, pj.refresh?.perSecond),
          verificationPerSecond: ratio(l?.verification?.perSecond, pj.verification?.perSecond),
        }
      : null,
    ratios: {
      flowsPerSecond: ratio(l?.flow.perSecond, p?.flow.perSecond),
      flowsPerSecondManyPeople: ratio(l?.flowManyPeople?.perSecond, p?.flowManyPeople?.perSecond),
      flowP50: ratio(l?.flow.p50, p?.flow.p50),
      flowP99: ratio(l?.flow.p99, p?.flow.p99),
      serverCpuPerFlow: ratio(l?.flow.serverCpuMsPerIteration, p?.flow.serverCpuMsPerIteration),
      refreshPerSecond: ratio(l?.refresh?.perSecond, p?.refresh?.perSecond),
      refreshP99: ratio(l?.refresh?.p99, p?.refresh?.p99),
      signinsPerSecond: ratio(l?.signin?.perSecond, p?.signin?.perSecond),
      tokenP99Idle: ratio(l?.tokenIdle?.steps['token']?.p99, p?.tokenIdle?.steps['token']?.p99),
      tokenP99DuringSignin: ratio(
        l?.tokenDuringSignin?.steps['token']?.p99,
        p?.tokenDuringSignin?.steps['token']?.p99,
      ),
      coldStart: ratio(l?.coldStartMs, p?.coldStartMs),
      rss: ratio(l?.rssAfterLoadMiB, p?.rssAfterLoadMiB),
    },
    checks: checks ?? null,
  };
  writeFileSync(join(ROOT, 'bench', 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\nbench/results.json written (${seconds} s)\n`);
  const errors = [l, p, pj, le].reduce(
    (n, f) =>
      n +
      (f
        ? f.flow.errors + (f.flowManyPeople?.errors ?? 0) + (f.refresh?.errors ?? 0) + (f.signin?.errors ?? 0)
        : 0),
    0,
  );
  if (errors > 0) {
    log(`bench: ${errors} request errors; first ones:`);
    for (const f of [l, p, pj, le]) {
      for (const r of [f?.flow, f?.flowManyPeople, f?.refresh, f?.signin]) {
        if (r?.firstErrors.length) log(`  ${f?.server} ${r.scenario}: ${r.firstErrors.join(' | ')}`);
      }
    }
  }
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    log(`bench failed: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 1;
  },
);

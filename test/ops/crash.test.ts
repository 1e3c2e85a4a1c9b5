/**
 * A crash loses nothing: `kill -9` of a real `latchkey serve` under load, on SQLite and on
 * PostgreSQL, then a restart on the same database (and the same port, so the same issuer).
 *
 * The load: LOOPS concurrent flow loops over real HTTP, each its own signed-in person (one
 * password sign-in, then its session): authorize → code → /token → refresh → refresh → … Every
 * loop keeps a couple of its codes unredeemed on purpose. The loops record everything a client
 * RECEIVED before the kill, and the one request each had in flight (sent, never answered).
 *
 * The application has a 60 s refresh grace, the documented rule for a lost answer: a rotated
 * refresh token presented again inside the window gets the identical answer again.
 *
 * "Nothing that was not confirmed appears half-written", checked on the dead server's database:
 * - SQLite's integrity_check and foreign_key_check are clean;
 * - every grant has its code hash and challenge; every code the clients hold is there, unspent;
 *   every code they redeemed is spent; at most one grant per unanswered /authorize is unknown;
 * - every refresh token a client received is stored, in a grant whose code was spent; at most
 *   one stored refresh token per unanswered request is unknown to the clients;
 * - every consumed refresh token carries its successor answer (a rotation is stored with its
 *   answer or not at all), so a client whose refresh was cut off can always repeat it;
 * - a family has at most one live refresh token.
 * After the restart, over HTTP: every access token and every family's latest refresh token
 * introspects active and the refresh token works; every held code redeems (well within its 60 s);
 * a refresh cut off by the crash repeated with the same token succeeds (fresh rotation or the
 * stored answer); a code redemption cut off by the crash either succeeds or is refused as a
 * used code (the client cannot tell a crash from a lost answer; RFC 6749 §4.1.2 applies);
 * each person's session still signs them in without a password.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { createContext } from '../../src/context.js';
import { sha256 } from '../../src/crypto.js';
import { openStorage } from '../../src/storage/index.js';
import { createTempDatabase, PG_SKIP, pgQuery } from '../helpers/databases.js';
import { authorizeRequest, type Code, introspect, redeem, refresh } from '../helpers/flow.js';
import { type Family, type LoopState, type Pending, runFlowLoops } from '../helpers/flow-loops.js';
import { type Seeded, type ServeProcess, seed, startServe } from '../helpers/serve-child.js';
import { freePort, tempDir } from '../helpers/server.js';

const LOOPS = 8;
const LOAD_MS = 2500;
const GRACE_SEC = 60;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(done: () => unknown, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out waiting: ${what}`);
    await sleep(20);
  }
}

interface GrantRow {
  id: string;
  client_id: string;
  code_hash: string | null;
  code_challenge: string | null;
  code_expires_at: unknown;
  code_consumed_at: unknown;
  revoked_at: unknown;
}
interface RefreshRow {
  hash: string;
  grant_id: string;
  consumed_at: unknown;
  successor: string | null;
  grace_until: unknown;
}

interface Backend {
  name: string;
  db: string;
  /** SQLite: integrity_check and foreign_key_check verdicts; PostgreSQL: none. */
  integrity(): Promise<string[]>;
  rows<R>(text: string): Promise<R[]>;
  cleanup(): Promise<void>;
}

function sqliteBackend(): Backend {
  const dir = tempDir('latchkey-crash-');
  const db = join(dir, 'latchkey.db');
  const withDb = <T>(fn: (d: Database.Database) => T): T => {
    const d = new Database(db, { fileMustExist: true });
    try {
      return fn(d);
    } finally {
      d.close();
    }
  };
  return {
    name: 'SQLite',
    db,
    async integrity() {
      return withDb((d) => {
        const ic = (d.pragma('integrity_check') as { integrity_check: string }[]).map(
          (r) => r.integrity_check,
        );
        const fk = (d.pragma('foreign_key_check') as unknown[]).map(
          (r) => `foreign key: ${JSON.stringify(r)}`,
        );
        return [...ic, ...fk];
      });
    },
    async rows<R>(text: string) {
      return withDb((d) => d.prepare(text).all() as R[]);
    },
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function pgBackend(): Promise<Backend> {
  const tmp = await createTempDatabase('latchkey_crash');
  return {
    name: 'PostgreSQL',
    db: tmp.url,
    async integrity() {
      return ['ok'];
    },
    rows: <R>(text: string) => pgQuery(tmp.url, text) as Promise<R[]>,
    cleanup: () => tmp.drop(),
  };
}

const isNull = (v: unknown) => v === null || v === undefined;

/** Seeds LOOPS people and the applications; the app gets a GRACE_SEC refresh grace. */
async function prepare(db: string): Promise<Seeded> {
  const seeded = await seed(db, LOOPS);
  const storage = await openStorage(db);
  try {
    const ctx = createContext(loadConfig({ database: db, logLevel: 'silent' }, {}), systemClock, storage);
    await ctx.clients.update(seeded.app.clientId, { refreshGrace: GRACE_SEC });
  } finally {
    await storage.close();
  }
  return seeded;
}

function crashSuite(name: string, open: () => Promise<Backend>, skip: string | false) {
  describe(`kill -9 under load: ${name}`, { skip }, () => {
    let backend: Backend | undefined;
    const servers: ServeProcess[] = [];
    after(async () => {
      for (const s of servers) await s.kill();
      await backend?.cleanup();
    });

    test('everything a client received works after the restart; nothing unconfirmed is half-written', async () => {
      backend = await open();
      const b = backend;
      const seeded = await prepare(b.db);
      const port = await freePort();
      const first = await startServe(b.db, port);
      servers.push(first);
      const base = first.url;

      const load = runFlowLoops(base, seeded);
      const states: LoopState[] = load.states;
      // Every person signs in (their sign-in answered, so their session is theirs to keep), then
      // the load runs. A loop whose sign-in a crash cut off has no session to lose.
      await waitFor(() => states.every((s) => s.answers > 0 || s.error), 60_000, 'every loop signed in');
      await sleep(LOAD_MS);
      // The server is frozen first, so every loop's next request is sent and stays unanswered
      // (on a busy machine the client can otherwise be the slow side, with every answer already
      // written when the kill comes); whatever the server was doing at the freeze is cut too.
      // Answers the server wrote before the freeze may still sit in the sockets: the loops read
      // them and send their next requests, which stay unanswered. Only when no answer has
      // arrived for a second is every loop's request one the frozen server holds.
      first.child.kill('SIGSTOP');
      const answered = () => states.reduce((n, s) => n + s.answers, 0);
      let seen = answered();
      let quietSince = Date.now();
      await waitFor(
        () => {
          const now = answered();
          if (now !== seen) {
            seen = now;
            quietSince = Date.now();
            return false;
          }
          return Date.now() - quietSince >= 1000 && states.every((s) => s.pending !== undefined || s.error);
        },
        15_000,
        'requests in flight',
      );
      // No loop starts another request; the ones in flight are what the kill cuts off.
      const stopping = load.stop();
      const killedAt = Date.now();
      first.child.kill('SIGKILL');
      const exit = await first.exited;
      await stopping;
      assert.equal(exit.signal, 'SIGKILL');

      const errors = states
        .filter((s) => s.error && s.error.at < killedAt)
        .map((s) => `${s.user}: ${s.error?.message}`);
      assert.deepEqual(errors, [], 'no unexpected answer before the kill');
      const all = <T>(f: (s: LoopState) => T[]) => states.flatMap(f);
      const pending = states.map((s) => s.pending).filter((p) => p !== undefined);
      const pendingOf = (k: Pending['kind']) => pending.filter((p) => p.kind === k);
      const held = all((s) => s.held);
      const families = all((s) => s.families);
      const inFlight = new Set(pendingOf('refresh').map((p) => (p as { family: Family }).family));
      console.log(
        `${b.name}: killed after ${all((s) => [s.answers]).reduce((x, y) => x + y, 0)} answers; ` +
          `received ${all((s) => s.accessTokens).length} access tokens, ${load.refreshTokens().length} refresh tokens ` +
          `(${families.length} families), ${held.length} codes held; in flight: ` +
          `${pendingOf('authorize').length} authorize, ${pendingOf('redeem').length} redeem, ${pendingOf('refresh').length} refresh`,
      );
      for (const s of states) {
        assert.ok(s.families.length >= 1, `${s.user} redeemed at least one code`);
        assert.ok(s.held.length >= 1, `${s.user} holds a code`);
      }
      assert.ok(pending.length > 0, 'requests were in flight at the kill');

      // The dead server's database, before anything touches it.
      assert.deepEqual(await b.integrity(), ['ok'], 'database integrity');
      const grants = (
        await b.rows<GrantRow>(
          'select id, client_id, code_hash, code_challenge, code_expires_at, code_consumed_at, revoked_at from grants',
        )
      ).filter((g) => g.client_id === seeded.app.clientId);
      const tokens = await b.rows<RefreshRow>(
        'select hash, grant_id, consumed_at, successor, grace_until from refresh_tokens',
      );
      const grantByCode = new Map(grants.map((g) => [g.code_hash, g]));
      const grantById = new Map(grants.map((g) => [g.id, g]));
      for (const g of grants) {
        assert.ok(
          g.code_hash !== null && g.code_challenge !== null && !isNull(g.code_expires_at),
          'grant has its code',
        );
        assert.ok(isNull(g.revoked_at), 'no grant was revoked');
      }
      for (const c of held) {
        const g = grantByCode.get(sha256(c.value.code));
        assert.ok(g, 'a held code is stored');
        assert.ok(isNull(g.code_consumed_at), 'a held code is unspent');
      }
      for (const c of all((s) => s.redeemed)) {
        const g = grantByCode.get(sha256(c));
        assert.ok(g && !isNull(g.code_consumed_at), 'a redeemed code is spent');
      }
      const knownCodes = new Set(
        [
          ...held.map((c) => c.value.code),
          ...all((s) => s.redeemed),
          ...pendingOf('redeem').map((p) => (p as { code: Code }).code.code),
        ].map(sha256),
      );
      const unknownGrants = grants.filter((g) => !knownCodes.has(g.code_hash ?? ''));
      assert.ok(
        unknownGrants.length <= pendingOf('authorize').length,
        `${unknownGrants.length} grants no client knows, ${pendingOf('authorize').length} authorize requests unanswered`,
      );

      const received = new Set(load.refreshTokens().map(sha256));
      const stored = new Set(tokens.map((t) => t.hash));
      for (const h of received) assert.ok(stored.has(h), 'every refresh token received is stored');
      const unknownTokens = tokens.filter((t) => !received.has(t.hash));
      const unanswered = pendingOf('redeem').length + pendingOf('refresh').length;
      assert.ok(
        unknownTokens.length <= unanswered,
        `${unknownTokens.length} refresh tokens no client received, ${unanswered} token requests unanswered`,
      );
      const liveByGrant = new Map<string, number>();
      for (const t of tokens) {
        const g = grantById.get(t.grant_id);
        assert.ok(
          g && !isNull(g.code_consumed_at),
          'a refresh token belongs to a grant whose code was spent',
        );
        if (isNull(t.consumed_at)) liveByGrant.set(t.grant_id, (liveByGrant.get(t.grant_id) ?? 0) + 1);
        else
          assert.ok(
            t.successor !== null && !isNull(t.grace_until),
            'a consumed refresh token carries its successor answer (no half-written rotation)',
          );
      }
      for (const [grant, live] of liveByGrant) assert.equal(live, 1, `live refresh tokens of grant ${grant}`);
      // A code redemption is two commits (the code spent, then its refresh token): a spent code
      // without a refresh token can only be one whose redemption was cut off by the crash.
      const withTokens = new Set(tokens.map((t) => t.grant_id));
      const spentBare = grants.filter((g) => !isNull(g.code_consumed_at) && !withTokens.has(g.id));
      assert.ok(
        spentBare.length <= pendingOf('redeem').length,
        `${spentBare.length} spent codes without tokens, ${pendingOf('redeem').length} redemptions unanswered`,
      );

      // Restart on the same database and port (the same issuer).
      const second = await startServe(b.db, port);
      servers.push(second);
      console.log(`${b.name}: restarted ${Date.now() - killedAt} ms after the kill`);
      const active = async (token: string, what: string) => {
        const r = await introspect(base, seeded.service, token);
        assert.equal(r.status, 200, JSON.stringify(r.json));
        assert.equal(r.json.active, true, `${what} introspects active`);
      };
      for (const t of all((s) => s.accessTokens))
        await active(t.value, 'an access token received before the kill');
      for (const f of families)
        if (!inFlight.has(f)) await active(f.latest, 'the latest refresh token of a family');

      for (const c of held) {
        const r = await redeem(base, seeded.app, c.value.code, c.value.verifier);
        assert.equal(r.status, 200, `a held code redeems: ${JSON.stringify(r.json)}`);
        await active(String(r.json.access_token), 'the access token of a held code');
        await active(String(r.json.refresh_token), 'the refresh token of a held code');
      }
      for (const p of pendingOf('refresh')) {
        const { family, token } = p as { family: Family; token: string };
        const r = await refresh(base, seeded.app, token);
        assert.equal(r.status, 200, `a refresh cut off by the crash, repeated: ${JSON.stringify(r.json)}`);
        await active(String(r.json.access_token), 'the access token of a repeated refresh');
        family.latest = String(r.json.refresh_token);
      }
      for (const f of families) {
        const r = await refresh(base, seeded.app, f.latest);
        assert.equal(r.status, 200, `the family's latest refresh token works: ${JSON.stringify(r.json)}`);
      }
      for (const p of pendingOf('redeem')) {
        const { code } = p as { code: Code };
        const r = await redeem(base, seeded.app, code.code, code.verifier);
        if (r.status !== 200) {
          assert.equal(r.status, 400);
          assert.equal(r.json.error, 'invalid_grant');
        }
      }
      for (const st of states) {
        const step = await st.browser.get(
          authorizeRequest(base, seeded.app, { scope: 'openid offline_access' }).url,
        );
        assert.equal(step.status, 303);
        assert.ok(
          step.location?.startsWith(seeded.app.redirectUri),
          `${st.user}'s session survived the crash`,
        );
      }
      assert.doesNotMatch(first.output() + second.output(), /uncaught|unhandled/i);
    });
  });
}

describe('A crash loses nothing', () => {
  crashSuite('SQLite', async () => sqliteBackend(), false);
  crashSuite('PostgreSQL', pgBackend, PG_SKIP);
});

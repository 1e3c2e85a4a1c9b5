/**
 * The refresh-token grace window with the defaults (docs/security.md, "Refresh-token grace"):
 * two tabs refreshing one token at once stay signed in, reuse after the window still revokes the
 * family, and a retry inside the window gets the successor only from the same client
 * authenticated the same way. Real HTTP, on SQLite and (LATCHKEY_TEST_POSTGRES) PostgreSQL,
 * where the race is a real one across a connection pool. Time moves with the test clock.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { sha256 } from '../../src/crypto.js';
import { openDatabase } from '../../src/storage/connect.js';
import { storesFor } from '../../src/storage/index.js';
import { migrate } from '../../src/storage/migrations.js';
import { createTempDatabase, PG_SKIP } from '../helpers/databases.js';
import { basic, obtainTokens, postForm, withServer } from '../helpers/flow.js';
import { createClient, tempDir } from '../helpers/server.js';

type App = { clientId: string; secret?: string; redirectUri: string };
type Auth = 'none' | 'client_secret_basic' | 'client_secret_post';

const backends = [
  { name: 'sqlite', skip: false as const },
  { name: 'postgres', skip: PG_SKIP },
];

for (const backend of backends) {
  describe(`refresh-token grace with the defaults (${backend.name})`, { skip: backend.skip }, () => {
    const s = withServer({
      ...(backend.name === 'postgres' ? { postgres: 'latchkey_grace', overrides: { pgPoolSize: 10 } } : {}),
      users: ['alice'],
      discover: true,
    });
    let api: App;

    before(async () => {
      if (backend.name === 'postgres') assert.equal(s.server.ctx.storage.dialect, 'postgres');
      api = await createClient(s.server, { type: 'service' });
    });

    /** POST /token grant_type=refresh_token, authenticated as `how` (default: as the app must). */
    const refresh = (app: App, token: string, how?: Auth) => {
      const method: Auth = how ?? (app.secret ? 'client_secret_basic' : 'none');
      const form: Record<string, string> = { grant_type: 'refresh_token', refresh_token: token };
      if (method === 'client_secret_basic')
        return postForm(`${s.server.url}/token`, form, { authorization: basic(app.clientId, app.secret!) });
      form['client_id'] = app.clientId;
      if (method === 'client_secret_post') form['client_secret'] = app.secret!;
      return postForm(`${s.server.url}/token`, form);
    };
    /** RFC 7662 introspection by a service application (an API), which may see every token. */
    const active = async (token: string) =>
      (
        await postForm(
          `${s.server.url}/introspect`,
          { token },
          { authorization: basic(api.clientId, api.secret!) },
        )
      ).json['active'];
    const reuseEvents = async (clientId: string) =>
      (await s.server.ctx.audit.list({ type: 'refresh_reuse_detected', clientId })).length;
    const grantOf = async (token: string) => {
      const rt = await s.server.ctx.storage.refreshTokens.get(sha256(token));
      return rt && s.server.ctx.storage.grants.getGrant(rt.grantId);
    };

    it('a new application follows the server default: 30 s', async () => {
      const app = await createClient(s.server);
      const stored = await s.server.ctx.storage.clients.get(app.clientId);
      assert.equal(stored?.refreshGrace, null, 'no setting of its own');
      assert.equal(s.server.ctx.config.refreshGraceSec, 30);
    });

    it('20 concurrent refreshes of one token: all succeed with one successor, which works', async () => {
      const app = await createClient(s.server);
      const { tokens } = await obtainTokens(s.server, s.as, app);
      const results = await Promise.all(
        Array.from({ length: 20 }, () => refresh(app, tokens.refresh_token!)),
      );
      assert.deepEqual(
        results.map((r) => r.status),
        Array(20).fill(200),
        JSON.stringify(results.map((r) => r.json['error_description'] ?? r.json['error'])),
      );
      const successors = new Set(results.map((r) => r.json['refresh_token']));
      assert.equal(successors.size, 1, 'one rotation, the same successor for everyone');
      assert.equal(new Set(results.map((r) => r.json['access_token'])).size, 1, 'the identical response');
      const [successor] = [...successors] as string[];
      assert.ok(successor && successor !== tokens.refresh_token);
      assert.equal(await active(String(results[0]!.json['access_token'])), true);
      assert.equal(await reuseEvents(app.clientId), 0, 'no reuse was detected');
      const next = await refresh(app, successor);
      assert.equal(next.status, 200, JSON.stringify(next.json));
      assert.equal(await active(String(next.json['access_token'])), true);
    });

    it('the original token after the grace (30 s): invalid_grant and the whole family is revoked', async () => {
      const app = await createClient(s.server);
      const { tokens } = await obtainTokens(s.server, s.as, app);
      const first = await refresh(app, tokens.refresh_token!);
      assert.equal(first.status, 200);
      s.server.clock.advanceSeconds(29);
      const inside = await refresh(app, tokens.refresh_token!);
      assert.equal(inside.status, 200, 'still inside the window');
      assert.deepEqual(inside.json, first.json);
      s.server.clock.advanceSeconds(2);
      const late = await refresh(app, tokens.refresh_token!);
      assert.equal(late.status, 400);
      assert.equal(late.json['error'], 'invalid_grant');
      assert.equal(late.json['refresh_token'], undefined);
      // The family is gone: the successor and its access token no longer work.
      const successor = await refresh(app, String(first.json['refresh_token']));
      assert.equal(successor.json['error'], 'invalid_grant');
      assert.equal(await active(String(first.json['access_token'])), false);
      assert.notEqual((await grantOf(tokens.refresh_token!))?.revokedAt ?? null, null);
      assert.equal(await reuseEvents(app.clientId), 1);
    });

    it('a retry inside the grace from another client gets invalid_grant and no successor', async () => {
      const app = await createClient(s.server);
      const other = await createClient(s.server);
      const { tokens } = await obtainTokens(s.server, s.as, app);
      const first = await refresh(app, tokens.refresh_token!);
      assert.equal(first.status, 200);
      s.server.clock.advanceSeconds(5);
      const stranger = await refresh(other, tokens.refresh_token!);
      assert.equal(stranger.status, 400);
      assert.equal(stranger.json['error'], 'invalid_grant');
      assert.equal(stranger.json['refresh_token'], undefined);
      assert.equal(stranger.json['access_token'], undefined);
      // Nothing was revoked: the rightful client's retry still gets its successor.
      const retry = await refresh(app, tokens.refresh_token!);
      assert.equal(retry.status, 200);
      assert.equal(retry.json['refresh_token'], first.json['refresh_token']);
    });

    it('a retry inside the grace with another client authentication method gets invalid_grant and no successor', async () => {
      const web = await createClient(s.server, { type: 'web', redirectUris: ['https://web.example/cb'] });
      const { tokens } = await obtainTokens(s.server, s.as, web);
      const first = await refresh(web, tokens.refresh_token!, 'client_secret_basic');
      assert.equal(first.status, 200, JSON.stringify(first.json));
      s.server.clock.advanceSeconds(5);
      const differently = await refresh(web, tokens.refresh_token!, 'client_secret_post');
      assert.equal(differently.status, 400);
      assert.equal(differently.json['error'], 'invalid_grant');
      assert.equal(differently.json['refresh_token'], undefined);
      assert.equal(differently.json['access_token'], undefined);
      const same = await refresh(web, tokens.refresh_token!, 'client_secret_basic');
      assert.equal(same.status, 200);
      assert.deepEqual(same.json, first.json);
      assert.equal(await active(String(first.json['access_token'])), true);
      assert.equal(await reuseEvents(web.clientId), 0);
    });

    it('racing retries with two authentication methods: only the rotation’s method gets the successor', async () => {
      const web = await createClient(s.server, { type: 'web', redirectUris: ['https://web.example/cb'] });
      const { tokens } = await obtainTokens(s.server, s.as, web);
      const methods: Auth[] = Array.from({ length: 20 }, (_, i) =>
        i % 2 === 0 ? 'client_secret_basic' : 'client_secret_post',
      );
      const results = await Promise.all(methods.map((m) => refresh(web, tokens.refresh_token!, m)));
      const ok = results.map((r, i) => ({ r, m: methods[i]! })).filter((x) => x.r.status === 200);
      const refused = results.map((r, i) => ({ r, m: methods[i]! })).filter((x) => x.r.status !== 200);
      assert.equal(ok.length, 10, JSON.stringify(results.map((r) => r.status)));
      assert.equal(new Set(ok.map((x) => x.m)).size, 1, 'every success used the winner’s method');
      assert.equal(new Set(ok.map((x) => x.r.json['refresh_token'])).size, 1, 'one successor');
      for (const x of refused) {
        assert.notEqual(x.m, ok[0]!.m);
        assert.equal(x.r.json['error'], 'invalid_grant');
        assert.equal(x.r.json['refresh_token'], undefined);
      }
      assert.equal((await refresh(web, String(ok[0]!.r.json['refresh_token']))).status, 200);
    });

    it('application grace 0: a second refresh of the same token revokes the family', async () => {
      const app = await createClient(s.server);
      await s.server.ctx.clients.update(app.clientId, { refreshGrace: 0 });
      const { tokens } = await obtainTokens(s.server, s.as, app);
      const first = await refresh(app, tokens.refresh_token!);
      assert.equal(first.status, 200);
      const second = await refresh(app, tokens.refresh_token!);
      assert.equal(second.status, 400);
      assert.equal(second.json['error'], 'invalid_grant');
      assert.equal(second.json['refresh_token'], undefined);
      assert.equal((await refresh(app, String(first.json['refresh_token']))).json['error'], 'invalid_grant');
      assert.equal(await active(String(first.json['access_token'])), false);
      assert.equal(await reuseEvents(app.clientId), 1);
    });

    it('an application’s own grace overrides the default, and null goes back to it', async () => {
      const app = await createClient(s.server);
      await s.server.ctx.clients.update(app.clientId, { refreshGrace: 5 });
      const a = await obtainTokens(s.server, s.as, app);
      assert.equal((await refresh(app, a.tokens.refresh_token!)).status, 200);
      s.server.clock.advanceSeconds(6);
      assert.equal((await refresh(app, a.tokens.refresh_token!)).json['error'], 'invalid_grant', 'past 5 s');

      await s.server.ctx.clients.update(app.clientId, { refreshGrace: null });
      assert.equal((await s.server.ctx.storage.clients.get(app.clientId))?.refreshGrace, null);
      const b = await obtainTokens(s.server, s.as, app);
      const first = await refresh(app, b.tokens.refresh_token!);
      s.server.clock.advanceSeconds(20);
      const retry = await refresh(app, b.tokens.refresh_token!);
      assert.equal(retry.status, 200, 'inside the server default of 30 s');
      assert.equal(retry.json['refresh_token'], first.json['refresh_token']);
    });
  });
}

describe('refresh-token grace: LATCHKEY_REFRESH_GRACE sets the server default', () => {
  const s = withServer({ overrides: { refreshGraceSec: 0 }, users: ['alice'], discover: true });

  const refresh = (clientId: string, token: string) =>
    postForm(`${s.server.url}/token`, {
      grant_type: 'refresh_token',
      client_id: clientId,
      refresh_token: token,
    });

  it('0 turns it off for applications without a setting; an application’s own value still applies', async () => {
    const off = await createClient(s.server);
    const a = await obtainTokens(s.server, s.as, off);
    assert.equal((await refresh(off.clientId, a.tokens.refresh_token!)).status, 200);
    assert.equal((await refresh(off.clientId, a.tokens.refresh_token!)).json['error'], 'invalid_grant');

    const own = await createClient(s.server);
    await s.server.ctx.clients.update(own.clientId, { refreshGrace: 10 });
    const b = await obtainTokens(s.server, s.as, own);
    const first = await refresh(own.clientId, b.tokens.refresh_token!);
    const retry = await refresh(own.clientId, b.tokens.refresh_token!);
    assert.equal(retry.status, 200);
    assert.equal(retry.json['refresh_token'], first.json['refresh_token']);
  });
});

const upgradeBackends = [
  {
    name: 'sqlite',
    skip: false as const,
    async url() {
      const dir = tempDir('latchkey-upgrade-0007-');
      return { url: join(dir, 'old.db'), drop: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  { name: 'postgres', skip: PG_SKIP, url: () => createTempDatabase('latchkey_grace_up') },
];

for (const backend of upgradeBackends) {
  describe(`upgrade across 0007 (refresh grace follows the server default): ${backend.name}`, {
    skip: backend.skip,
  }, () => {
    it('a stored 0 (the old default) becomes null; a chosen grace stays; new rows may be null', async () => {
      const target = await backend.url();
      const opened = await openDatabase(target.url);
      try {
        await migrate(opened.db, { to: '0006_signing_key_ec_part' });
        const row = (id: string, grace: number) => ({
          client_id: id,
          name: id,
          type: 'native',
          redirect_uris: '["http://127.0.0.1/cb"]',
          post_logout_redirect_uris: '[]',
          grant_types: '["authorization_code","refresh_token"]',
          token_endpoint_auth_method: 'none',
          secret_hash: null,
          consent: 'none',
          require_pkce: 1,
          access_token_ttl: null,
          refresh_token_ttl: null,
          refresh_idle_ttl: null,
          refresh_grace: grace,
          rotate_refresh_tokens: 1,
          allowed_scopes: '',
          created_at: 1,
          updated_at: 1,
        });
        // biome-ignore lint/suspicious/noExplicitAny: the pre-0007 schema is not the typed one
        const old = opened.db as any;
        await old
          .insertInto('clients')
          .values([row('old-default', 0), row('chosen', 15)])
          .execute();
        await migrate(opened.db, { to: '0007_refresh_grace_server_default' });
        const s = storesFor(opened.db);
        assert.equal((await s.clients.get('old-default'))?.refreshGrace, null);
        assert.equal((await s.clients.get('chosen'))?.refreshGrace, 15);
        const updated = await s.clients.update('chosen', { refreshGrace: 0, updatedAt: 2 });
        assert.equal(updated?.refreshGrace, 0, 'an explicit 0 (off) can be stored again');
        const fresh = { ...(await s.clients.get('old-default'))!, clientId: 'fresh', refreshGrace: null };
        await s.clients.create(fresh);
        assert.equal((await s.clients.get('fresh'))?.refreshGrace, null);
      } finally {
        await opened.close();
        await target.drop();
      }
    });
  });
}

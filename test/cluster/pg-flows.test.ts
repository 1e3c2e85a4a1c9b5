/**
 * The token lifecycle through HTTP on a PostgreSQL-backed server: every query the flows use
 * runs on PostgreSQL, with real concurrency (a connection pool, not one SQLite connection).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type * as oauth from 'oauth4webapi';
import { authorizeThroughBrowser, Browser } from '../helpers/browser.js';
import { createTempDatabase, PG_SKIP, type TempPgDatabase } from '../helpers/databases.js';
import { authorizeRequest, codeFrom, discover, obtainTokens, postForm, redeem } from '../helpers/flow.js';
import { createClient, createUser, startTestServer, type TestServer } from '../helpers/server.js';

/** The scope of this file's authorization requests. */
const PROFILE = { scope: 'openid profile' };

describe('token lifecycle on PostgreSQL', { skip: PG_SKIP }, () => {
  let db: TempPgDatabase;
  let server: TestServer;
  let as: oauth.AuthorizationServer;

  before(async () => {
    db = await createTempDatabase('latchkey_flows');
    server = await startTestServer({ overrides: { database: db.url, pgPoolSize: 10 } });
    assert.equal(server.ctx.storage.dialect, 'postgres');
    as = await discover(server);
    await createUser(server, 'alice');
  });
  after(async () => {
    await server?.cleanup();
    await db?.drop();
  });

  const refresh = (clientId: string, token: string) =>
    postForm(`${server.url}/token`, {
      grant_type: 'refresh_token',
      refresh_token: token,
      client_id: clientId,
    });

  test('code → tokens → rotation; 20 racing refreshes without grace: one wins, reuse revokes the family', async () => {
    const app = await createClient(server, { consent: 'none' });
    await server.ctx.clients.update(app.clientId, { refreshGrace: 0 });
    const { tokens } = await obtainTokens(server, as, app);
    assert.ok(tokens.refresh_token);
    const info = await fetch(`${server.url}/userinfo`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    assert.equal(info.status, 200);

    const rotated = await refresh(app.clientId, tokens.refresh_token);
    assert.equal(rotated.status, 200, JSON.stringify(rotated.json));
    const next = String(rotated.json.refresh_token);
    assert.notEqual(next, tokens.refresh_token);

    const results = await Promise.all(Array.from({ length: 20 }, () => refresh(app.clientId, next)));
    const ok = results.filter((r) => r.status === 200);
    assert.equal(ok.length, 1, results.map((r) => r.status).join(','));
    for (const r of results.filter((x) => x.status !== 200)) assert.equal(r.json.error, 'invalid_grant');
    // The family is revoked: even the winner's new refresh token is dead.
    const afterReuse = await refresh(app.clientId, String(ok[0]?.json.refresh_token));
    assert.equal(afterReuse.status, 400);
    assert.equal(afterReuse.json.error, 'invalid_grant');
    const reuse = await server.ctx.audit.list({ type: 'refresh_reuse_detected', clientId: app.clientId });
    assert.ok(reuse.length >= 1);
  });

  test('20 racing refreshes inside a grace window all get the one successor', async () => {
    const app = await createClient(server, { consent: 'none' });
    await server.ctx.clients.update(app.clientId, { refreshGrace: 30 });
    const { tokens } = await obtainTokens(server, as, app);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => refresh(app.clientId, tokens.refresh_token!)),
    );
    assert.deepEqual(
      results.map((r) => r.status),
      Array(20).fill(200),
    );
    const successors = new Set(results.map((r) => r.json.refresh_token));
    assert.equal(successors.size, 1, 'one rotation, the same answer replayed');
    const grants = await server.ctx.audit.list({ type: 'refresh_reuse_detected', clientId: app.clientId });
    assert.equal(grants.length, 0);
  });

  test('revoking a refresh token ends its family; access-token revocation shows in userinfo', async () => {
    const app = await createClient(server, { consent: 'none' });
    const { tokens } = await obtainTokens(server, as, app);
    const revoked = await postForm(`${server.url}/revoke`, {
      token: tokens.refresh_token!,
      client_id: app.clientId,
    });
    assert.equal(revoked.status, 200);
    const r = await refresh(app.clientId, tokens.refresh_token!);
    assert.equal(r.json.error, 'invalid_grant');
    const info = await fetch(`${server.url}/userinfo`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    assert.equal(info.status, 401, 'the grant is revoked, so are its access tokens');
  });

  test('consent is remembered on PostgreSQL: the second authorization skips the consent page', async () => {
    const app = await createClient(server, { consent: 'required' });
    const browser = new Browser(server.url);
    const p1 = authorizeRequest(server.url, app, PROFILE);
    const first = await authorizeThroughBrowser(browser, p1.url, { consent: 'allow' });
    assert.equal(first.status, 303);
    codeFrom(first.location, p1.state);
    const p2 = authorizeRequest(server.url, app, PROFILE);
    const second = await browser.get(p2.url);
    assert.equal(second.status, 303);
    assert.ok(
      second.location?.startsWith(app.redirectUri),
      `straight back to the client: ${second.location}`,
    );
    const code = codeFrom(second.location, p2.state);
    const res = await redeem(server.url, app, code, p2.verifier);
    assert.equal(res.status, 200);
  });
});

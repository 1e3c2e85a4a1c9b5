/**
 * Refresh tokens (RFC 6749 §6, RFC 9700 §4.14): rotation, reuse revokes the family, the grace
 * window replays the identical response, racing presentations, scope narrowing, lifetimes.
 *
 * Final states documented here:
 * - without grace (the application's grace set to 0): of N racing presentations exactly one
 *   rotates; the others are reuse, so they get invalid_grant AND the family (including the
 *   winner's new tokens) ends revoked;
 * - with grace (the default, 30 s; refresh-grace.test.ts covers the defaults): exactly one
 *   rotation happens and every presentation gets that same response; nothing is revoked.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { obtainTokens, postForm, withServer } from '../helpers/flow.js';
import { createClient } from '../helpers/server.js';

describe('refresh tokens', () => {
  const s = withServer({ users: ['alice'], discover: true });

  const refresh = (clientId: string, token: string, extra: Record<string, string> = {}) =>
    postForm(`${s.server.url}/token`, {
      grant_type: 'refresh_token',
      client_id: clientId,
      refresh_token: token,
      ...extra,
    });
  const userinfo = (at: string) =>
    fetch(`${s.server.url}/userinfo`, { headers: { authorization: `Bearer ${at}` } });
  const setGrace = (clientId: string, sec: number) =>
    s.server.ctx.clients.update(clientId, { refreshGrace: sec });

  it('advertises the grant and issues a refresh token only with offline_access', async () => {
    assert.ok(s.as.grant_types_supported?.includes('refresh_token'));
    const app = await createClient(s.server);
    const without = await obtainTokens(s.server, s.as, app, { scope: 'openid' });
    assert.equal(without.tokens.refresh_token, undefined);
    const withIt = await obtainTokens(s.server, s.as, app);
    assert.ok(withIt.tokens.refresh_token);
    assert.ok(withIt.tokens.refresh_token.length >= 43);
  });

  it('rotates: a new access, ID and refresh token; the old refresh token is spent', async () => {
    const app = await createClient(s.server);
    const { tokens } = await obtainTokens(s.server, s.as, app);
    const r = await refresh(app.clientId, tokens.refresh_token!);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assert.ok(r.json['access_token'] && r.json['id_token'] && r.json['refresh_token']);
    assert.notEqual(r.json['refresh_token'], tokens.refresh_token);
    assert.equal(r.json['scope'], 'openid profile email offline_access');
    const again = await refresh(app.clientId, String(r.json['refresh_token']));
    assert.equal(again.status, 200);
  });

  it('reuse after rotation (no grace) revokes the whole family', async () => {
    const app = await createClient(s.server);
    await setGrace(app.clientId, 0);
    const { tokens } = await obtainTokens(s.server, s.as, app);
    const first = await refresh(app.clientId, tokens.refresh_token!);
    assert.equal(first.status, 200);
    const sibling = String(first.json['access_token']);
    assert.equal((await userinfo(sibling)).status, 200);
    const reuse = await refresh(app.clientId, tokens.refresh_token!);
    assert.equal(reuse.status, 400);
    assert.equal(reuse.json['error'], 'invalid_grant');
    // The family is gone: the successor refresh token and the sibling access token are refused.
    assert.equal(
      (await refresh(app.clientId, String(first.json['refresh_token']))).json['error'],
      'invalid_grant',
    );
    const ui = await userinfo(sibling);
    assert.equal(ui.status, 401);
    assert.match(ui.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    const events = await s.server.ctx.audit.list({ type: 'refresh_reuse_detected', clientId: app.clientId });
    assert.equal(events.length, 1);
    assert.ok(events[0]!.detail?.['family']);
  });

  it('inside the grace window a retry returns the identical response, mints and revokes nothing', async () => {
    const app = await createClient(s.server);
    await setGrace(app.clientId, 30);
    const { tokens } = await obtainTokens(s.server, s.as, app);
    const first = await refresh(app.clientId, tokens.refresh_token!);
    s.server.clock.advanceSeconds(10);
    const retry = await refresh(app.clientId, tokens.refresh_token!);
    assert.equal(retry.status, 200);
    assert.deepEqual(retry.json, first.json);
    assert.equal((await userinfo(String(first.json['access_token']))).status, 200);
    // After the window it is reuse.
    s.server.clock.advanceSeconds(25);
    const late = await refresh(app.clientId, tokens.refresh_token!);
    assert.equal(late.json['error'], 'invalid_grant');
    assert.equal((await userinfo(String(first.json['access_token']))).status, 401);
  });

  it('20 racing presentations without grace: one rotation, the rest invalid_grant, family revoked', async () => {
    const app = await createClient(s.server);
    await setGrace(app.clientId, 0);
    const { tokens } = await obtainTokens(s.server, s.as, app);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => refresh(app.clientId, tokens.refresh_token!)),
    );
    const ok = results.filter((r) => r.status === 200);
    assert.equal(ok.length, 1, 'exactly one rotation');
    assert.ok(results.filter((r) => r.status !== 200).every((r) => r.json['error'] === 'invalid_grant'));
    assert.equal(
      (await userinfo(String(ok[0]!.json['access_token']))).status,
      401,
      'the family ends revoked',
    );
    assert.equal(
      (await refresh(app.clientId, String(ok[0]!.json['refresh_token']))).json['error'],
      'invalid_grant',
    );
  });

  it('20 racing presentations with grace: one rotation, everyone gets the same response, nothing revoked', async () => {
    const app = await createClient(s.server);
    await setGrace(app.clientId, 30);
    const { tokens } = await obtainTokens(s.server, s.as, app);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => refresh(app.clientId, tokens.refresh_token!)),
    );
    assert.ok(
      results.every((r) => r.status === 200),
      JSON.stringify(results.map((r) => r.json['error'])),
    );
    const distinct = new Set(results.map((r) => r.json['refresh_token']));
    assert.equal(distinct.size, 1, 'one successor');
    assert.equal((await userinfo(String(results[0]!.json['access_token']))).status, 200);
    assert.equal((await refresh(app.clientId, String(results[0]!.json['refresh_token']))).status, 200);
  });

  it('scope may be narrowed, never widened', async () => {
    const app = await createClient(s.server);
    const { tokens } = await obtainTokens(s.server, s.as, app, { scope: 'openid email offline_access' });
    const narrow = await refresh(app.clientId, tokens.refresh_token!, { scope: 'openid' });
    assert.equal(narrow.status, 200);
    assert.equal(narrow.json['scope'], 'openid');
    const wide = await refresh(app.clientId, String(narrow.json['refresh_token']), {
      scope: 'openid profile',
    });
    assert.equal(wide.status, 400);
    assert.equal(wide.json['error'], 'invalid_scope');
    // The successor keeps the original scope.
    const full = await refresh(app.clientId, String(narrow.json['refresh_token']));
    assert.equal(full.json['scope'], 'openid email offline_access');
  });

  it('expires by idle and absolute lifetime', async () => {
    const app = await createClient(s.server);
    await s.server.ctx.clients.update(app.clientId, { refreshIdleTtl: 600, refreshTokenTtl: 3600 });
    const a = await obtainTokens(s.server, s.as, app);
    s.server.clock.advanceSeconds(601);
    const idle = await refresh(app.clientId, a.tokens.refresh_token!);
    assert.equal(idle.json['error'], 'invalid_grant');
    const b = await obtainTokens(s.server, s.as, app);
    let rt = b.tokens.refresh_token!;
    // Refreshing every 500 s keeps it alive (idle 600 s) until the family's 3600 s are up.
    for (let i = 1; i <= 10; i++) {
      s.server.clock.advanceSeconds(500);
      const r = await refresh(app.clientId, rt);
      if (r.status !== 200) {
        assert.equal(r.json['error'], 'invalid_grant');
        assert.equal(i, 8, `absolute lifetime ends the family after 3600 s (ended at ${i * 500} s)`);
        return;
      }
      rt = String(r.json['refresh_token']);
    }
    assert.fail('the family should have expired');
  });

  it('a refresh token of another client, or garbage, is invalid_grant', async () => {
    const app = await createClient(s.server);
    const other = await createClient(s.server);
    const { tokens } = await obtainTokens(s.server, s.as, app);
    assert.equal((await refresh(other.clientId, tokens.refresh_token!)).json['error'], 'invalid_grant');
    assert.equal((await refresh(app.clientId, 'x'.repeat(600))).json['error'], 'invalid_grant');
    assert.equal((await refresh(app.clientId, '')).json['error'], 'invalid_request');
  });

  it('clients with refresh tokens switched off get none and cannot use the grant', async () => {
    const app = await createClient(s.server);
    await s.server.ctx.clients.update(app.clientId, { refreshTokens: false });
    const { tokens } = await obtainTokens(s.server, s.as, app);
    assert.equal(tokens.refresh_token, undefined);
    const r = await refresh(app.clientId, 'whatever');
    assert.equal(r.json['error'], 'unauthorized_client');
  });
});

/** RP-initiated logout, signing-key rotation, and disabling a user. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { type Browser, formOf } from '../helpers/browser.js';
import { authorizeQuery, EXAMPLE_CHALLENGE, obtainTokens, postForm, withServer } from '../helpers/flow.js';
import { createClient } from '../helpers/server.js';

describe('logout, key rotation, disabling users', () => {
  const s = withServer({ users: ['alice', 'bob'], discover: true });

  const postLogout = 'http://127.0.0.1/logged-out';
  const app = () => createClient(s.server, { postLogoutRedirectUris: [postLogout] });
  const isSignedIn = async (browser: Browser, clientId: string, redirectUri: string) => {
    const url = `/authorize?${authorizeQuery({ clientId, redirectUri }, EXAMPLE_CHALLENGE, { scope: 'openid' })}`;
    const r = await browser.get(url);
    return r.location?.startsWith(redirectUri) === true;
  };

  it('discovery advertises end_session_endpoint', () => {
    assert.equal(s.as.end_session_endpoint, `${s.server.issuer}/logout`);
  });

  it('with a valid (even expired) id_token_hint: ends the session and redirects with state', async () => {
    const a = await app();
    const { tokens, browser } = await obtainTokens(s.server, s.as, a);
    assert.ok(await isSignedIn(browser, a.clientId, a.redirectUri));
    s.server.clock.advanceSeconds(3700); // the ID token has expired; the session is idle-limited at 2 h
    const r = await browser.get(
      `/logout?${new URLSearchParams({ id_token_hint: tokens.id_token!, post_logout_redirect_uri: postLogout, state: 's t' })}`,
    );
    assert.equal(r.status, 303);
    assert.equal(r.location, `${postLogout}?state=s+t`);
    assert.equal(await isSignedIn(browser, a.clientId, a.redirectUri), false);
    assert.equal((await s.server.ctx.audit.list({ type: 'logout' })).length >= 1, true);
  });

  it('without a hint: a confirmation page, then sign-out (CSRF-checked)', async () => {
    const a = await app();
    const { browser } = await obtainTokens(s.server, s.as, a);
    const page = await browser.get(
      `/logout?client_id=${a.clientId}&post_logout_redirect_uri=${encodeURIComponent(postLogout)}`,
    );
    assert.equal(page.status, 200);
    assert.match(page.body, /Sign out\?/);
    const { csrf, actions } = formOf(page.body);
    const forged = await browser.post(actions[0]!, { csrf: 'forged', client_id: a.clientId });
    assert.equal(forged.status, 403);
    assert.ok(await isSignedIn(browser, a.clientId, a.redirectUri));
    const done = await browser.post(actions[0]!, {
      csrf,
      client_id: a.clientId,
      post_logout_redirect_uri: postLogout,
    });
    assert.equal(done.status, 303);
    assert.equal(done.location, postLogout);
    assert.equal(await isSignedIn(browser, a.clientId, a.redirectUri), false);
  });

  it('an unregistered post-logout URI or a forged hint gets an error page, never a redirect', async () => {
    const a = await app();
    const { tokens, browser } = await obtainTokens(s.server, s.as, a);
    const bad = await browser.get(
      `/logout?id_token_hint=${tokens.id_token}&post_logout_redirect_uri=${encodeURIComponent('https://evil.example/')}`,
    );
    assert.equal(bad.status, 400);
    assert.equal(bad.location, null);
    const forged = `${tokens.id_token!.split('.').slice(0, 2).join('.')}.${'A'.repeat(342)}`;
    const f = await browser.get(
      `/logout?id_token_hint=${forged}&post_logout_redirect_uri=${encodeURIComponent(postLogout)}`,
    );
    assert.equal(f.status, 400);
    assert.equal(f.location, null);
    assert.ok(await isSignedIn(browser, a.clientId, a.redirectUri), 'nothing ended');
  });

  it('key rotation: published at once, signing after the delay, old tokens still verify', async () => {
    const a = await createClient(s.server);
    const before1 = await obtainTokens(s.server, s.as, a);
    const oldKid = decodeProtectedHeader(before1.tokens.access_token).kid;
    const key = await s.server.ctx.keys.rotate();
    s.server.clock.advanceSeconds(6); // past the key cache, before the publication delay
    const jwks = (await (await fetch(`${s.server.url}/jwks`)).json()) as { keys: { kid: string }[] };
    assert.ok(
      jwks.keys.some((k) => k.kid === key.kid),
      'new key published at once',
    );
    assert.ok(
      jwks.keys.some((k) => k.kid === oldKid),
      'old key still published',
    );
    const during = await obtainTokens(s.server, s.as, a);
    assert.equal(
      decodeProtectedHeader(during.tokens.access_token).kid,
      oldKid,
      'not yet signing with the new key',
    );
    s.server.clock.advanceSeconds(s.server.ctx.config.keyPublicationDelaySec); // past the delay (120 s)
    const after1 = await obtainTokens(s.server, s.as, a);
    assert.equal(decodeProtectedHeader(after1.tokens.access_token).kid, key.kid);
    assert.equal(decodeProtectedHeader(after1.tokens.id_token!).kid, key.kid);
    const remote = createRemoteJWKSet(new URL(`${s.server.url}/jwks`));
    const now = new Date(s.server.clock.now());
    await jwtVerify(before1.tokens.access_token, remote, { issuer: s.server.issuer, currentDate: now });
    await jwtVerify(after1.tokens.access_token, remote, { issuer: s.server.issuer, currentDate: now });
    // The old key leaves the JWKS once everything it signed has expired.
    s.server.clock.advanceSeconds(86400 + 60);
    const later = (await (await fetch(`${s.server.url}/jwks`)).json()) as { keys: { kid: string }[] };
    assert.ok(!later.keys.some((k) => k.kid === oldKid));
    assert.ok(later.keys.some((k) => k.kid === key.kid));
  });

  it('disabling a user ends their sessions and revokes their refresh tokens', async () => {
    const a = await createClient(s.server);
    const { tokens, browser } = await obtainTokens(s.server, s.as, a, { username: 'bob' });
    const r0 = await s.server.ctx.users.setDisabled('bob', true);
    assert.equal(r0?.sessionsEnded, 1);
    assert.ok((r0?.grantsRevoked ?? 0) >= 1);
    assert.equal(await isSignedIn(browser, a.clientId, a.redirectUri), false);
    const r = await postForm(`${s.server.url}/token`, {
      grant_type: 'refresh_token',
      client_id: a.clientId,
      refresh_token: tokens.refresh_token!,
    });
    assert.equal(r.json['error'], 'invalid_grant');
    const ui = await fetch(`${s.server.url}/userinfo`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    assert.equal(ui.status, 401);
  });
});

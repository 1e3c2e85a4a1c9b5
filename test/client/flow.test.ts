/**
 * The client SDK against a real Latchkey server over HTTP: discovery → authorize URL → sign-in
 * through the real HTML form → loopback receiver → code exchange (ID token checked with jose)
 * → refresh with rotation (concurrent calls coalesced) → the sample API with the access token
 * → userinfo → revocation → logout URL.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  LatchkeyClient,
  LatchkeyError,
  startLoopbackReceiver,
  type TokenSet,
} from '../../src/client/index.js';
import { buildSampleApi } from '../../src/resource/sample-api.js';
import { authorizeThroughBrowser, Browser } from '../helpers/browser.js';
import { withServer } from '../helpers/flow.js';
import { createClient } from '../helpers/server.js';

const isCode = (code: string) => (e: unknown) => e instanceof LatchkeyError && e.code === code;

describe('client SDK: the full flow against a real server', () => {
  const s = withServer({ users: ['alice'] });
  let tokenRequests = 0;
  const countingFetch: typeof fetch = (input, init) => {
    if (String(input instanceof Request ? input.url : input).endsWith('/token')) tokenRequests++;
    return fetch(input, init);
  };

  /** Signs in through the real form and feeds the final redirect to the loopback receiver. */
  async function signIn(client: LatchkeyClient, scope: string): Promise<TokenSet> {
    const request0 = { state: `s-${Math.random().toString(36).slice(2)}` };
    const receiver = await startLoopbackReceiver({ expectedState: request0.state, timeoutMs: 10_000 });
    const request = await client.createAuthorizationRequest({
      redirectUri: receiver.redirectUri,
      scope,
      state: request0.state,
    });
    const url = new URL(request.url);
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(url.searchParams.get('response_type'), 'code');
    assert.ok(url.searchParams.get('nonce'));
    const browser = new Browser(s.server.url);
    const final = await authorizeThroughBrowser(browser, request.url, { consent: 'allow' });
    assert.equal(final.status, 303, final.body.slice(0, 300));
    assert.ok(final.location?.startsWith(receiver.redirectUri), final.location ?? '');
    const landing = await browser.get(final.location!);
    assert.equal(landing.status, 200);
    assert.match(landing.body, /close this window/);
    const callback = await receiver.wait();
    return client.completeAuthorization(callback, request);
  }

  it('signs in, refreshes with rotation, and calls the sample API', async () => {
    const app = await createClient(s.server, { type: 'native', consent: 'required' });
    const client = await LatchkeyClient.discover({
      issuer: s.server.issuer,
      clientId: app.clientId,
      fetch: countingFetch,
      now: () => s.server.clock.now(),
    });
    const tokens = await signIn(client, 'openid profile email offline_access');
    assert.equal(tokens.tokenType, 'Bearer');
    assert.equal(tokens.idTokenClaims?.sub, s.user.id);
    assert.equal(tokens.idTokenClaims?.['preferred_username'], 'alice');
    assert.ok(tokens.expiresAt! > s.server.clock.now());
    assert.equal(tokens.scope, 'openid profile email offline_access');

    // The sample API, with a verifier on the server's clock.
    const api = buildSampleApi({
      issuer: s.server.issuer,
      verifierOptions: { now: () => s.server.clock.now() },
    });
    await api.listen({ port: 0, host: '127.0.0.1' });
    const apiUrl = `http://127.0.0.1:${(api.server.address() as { port: number }).port}`;
    try {
      const hello = await fetch(`${apiUrl}/hello`, {
        headers: { authorization: `Bearer ${tokens.accessToken}` },
      });
      assert.equal(hello.status, 200);
      const body = (await hello.json()) as { sub: string; client_id: string };
      assert.equal(body.sub, s.user.id);
      assert.equal(body.client_id, app.clientId);
      const profile = await fetch(`${apiUrl}/profile`, {
        headers: { authorization: `Bearer ${tokens.accessToken}` },
      });
      assert.equal(profile.status, 200);

      // Refresh (the server has the grant; it rotates refresh tokens for public clients).
      assert.ok(
        client.metadata.grant_types_supported?.includes('refresh_token'),
        'server offers refresh_token',
      );
      assert.ok(tokens.refreshToken, 'offline_access gave a refresh token');
      s.server.clock.advanceSeconds(3000);
      const before = tokenRequests;
      const [a, b, c] = await Promise.all([
        client.refresh(tokens),
        client.refresh(tokens),
        client.refresh(tokens),
      ]);
      assert.equal(tokenRequests - before, 1, 'three concurrent refreshes made one request');
      assert.equal(a, b);
      assert.equal(b, c);
      assert.notEqual(a.accessToken, tokens.accessToken);
      assert.ok(a.refreshToken);
      assert.notEqual(a.refreshToken, tokens.refreshToken, 'the refresh token rotated');
      assert.equal(a.idTokenClaims?.sub, s.user.id);

      // Once the old access token has expired, the new one still works at the API.
      s.server.clock.advanceSeconds(700);
      const expired = await fetch(`${apiUrl}/hello`, {
        headers: { authorization: `Bearer ${tokens.accessToken}` },
      });
      assert.equal(expired.status, 401);
      assert.match(expired.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
      await expired.text();
      const fresh = await fetch(`${apiUrl}/hello`, { headers: { authorization: `Bearer ${a.accessToken}` } });
      assert.equal(fresh.status, 200);
      await fresh.text();

      // Userinfo with the new token.
      const info = await client.userinfo(a.accessToken, { expectedSubject: s.user.id });
      assert.equal(info['sub'], s.user.id);
      assert.equal(info['email'], 'alice@example.com');

      // The rotated token refreshes again and rotates again.
      const second = await client.refresh(a);
      assert.notEqual(second.refreshToken, a.refreshToken);

      // Revocation ends the refresh token.
      await client.revoke(second.refreshToken!, { tokenTypeHint: 'refresh_token' });
      await assert.rejects(
        client.refresh(second.refreshToken!),
        (e: unknown) => isCode('LATCHKEY_TOKEN_ERROR')(e) && (e as LatchkeyError).error === 'invalid_grant',
      );

      // Logout URL.
      const logout = new URL(client.logoutUrl({ idTokenHint: a.idToken!, state: 'bye' }));
      assert.equal(logout.origin + logout.pathname, client.metadata.end_session_endpoint);
      assert.equal(logout.searchParams.get('id_token_hint'), a.idToken);
      assert.equal(logout.searchParams.get('client_id'), app.clientId);
      assert.equal(logout.searchParams.get('state'), 'bye');
    } finally {
      await api.close();
    }
  });

  it('turns a denied consent into LATCHKEY_AUTHORIZATION_ERROR with the server error', async () => {
    const app = await createClient(s.server, { type: 'native', consent: 'required' });
    const client = await LatchkeyClient.discover({ issuer: s.server.issuer, clientId: app.clientId });
    const request = await client.createAuthorizationRequest({
      redirectUri: 'http://127.0.0.1:40123/callback',
      scope: 'openid',
    });
    const final = await authorizeThroughBrowser(new Browser(s.server.url), request.url, { consent: 'deny' });
    assert.equal(final.status, 303);
    assert.throws(
      () => client.validateCallback(final.location!, { expectedState: request.state }),
      (e: unknown) =>
        isCode('LATCHKEY_AUTHORIZATION_ERROR')(e) && (e as LatchkeyError).error === 'access_denied',
    );
  });

  it('validates the callback: issuer (RFC 9207), then state', async () => {
    const app = await createClient(s.server);
    const client = await LatchkeyClient.discover({ issuer: s.server.issuer, clientId: app.clientId });
    const base = 'http://127.0.0.1:1/callback';
    assert.throws(
      () =>
        client.validateCallback(`${base}?code=c&state=s&iss=https://evil.example`, { expectedState: 's' }),
      isCode('LATCHKEY_ISSUER_MISMATCH'),
    );
    assert.throws(
      () => client.validateCallback(`${base}?code=c&state=s`, { expectedState: 's' }),
      isCode('LATCHKEY_ISSUER_MISMATCH'),
      'the server advertises iss, so a response without it is refused',
    );
    const iss = encodeURIComponent(s.server.issuer);
    assert.throws(
      () => client.validateCallback(`${base}?code=c&state=other&iss=${iss}`, { expectedState: 's' }),
      isCode('LATCHKEY_STATE_MISMATCH'),
    );
    assert.throws(
      () => client.validateCallback(`${base}?state=s&iss=${iss}`, { expectedState: 's' }),
      isCode('LATCHKEY_INVALID_RESPONSE'),
    );
    assert.deepEqual(client.validateCallback(`${base}?code=c&state=s&iss=${iss}`, { expectedState: 's' }), {
      code: 'c',
      state: 's',
      iss: s.server.issuer,
    });
  });

  it('carries the server error of a failed code exchange', async () => {
    const app = await createClient(s.server);
    const client = await LatchkeyClient.discover({ issuer: s.server.issuer, clientId: app.clientId });
    await assert.rejects(
      client.exchangeCode({
        code: 'not-a-code',
        codeVerifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
        redirectUri: app.redirectUri,
      }),
      (e: unknown) =>
        isCode('LATCHKEY_TOKEN_ERROR')(e) &&
        (e as LatchkeyError).error === 'invalid_grant' &&
        (e as LatchkeyError).status === 400,
    );
  });

  it('refuses a discovery document for another issuer', async () => {
    await assert.rejects(
      LatchkeyClient.discover({ issuer: `${s.server.issuer}/`, clientId: 'x' }),
      isCode('LATCHKEY_ISSUER_MISMATCH'),
    );
  });

  it('checks arguments before any I/O', async () => {
    let calls = 0;
    const noFetch: typeof fetch = async () => {
      calls++;
      throw new Error('no I/O expected');
    };
    await assert.rejects(
      LatchkeyClient.discover({ issuer: 'not a url', clientId: 'x', fetch: noFetch }),
      isCode('LATCHKEY_INVALID_ARGUMENT'),
    );
    await assert.rejects(
      LatchkeyClient.discover({ issuer: s.server.issuer, clientId: '', fetch: noFetch }),
      isCode('LATCHKEY_INVALID_ARGUMENT'),
    );
    const metadata = await (await fetch(`${s.server.issuer}/.well-known/openid-configuration`)).json();
    const client = new LatchkeyClient({ metadata, clientId: 'x', fetch: noFetch });
    await assert.rejects(
      client.exchangeCode({ code: '', codeVerifier: 'v', redirectUri: 'http://127.0.0.1/cb' }),
      isCode('LATCHKEY_INVALID_ARGUMENT'),
    );
    await assert.rejects(
      client.exchangeCode({ code: 'c', codeVerifier: 'v', redirectUri: 'relative' }),
      isCode('LATCHKEY_INVALID_ARGUMENT'),
    );
    await assert.rejects(client.refresh(''), isCode('LATCHKEY_INVALID_ARGUMENT'));
    await assert.rejects(client.revoke(''), isCode('LATCHKEY_INVALID_ARGUMENT'));
    await assert.rejects(client.userinfo(''), isCode('LATCHKEY_INVALID_ARGUMENT'));
    await assert.rejects(
      client.createAuthorizationRequest({ redirectUri: '' }),
      isCode('LATCHKEY_INVALID_ARGUMENT'),
    );
    assert.throws(
      () => client.logoutUrl({ postLogoutRedirectUri: 'nope' }),
      isCode('LATCHKEY_INVALID_ARGUMENT'),
    );
    assert.throws(() => new LatchkeyClient({ metadata, clientId: '' }), isCode('LATCHKEY_INVALID_ARGUMENT'));
    assert.equal(calls, 0);
  });
});

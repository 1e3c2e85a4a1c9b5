/**
 * The whole seed flow through real HTTP with a certified client library (oauth4webapi):
 * discovery → authorize URL with S256 → sign in through the HTML form → consent →
 * callback (state, iss) → token exchange → tokens verified against the JWKS.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { authorizeThroughBrowser, Browser } from '../helpers/browser.js';
import { authorizeQuery, insecure, withServer } from '../helpers/flow.js';
import { createClient } from '../helpers/server.js';

describe('authorization code flow with PKCE, driven by oauth4webapi', () => {
  const s = withServer({ users: ['alice'], discover: true });

  for (const consent of ['none', 'required'] as const) {
    it(`completes the flow for a native client (consent ${consent})`, async () => {
      const app = await createClient(s.server, {
        type: 'native',
        consent,
        redirectUris: ['http://127.0.0.1/callback'],
      });
      const client: oauth.Client = { client_id: app.clientId };
      const verifier = oauth.generateRandomCodeVerifier();
      const challenge = await oauth.calculatePKCECodeChallenge(verifier);
      const state = oauth.generateRandomState();
      const nonce = oauth.generateRandomNonce();
      const redirectUri = 'http://127.0.0.1:51234/callback';
      const url = new URL(s.as.authorization_endpoint!);
      url.search = authorizeQuery({ clientId: client.client_id, redirectUri }, challenge, {
        scope: 'openid profile email',
        state,
        nonce,
      }).toString();

      const browser = new Browser(s.server.url);
      const final = await authorizeThroughBrowser(browser, url.toString(), { consent: 'allow' });
      assert.equal(final.status, 303);
      assert.ok(final.location?.startsWith(redirectUri), final.location ?? final.body.slice(0, 300));
      const callback = new URL(final.location!);
      assert.equal(callback.searchParams.get('iss'), s.server.issuer);
      assert.equal(callback.searchParams.get('state'), state);

      const params = oauth.validateAuthResponse(s.as, client, callback, state);
      const response = await oauth.authorizationCodeGrantRequest(
        s.as,
        client,
        oauth.None(),
        params,
        redirectUri,
        verifier,
        insecure,
      );
      assert.equal(response.headers.get('cache-control'), 'no-store');
      const result = await oauth.processAuthorizationCodeResponse(s.as, client, response, {
        expectedNonce: nonce,
        requireIdToken: true,
      });
      assert.equal(result.token_type, 'bearer');
      assert.equal(result.expires_in, 3600);
      assert.equal(result.scope, 'openid profile email');

      const jwks = createRemoteJWKSet(new URL(s.as.jwks_uri!));
      const id = await jwtVerify(result.id_token!, jwks, {
        issuer: s.server.issuer,
        audience: client.client_id,
        currentDate: new Date(s.server.clock.now()),
      });
      assert.equal(id.payload.sub, s.user.id);
      assert.equal(id.payload['nonce'], nonce);
      assert.ok(id.payload['at_hash']);
      assert.ok(id.payload['auth_time']);
      assert.ok(id.payload['sid']);
      assert.equal(id.payload['preferred_username'], 'alice');

      const at = await jwtVerify(result.access_token, jwks, {
        issuer: s.server.issuer,
        audience: 'api://default',
        typ: 'at+jwt',
        currentDate: new Date(s.server.clock.now()),
      });
      assert.equal(at.payload.sub, s.user.id);
      assert.equal(at.payload['client_id'], client.client_id);
      assert.equal(at.payload['scope'], 'openid profile email');
      assert.ok(at.payload.jti);
      assert.notEqual(at.payload.aud, client.client_id);
    });
  }

  it('single sign-on: a second authorize from the same browser skips the sign-in', async () => {
    const app = await createClient(s.server);
    const browser = new Browser(s.server.url);
    const mk = async () => {
      const verifier = oauth.generateRandomCodeVerifier();
      const url = new URL(s.as.authorization_endpoint!);
      url.search = authorizeQuery(app, await oauth.calculatePKCECodeChallenge(verifier), {
        scope: 'openid',
      }).toString();
      return url.toString();
    };
    const first = await authorizeThroughBrowser(browser, await mk());
    assert.ok(first.location?.startsWith(app.redirectUri));
    const second = await browser.get(await mk());
    assert.equal(second.status, 303);
    assert.ok(second.location?.startsWith(`${app.redirectUri}?code=`), 'no sign-in page the second time');
  });

  // OpenID "Basic OP" uses confidential clients: client_secret_basic and client_secret_post.
  for (const method of ['client_secret_basic', 'client_secret_post'] as const) {
    it(`completes the flow for a confidential web client (${method})`, async () => {
      const app = await createClient(s.server, {
        type: 'web',
        redirectUris: ['https://rp.example.com/cb?tenant=1'],
      });
      const client: oauth.Client = { client_id: app.clientId };
      const auth =
        method === 'client_secret_basic'
          ? oauth.ClientSecretBasic(app.secret!)
          : oauth.ClientSecretPost(app.secret!);
      const verifier = oauth.generateRandomCodeVerifier();
      const nonce = oauth.generateRandomNonce();
      const url = new URL(s.as.authorization_endpoint!);
      url.search = authorizeQuery(app, await oauth.calculatePKCECodeChallenge(verifier), {
        scope: 'openid email',
        nonce,
      }).toString();
      const final = await authorizeThroughBrowser(new Browser(s.server.url), url.toString());
      assert.equal(final.status, 303);
      // The registered query is kept and the response parameters are appended to it.
      assert.ok(final.location?.startsWith(`${app.redirectUri}&code=`), final.location ?? '');
      const callback = new URL(final.location!);
      assert.equal(callback.searchParams.get('tenant'), '1');
      const params = oauth.validateAuthResponse(s.as, client, callback, oauth.skipStateCheck);
      const response = await oauth.authorizationCodeGrantRequest(
        s.as,
        client,
        auth,
        params,
        app.redirectUri,
        verifier,
        insecure,
      );
      const result = await oauth.processAuthorizationCodeResponse(s.as, client, response, {
        expectedNonce: nonce,
        requireIdToken: true,
      });
      assert.equal(result.scope, 'openid email');
      const claims = oauth.getValidatedIdTokenClaims(result)!;
      assert.equal(claims.sub, s.user.id);
      assert.equal(claims['email'], 'alice@example.com');
    });
  }
});

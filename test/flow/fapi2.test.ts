/**
 * An application under the FAPI 2.0 Security Profile (`profile: fapi2`), driven end to end by
 * oauth4webapi: PAR with private_key_jwt, the code through the browser flow, the code exchange
 * and the refresh with DPoP, ES256 for the ID token and the access token, refresh tokens not
 * rotated; and what the profile refuses: the front channel, a token request without a proof, an
 * RS256 proof, a pushed request without redirect_uri, an RS256 client assertion.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { decodeProtectedHeader, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import * as oauth from 'oauth4webapi';
import { JWT_BEARER_ASSERTION } from '../../src/protocol/client-assertion.js';
import { databaseForTests } from '../../src/storage/index.js';
import { authorizeThroughBrowser, Browser } from '../helpers/browser.js';
import {
  assertErrorPage,
  assertRfcError,
  getPushedCode,
  insecure,
  pkce,
  postForm,
  withServer,
} from '../helpers/flow.js';

const REDIRECT = 'https://fapi.example.com/cb';

describe('the fapi2 profile, with oauth4webapi', () => {
  // A server whose own code lifetime is longer than the profile allows.
  const s = withServer({ users: ['alice'], discover: true, overrides: { codeTtlSec: 300 } });
  let clientId: string;
  let clientKey: CryptoKey;
  let rsKey: CryptoKey;
  let auth: oauth.ClientAuth;
  const client = () => ({ client_id: clientId }) as oauth.Client;

  before(async () => {
    const es = await generateKeyPair('ES256');
    const rs = await generateKeyPair('RS256');
    clientKey = es.privateKey;
    rsKey = rs.privateKey;
    const jwks: JWK[] = [
      { ...(await exportJWK(es.publicKey)), kid: 'es' },
      { ...(await exportJWK(rs.publicKey)), kid: 'rs' },
    ];
    const made = await s.server.ctx.clients.create({
      name: 'FAPI app',
      type: 'web',
      redirectUris: [REDIRECT],
      profile: 'fapi2',
      jwks: { keys: jwks },
    });
    assert.equal(made.client.tokenEndpointAuthMethod, 'private_key_jwt', 'the profile picks the method');
    clientId = made.client.clientId;
    auth = oauth.PrivateKeyJwt({ key: clientKey, kid: 'es' });
  });

  async function push(params: Record<string, string>) {
    return oauth.pushedAuthorizationRequest(s.as, client(), auth, params, insecure);
  }

  it('the whole flow: PAR, code, DPoP-bound tokens in ES256, refresh without rotation', async () => {
    const keys = await oauth.generateKeyPair('ES256');
    const dpop = oauth.DPoP(client(), keys);
    const p = pkce();
    const state = oauth.generateRandomState();
    const nonce = oauth.generateRandomNonce();
    const pushed = await push({
      response_type: 'code',
      redirect_uri: REDIRECT,
      scope: 'openid offline_access',
      code_challenge: p.challenge,
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    const par = await oauth.processPushedAuthorizationResponse(s.as, client(), pushed);
    const got = await getPushedCode(s.server, { clientId, redirectUri: REDIRECT }, p, par.request_uri);
    assert.equal(got.url.searchParams.get('iss'), s.server.issuer, 'RFC 9207 iss in the response');
    // The profile's 60 s, not the server's 300.
    const code = await databaseForTests(s.server.ctx.storage)
      .selectFrom('grants')
      .select(['code_expires_at'])
      .where('client_id', '=', clientId)
      .executeTakeFirstOrThrow();
    assert.ok(Number(code.code_expires_at) - s.server.clock.now() <= 60_000);

    const params = oauth.validateAuthResponse(s.as, client(), got.url, state);
    const res = await oauth.authorizationCodeGrantRequest(
      s.as,
      client(),
      auth,
      params,
      REDIRECT,
      p.verifier,
      {
        ...insecure,
        DPoP: dpop,
      },
    );
    const tokens = await oauth.processAuthorizationCodeResponse(s.as, client(), res, {
      expectedNonce: nonce,
      requireIdToken: true,
    });
    assert.equal(tokens.token_type, 'dpop');
    assert.equal(decodeProtectedHeader(tokens.id_token!).alg, 'ES256');
    assert.equal(decodeProtectedHeader(tokens.access_token).alg, 'ES256');
    const claims = oauth.getValidatedIdTokenClaims(tokens)!;
    assert.equal(claims.aud, clientId);

    const refreshed = await oauth.refreshTokenGrantRequest(s.as, client(), auth, tokens.refresh_token!, {
      ...insecure,
      DPoP: dpop,
    });
    const next = await oauth.processRefreshTokenResponse(s.as, client(), refreshed);
    assert.equal(next.token_type, 'dpop');
    assert.equal(next.refresh_token, tokens.refresh_token, 'not rotated');
    // The same refresh token works again (no rotation, so no reuse detection to trip).
    const again = await oauth.refreshTokenGrantRequest(s.as, client(), auth, tokens.refresh_token!, {
      ...insecure,
      DPoP: dpop,
    });
    await oauth.processRefreshTokenResponse(s.as, client(), again);

    // Without a proof, the refresh is refused before anything is spent.
    const bare = await oauth.refreshTokenGrantRequest(s.as, client(), auth, tokens.refresh_token!, insecure);
    await assert.rejects(oauth.processRefreshTokenResponse(s.as, client(), bare), (e: { error?: string }) =>
      ['invalid_request', 'invalid_grant'].includes(e.error ?? ''),
    );
  });

  it('/authorize without PAR shows an error page', async () => {
    const p = pkce();
    const final = await authorizeThroughBrowser(
      new Browser(s.server.url),
      `/authorize?client_id=${clientId}&response_type=code&redirect_uri=${encodeURIComponent(REDIRECT)}&scope=openid&code_challenge=${p.challenge}&code_challenge_method=S256&state=x`,
    );
    assertErrorPage(final);
  });

  it('a pushed request without redirect_uri is refused (JSON invalid_request)', async () => {
    const r = await push({
      response_type: 'code',
      scope: 'read',
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
    });
    assert.equal(r.status, 400);
    assert.equal(((await r.json()) as { error: string }).error, 'invalid_request');
  });

  it('an RS256 client assertion and an RS256 DPoP proof are refused', async () => {
    const now = Math.floor(s.server.clock.now() / 1000);
    const assertion = await new SignJWT({
      iss: clientId,
      sub: clientId,
      aud: s.server.issuer,
      jti: randomUUID(),
      exp: now + 60,
    })
      .setProtectedHeader({ alg: 'RS256', kid: 'rs' })
      .sign(rsKey);
    const r = await postForm(`${s.server.url}/introspect`, {
      token: 'x',
      client_assertion_type: JWT_BEARER_ASSERTION,
      client_assertion: assertion,
    });
    assertRfcError(r, 401, 'invalid_client');

    const rsDpop = oauth.DPoP(client(), await oauth.generateKeyPair('RS256'));
    const res = await oauth.refreshTokenGrantRequest(s.as, client(), auth, 'not-a-token', {
      ...insecure,
      DPoP: rsDpop,
    });
    const body = (await res.json()) as { error: string };
    assert.equal(res.status, 400);
    assert.equal(body.error, 'invalid_dpop_proof', 'the proof is checked before the grant');
  });

  it('a token request without a DPoP proof is refused (dpop_bound_access_tokens)', async () => {
    const res = await oauth.refreshTokenGrantRequest(s.as, client(), auth, 'not-a-token', insecure);
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: string; error_description: string };
    assert.equal(body.error, 'invalid_request');
    assert.match(body.error_description, /DPoP proof/);
  });
});

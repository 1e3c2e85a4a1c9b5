/**
 * DPoP (RFC 9449) through real HTTP, driven by oauth4webapi's DPoP handle: bound access tokens
 * (`token_type` DPoP, `cnf.jkt`), a public client's refresh token bound to its key, userinfo with
 * the DPoP scheme, introspection's `cnf`, and every refusal: a replayed proof, a wrong `htu`, a
 * bound token sent as Bearer, another key at refresh, a resource verifier that cannot check
 * proofs refusing the token instead of accepting it.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { calculateJwkThumbprint, decodeJwt, exportJWK, SignJWT } from 'jose';
import * as oauth from 'oauth4webapi';
import { createVerifier } from '../../src/resource/index.js';
import { buildSampleApi } from '../../src/resource/sample-api.js';
import { authorizeThroughBrowser, Browser } from '../helpers/browser.js';
import { authorizeQuery, insecure, introspect, postForm, withServer } from '../helpers/flow.js';
import { createClient } from '../helpers/server.js';

describe('DPoP-bound tokens (RFC 9449), with oauth4webapi', () => {
  const s = withServer({ users: ['alice'], discover: true });
  let app: { clientId: string; redirectUri: string };
  let service: { clientId: string; secret?: string };

  /** One signed-in flow to a code; the code exchange with `dpop` (or without). */
  async function tokens(dpop?: oauth.DPoPHandle) {
    const client: oauth.Client = { client_id: app.clientId };
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const url = new URL(s.as.authorization_endpoint!);
    url.search = authorizeQuery(app, await oauth.calculatePKCECodeChallenge(verifier), {
      scope: 'openid offline_access',
      state,
    }).toString();
    const final = await authorizeThroughBrowser(new Browser(s.server.url), url.toString());
    const params = oauth.validateAuthResponse(s.as, client, new URL(final.location!), state);
    const response = await oauth.authorizationCodeGrantRequest(
      s.as,
      client,
      oauth.None(),
      params,
      app.redirectUri,
      verifier,
      { ...insecure, ...(dpop ? { DPoP: dpop } : {}) },
    );
    return oauth.processAuthorizationCodeResponse(s.as, client, response);
  }

  const handle = async () => {
    const keys = await oauth.generateKeyPair('ES256');
    return {
      keys,
      dpop: oauth.DPoP({}, keys),
      jkt: await calculateJwkThumbprint(await exportJWK(keys.publicKey)),
    };
  };

  it('discovery lists the proof algorithms', async () => {
    app = await createClient(s.server);
    service = await createClient(s.server, { type: 'service' });
    assert.deepEqual(s.as.dpop_signing_alg_values_supported, ['ES256', 'EdDSA', 'PS256', 'RS256']);
  });

  it('a proof at /token binds the access token (cnf.jkt, token_type DPoP); userinfo takes it with a proof', async () => {
    const { dpop, jkt } = await handle();
    const t = await tokens(dpop);
    assert.equal(t.token_type, 'dpop');
    assert.deepEqual(decodeJwt(t.access_token)['cnf'], { jkt });
    const client: oauth.Client = { client_id: app.clientId };
    const info = await oauth.userInfoRequest(s.as, client, t.access_token, { ...insecure, DPoP: dpop });
    assert.equal(info.status, 200);
    const claims = await oauth.processUserInfoResponse(s.as, client, oauth.skipSubjectCheck, info);
    assert.equal(claims.sub, s.user.id);
    const intro = await introspect(
      s.server,
      { clientId: service.clientId, secret: service.secret! },
      t.access_token,
    );
    assert.equal(intro.json['active'], true);
    assert.equal(intro.json['token_type'], 'DPoP');
    assert.deepEqual(intro.json['cnf'], { jkt });
  });

  it('a bound token sent as Bearer, or without a proof, or with another key is refused at userinfo', async () => {
    const { dpop } = await handle();
    const t = await tokens(dpop);
    const asBearer = await fetch(`${s.server.url}/userinfo`, {
      headers: { authorization: `Bearer ${t.access_token}` },
    });
    assert.equal(asBearer.status, 401);
    assert.match(asBearer.headers.get('www-authenticate') ?? '', /^DPoP algs="ES256 EdDSA/);
    const noProof = await fetch(`${s.server.url}/userinfo`, {
      headers: { authorization: `DPoP ${t.access_token}` },
    });
    assert.equal(noProof.status, 401);
    assert.match(noProof.headers.get('www-authenticate') ?? '', /error="invalid_dpop_proof"/);
    const other = await handle();
    const wrongKey = await oauth.userInfoRequest(s.as, { client_id: app.clientId }, t.access_token, {
      ...insecure,
      DPoP: other.dpop,
    });
    assert.equal(wrongKey.status, 401);
    // And a plain token under the DPoP scheme.
    const plain = await tokens();
    assert.equal(plain.token_type, 'bearer');
    const mixed = await fetch(`${s.server.url}/userinfo`, {
      headers: { authorization: `DPoP ${plain.access_token}` },
    });
    assert.equal(mixed.status, 401);
  });

  it("a public client's refresh token is bound: the same key refreshes, another key or none gets invalid_grant", async () => {
    const { dpop, jkt } = await handle();
    const t = await tokens(dpop);
    const client: oauth.Client = { client_id: app.clientId };
    const refresh = (rt: string, h?: oauth.DPoPHandle) =>
      oauth.refreshTokenGrantRequest(s.as, client, oauth.None(), rt, {
        ...insecure,
        ...(h ? { DPoP: h } : {}),
      });
    const other = await handle();
    for (const [h, what] of [
      [undefined, 'no proof'],
      [other.dpop, 'another key'],
    ] as const) {
      const r = await refresh(t.refresh_token!, h);
      assert.equal(r.status, 400, what);
      assert.equal(((await r.json()) as { error: string }).error, 'invalid_grant', what);
    }
    const ok = await oauth.processRefreshTokenResponse(s.as, client, await refresh(t.refresh_token!, dpop));
    assert.equal(ok.token_type, 'dpop');
    assert.deepEqual(decodeJwt(ok.access_token)['cnf'], { jkt });
    // The successor stays bound to the same key.
    const again = await refresh(ok.refresh_token!, other.dpop);
    assert.equal(again.status, 400);
    assert.ok(
      (await oauth.processRefreshTokenResponse(s.as, client, await refresh(ok.refresh_token!, dpop)))
        .access_token,
    );
  });

  it('/token refuses a replayed proof, a wrong htu or htm, an invalid proof (invalid_dpop_proof, 400)', async () => {
    const keys = await oauth.generateKeyPair('ES256', { extractable: true });
    const jwk = await exportJWK(keys.publicKey);
    const proof = (claims: Record<string, unknown> = {}) =>
      new SignJWT({
        jti: crypto.randomUUID(),
        htm: 'POST',
        htu: `${s.server.issuer}/token`,
        iat: Math.floor(s.server.clock.now() / 1000),
        ...claims,
      })
        .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk })
        .sign(keys.privateKey);
    const form = { grant_type: 'refresh_token', refresh_token: 'x'.repeat(43), client_id: app.clientId };
    const once = await proof();
    const first = await postForm(`${s.server.url}/token`, form, { dpop: once });
    assert.equal(first.json['error'], 'invalid_grant', 'a valid proof, a bad refresh token');
    for (const [header, what] of [
      [once, 'replayed'],
      [await proof({ htu: `${s.server.issuer}/par` }), 'htu'],
      [await proof({ htm: 'GET' }), 'htm'],
      [await proof({ iat: Math.floor(s.server.clock.now() / 1000) - 3600 }), 'iat'],
      ['garbage', 'malformed'],
    ] as const) {
      const r = await postForm(`${s.server.url}/token`, form, { dpop: header });
      assert.equal(r.status, 400, what);
      assert.equal(r.json['error'], 'invalid_dpop_proof', what);
    }
  });

  it('a latchkey/resource-protected API takes a bound token with its proof, and refuses it otherwise', async () => {
    const verifier = createVerifier({
      issuer: s.server.issuer,
      audience: 'api://default',
      jwksUri: s.as.jwks_uri!,
      now: () => s.server.clock.now(),
    });
    const api = buildSampleApi({ issuer: s.server.issuer, verifier });
    const base = await api.listen({ port: 0, host: '127.0.0.1' });
    try {
      const { dpop } = await handle();
      const t = await tokens(dpop);
      const hello = new URL(`${base}/hello`);
      const ok = await oauth.protectedResourceRequest(t.access_token, 'GET', hello, undefined, undefined, {
        ...insecure,
        DPoP: dpop,
      });
      assert.equal(ok.status, 200, await ok.clone().text());
      const asBearer = await fetch(hello, { headers: { authorization: `Bearer ${t.access_token}` } });
      assert.equal(asBearer.status, 401);
      assert.match(
        asBearer.headers.get('www-authenticate') ?? '',
        /^DPoP algs="ES256 EdDSA PS256 RS256", .*error="invalid_token"/,
      );
      const noProof = await fetch(hello, { headers: { authorization: `DPoP ${t.access_token}` } });
      assert.equal(noProof.status, 401);
      const other = await handle();
      // oauth4webapi reports the 401 challenge as an error.
      await assert.rejects(
        oauth.protectedResourceRequest(t.access_token, 'GET', hello, undefined, undefined, {
          ...insecure,
          DPoP: other.dpop,
        }),
        (err: Error & { response?: Response }) => err.response?.status === 401,
      );
      // A proof made for another URL, and one used twice.
      const keys = await oauth.generateKeyPair('ES256');
      const proofFor = async (htu: string, ath: string) =>
        new SignJWT({
          jti: crypto.randomUUID(),
          htm: 'GET',
          htu,
          iat: Math.floor(s.server.clock.now() / 1000),
          ath,
        })
          .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: await exportJWK(keys.publicKey) })
          .sign(keys.privateKey);
      const mine = await tokens(oauth.DPoP({}, keys));
      const ath = createHash('sha256').update(mine.access_token).digest('base64url');
      const call = (proof: string) =>
        fetch(hello, { headers: { authorization: `DPoP ${mine.access_token}`, dpop: proof } });
      const good = await proofFor(`${base}/hello`, ath);
      assert.equal((await call(good)).status, 200);
      assert.equal((await call(good)).status, 401, 'replayed');
      assert.equal((await call(await proofFor(`${base}/elsewhere`, ath))).status, 401, 'htu');
      assert.equal((await call(await proofFor(`${base}/hello`, 'x'))).status, 401, 'ath');
      // A plain token: Bearer works, the DPoP scheme does not.
      const plain = await tokens();
      assert.equal(
        (await fetch(hello, { headers: { authorization: `Bearer ${plain.access_token}` } })).status,
        200,
      );
      assert.equal(
        (await fetch(hello, { headers: { authorization: `DPoP ${plain.access_token}` } })).status,
        401,
      );
    } finally {
      await api.close();
    }
  });

  it('latchkey/resource: verify() without the request DPoP context refuses a bound token; bearer tokens pass', async () => {
    const verifier = createVerifier({
      issuer: s.server.issuer,
      audience: 'api://default',
      jwksUri: s.as.jwks_uri!,
      now: () => s.server.clock.now(),
    });
    const bound = await tokens((await handle()).dpop);
    await assert.rejects(verifier.verify(bound.access_token), { code: 'LATCHKEY_DPOP_BOUND' });
    const plain = await tokens();
    assert.equal((await verifier.verify(plain.access_token)).claims.sub, s.user.id);
  });
});

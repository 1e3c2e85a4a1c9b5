/**
 * DPoP server nonces (RFC 9449 §8 at /token, §9 at /userinfo) with LATCHKEY_DPOP_NONCE=true,
 * through real HTTP: a proof without the nonce is answered with one (400 use_dpop_nonce at
 * /token, a 401 DPoP challenge at /userinfo), the retry with it succeeds and the answer carries
 * the nonce to use next; a nonce lives for the current and the previous window (the clock is
 * moved, never waited for); browsers may read the header (CORS). The stateless nonce itself
 * (any node checks another's) is in test/protocol/dpop-nonce.test.ts and test/cluster.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CryptoKey, decodeJwt, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { DPOP_NONCE_WINDOW_SEC } from '../../src/protocol/dpop-nonce.js';
import { getCode, pkce, postForm, redeem, withServer } from '../helpers/flow.js';
import { createClient } from '../helpers/server.js';

describe('DPoP server nonces (RFC 9449 §8, §9)', () => {
  const s = withServer({ users: ['alice'], app: {}, overrides: { dpopNonce: true } });

  async function keyPair() {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    return { privateKey, jwk: await exportJWK(publicKey) };
  }
  const proof = (
    k: { privateKey: CryptoKey; jwk: JWK },
    claims: { htm?: string; htu: string; nonce?: string; ath?: string },
  ) =>
    new SignJWT({
      jti: crypto.randomUUID(),
      htm: 'POST',
      iat: Math.floor(s.server.clock.now() / 1000),
      ...claims,
    })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: k.jwk })
      .sign(k.privateKey);
  const tokenUrl = () => `${s.server.issuer}/token`;
  /** Moves the clock to the start of a nonce window, so a test's requests share one window. */
  const alignToWindow = () => {
    const ms = DPOP_NONCE_WINDOW_SEC * 1000;
    s.server.clock.advance(ms - (s.server.clock.now() % ms) + 1000);
  };

  it('/token: no nonce → 400 use_dpop_nonce with DPoP-Nonce; the retry with it binds the tokens', async () => {
    alignToWindow();
    const k = await keyPair();
    const { code, verifier } = await getCode(s.server, s.app, pkce(), { scope: 'openid offline_access' });
    const form = {
      grant_type: 'authorization_code',
      code,
      redirect_uri: s.app.redirectUri,
      client_id: s.app.clientId,
      code_verifier: verifier,
    };
    const first = await postForm(tokenUrl(), form, { dpop: await proof(k, { htu: tokenUrl() }) });
    assert.equal(first.status, 400);
    assert.equal(first.json['error'], 'use_dpop_nonce');
    const nonce = first.headers.get('dpop-nonce');
    assert.ok(nonce && /^[A-Za-z0-9_-]+$/.test(nonce), 'a nonce of NQCHARs (§8.1)');
    // The refusal spent nothing: the code still works with the nonce.
    const ok = await postForm(tokenUrl(), form, { dpop: await proof(k, { htu: tokenUrl(), nonce }) });
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    assert.equal(ok.json['token_type'], 'DPoP');
    assert.ok(decodeJwt(String(ok.json['access_token']))['cnf']);
    assert.equal(ok.headers.get('dpop-nonce'), nonce, 'the same window: the same nonce');

    // The refresh, a window later: the old nonce still works, and the answer gives the new one.
    s.server.clock.advanceSeconds(DPOP_NONCE_WINDOW_SEC);
    const refreshForm = {
      grant_type: 'refresh_token',
      refresh_token: String(ok.json['refresh_token']),
      client_id: s.app.clientId,
    };
    const next = await postForm(tokenUrl(), refreshForm, {
      dpop: await proof(k, { htu: tokenUrl(), nonce }),
    });
    assert.equal(next.status, 200, JSON.stringify(next.json));
    const fresh = next.headers.get('dpop-nonce');
    assert.ok(fresh && fresh !== nonce, 'a fresh nonce once the window turned');

    // Two windows later the first nonce is refused, with the current one to use.
    s.server.clock.advanceSeconds(DPOP_NONCE_WINDOW_SEC);
    const refreshForm2 = { ...refreshForm, refresh_token: String(next.json['refresh_token']) };
    const stale = await postForm(tokenUrl(), refreshForm2, {
      dpop: await proof(k, { htu: tokenUrl(), nonce }),
    });
    assert.equal(stale.status, 400);
    assert.equal(stale.json['error'], 'use_dpop_nonce');
    const current = stale.headers.get('dpop-nonce');
    assert.ok(current && current !== nonce);
    const again = await postForm(tokenUrl(), refreshForm2, {
      dpop: await proof(k, { htu: tokenUrl(), nonce: current }),
    });
    assert.equal(again.status, 200, JSON.stringify(again.json));
  });

  it('/token: a forged or malformed nonce is use_dpop_nonce; a bad proof stays invalid_dpop_proof', async () => {
    alignToWindow();
    const k = await keyPair();
    const form = { grant_type: 'refresh_token', refresh_token: 'x'.repeat(43), client_id: s.app.clientId };
    const good = (
      await postForm(tokenUrl(), form, { dpop: await proof(k, { htu: tokenUrl() }) })
    ).headers.get('dpop-nonce')!;
    const flipped = `${good.slice(0, -2)}${good.endsWith('AA') ? 'AB' : 'AA'}`;
    for (const nonce of [flipped, 'x', '', 'A'.repeat(32), `${good}A`]) {
      const r = await postForm(tokenUrl(), form, { dpop: await proof(k, { htu: tokenUrl(), nonce }) });
      assert.equal(r.status, 400, nonce);
      assert.equal(r.json['error'], 'use_dpop_nonce', nonce);
      assert.equal(r.headers.get('dpop-nonce'), good, nonce);
    }
    const wrongHtu = await postForm(tokenUrl(), form, {
      dpop: await proof(k, { htu: `${s.server.issuer}/par`, nonce: good }),
    });
    assert.equal(wrongHtu.json['error'], 'invalid_dpop_proof');
    // With the nonce, the proof passes and the grant decides.
    const r = await postForm(tokenUrl(), form, { dpop: await proof(k, { htu: tokenUrl(), nonce: good }) });
    assert.equal(r.json['error'], 'invalid_grant');
  });

  it('/token without a DPoP header needs no nonce (bearer tokens, no DPoP-Nonce)', async () => {
    const { code, verifier } = await getCode(s.server, s.app, pkce());
    const r = await redeem(s.server, s.app, code, verifier);
    assert.equal(r.status, 200);
    assert.equal(r.json['token_type'], 'Bearer');
    assert.equal(r.headers.get('dpop-nonce'), null);
  });

  it('/userinfo: no nonce → 401 DPoP error="use_dpop_nonce" with DPoP-Nonce; with it → 200 and a nonce', async () => {
    alignToWindow();
    const k = await keyPair();
    const { code, verifier } = await getCode(s.server, s.app, pkce());
    const form = {
      grant_type: 'authorization_code',
      code,
      redirect_uri: s.app.redirectUri,
      client_id: s.app.clientId,
      code_verifier: verifier,
    };
    const n = (await postForm(tokenUrl(), form, { dpop: await proof(k, { htu: tokenUrl() }) })).headers.get(
      'dpop-nonce',
    )!;
    const t = await postForm(tokenUrl(), form, { dpop: await proof(k, { htu: tokenUrl(), nonce: n }) });
    const at = String(t.json['access_token']);
    const ath = Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(at))).toString(
      'base64url',
    );
    const url = `${s.server.issuer}/userinfo`;
    const call = async (nonce?: string) =>
      fetch(`${s.server.url}/userinfo`, {
        headers: {
          authorization: `DPoP ${at}`,
          dpop: await proof(k, { htm: 'GET', htu: url, ath, ...(nonce ? { nonce } : {}) }),
        },
      });
    const refused = await call();
    assert.equal(refused.status, 401);
    assert.match(refused.headers.get('www-authenticate') ?? '', /^DPoP .*error="use_dpop_nonce"/);
    assert.equal(((await refused.json()) as { error: string }).error, 'use_dpop_nonce');
    const nonce = refused.headers.get('dpop-nonce');
    assert.equal(nonce, n, 'one nonce for the whole server in a window');
    const ok = await call(nonce!);
    assert.equal(ok.status, 200, await ok.clone().text());
    assert.equal(ok.headers.get('dpop-nonce'), nonce);
  });

  it('CORS: a single-page app may read DPoP-Nonce and WWW-Authenticate', async () => {
    const origin = 'https://spa.example.com';
    const spa = await createClient(s.server, { type: 'spa', redirectUris: [`${origin}/callback`] });
    const k = await keyPair();
    const r = await fetch(`${s.server.url}/token`, {
      method: 'POST',
      headers: {
        origin,
        'content-type': 'application/x-www-form-urlencoded',
        dpop: await proof(k, { htu: tokenUrl() }),
      },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: 'x'.repeat(43),
        client_id: spa.clientId,
      }).toString(),
    });
    assert.equal(r.status, 400);
    assert.equal(r.headers.get('access-control-allow-origin'), origin);
    assert.match(r.headers.get('access-control-expose-headers') ?? '', /DPoP-Nonce/);
    assert.ok(r.headers.get('dpop-nonce'));
  });
});

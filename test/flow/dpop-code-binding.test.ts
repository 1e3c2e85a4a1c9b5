/**
 * Codes bound to a DPoP key (RFC 9449 §10) through real HTTP with oauth4webapi: `dpop_jkt` at
 * /authorize, and at /par either `dpop_jkt` or the key of a DPoP proof on the pushed request;
 * the code is redeemed only with a proof of that key (another key or none: invalid_grant).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import * as oauth from 'oauth4webapi';
import { getCode, getPushedCode, insecure, pkce, postForm, withServer } from '../helpers/flow.js';
import { createClient } from '../helpers/server.js';

describe('codes bound to a DPoP key (dpop_jkt, RFC 9449 §10)', () => {
  const s = withServer({ users: ['alice'], discover: true });
  let app: { clientId: string; redirectUri: string };
  const client = () => ({ client_id: app.clientId }) as oauth.Client;

  before(async () => {
    app = await createClient(s.server);
  });

  const handle = async () => {
    const keys = await oauth.generateKeyPair('ES256');
    return {
      dpop: oauth.DPoP(client(), keys),
      jkt: await calculateJwkThumbprint(await exportJWK(keys.publicKey)),
    };
  };

  /** Redeems the code of `got` with `dpop` (or no proof); the raw error code, or undefined. */
  async function redeem(got: { url: URL }, verifier: string, state: string, dpop?: oauth.DPoPHandle) {
    const params = oauth.validateAuthResponse(s.as, client(), got.url, state);
    const res = await oauth.authorizationCodeGrantRequest(
      s.as,
      client(),
      oauth.None(),
      params,
      app.redirectUri,
      verifier,
      {
        ...insecure,
        ...(dpop ? { DPoP: dpop } : {}),
      },
    );
    if (res.status === 200) return { ok: (await res.json()) as { token_type: string } };
    return { error: ((await res.json()) as { error: string }).error };
  }

  async function codeWith(extra: Record<string, string | null>) {
    const p = pkce();
    const state = oauth.generateRandomState();
    const got = await getCode(s.server, app, p, { state, ...extra });
    return { got, verifier: p.verifier, state };
  }

  it('dpop_jkt at /authorize: the same key redeems it, another key or none does not', async () => {
    const mine = await handle();
    const other = await handle();
    const a = await codeWith({ dpop_jkt: mine.jkt });
    assert.equal((await redeem(a.got, a.verifier, a.state, mine.dpop)).ok?.token_type, 'DPoP');
    const b = await codeWith({ dpop_jkt: mine.jkt });
    assert.equal((await redeem(b.got, b.verifier, b.state, other.dpop)).error, 'invalid_grant');
    const c = await codeWith({ dpop_jkt: mine.jkt });
    assert.equal((await redeem(c.got, c.verifier, c.state)).error, 'invalid_grant');
  });

  it('a malformed dpop_jkt goes back to the client as invalid_request', async () => {
    await assert.rejects(codeWith({ dpop_jkt: 'short' }), /error=invalid_request/);
  });

  it('/par: a DPoP proof on the pushed request binds the code to its key (§10.1)', async () => {
    const mine = await handle();
    const other = await handle();
    for (const [redeemWith, expected] of [
      [mine, 'ok'],
      [other, 'invalid_grant'],
    ] as const) {
      const p = pkce();
      const state = oauth.generateRandomState();
      const pushed = await oauth.pushedAuthorizationRequest(
        s.as,
        client(),
        oauth.None(),
        {
          response_type: 'code',
          redirect_uri: app.redirectUri,
          scope: 'openid',
          code_challenge: p.challenge,
          code_challenge_method: 'S256',
          state,
        },
        { ...insecure, DPoP: mine.dpop },
      );
      const par = await oauth.processPushedAuthorizationResponse(s.as, client(), pushed);
      const got = await getPushedCode(s.server, app, p, par.request_uri);
      const r = await redeem(got, p.verifier, state, redeemWith.dpop);
      assert.equal(r.ok ? 'ok' : r.error, expected);
    }
  });

  it('/par: dpop_jkt and a proof of another key → invalid_request; a bad proof → invalid_dpop_proof', async () => {
    const mine = await handle();
    const other = await handle();
    const p = pkce();
    const form = {
      client_id: app.clientId,
      response_type: 'code',
      redirect_uri: app.redirectUri,
      code_challenge: p.challenge,
      code_challenge_method: 'S256',
      dpop_jkt: other.jkt,
    };
    const res = await oauth.pushedAuthorizationRequest(s.as, client(), oauth.None(), form, {
      ...insecure,
      DPoP: mine.dpop,
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_request');
    const bad = await postForm(`${s.server.url}/par`, form, { dpop: 'not.a.proof' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json['error'], 'invalid_dpop_proof');
  });
});

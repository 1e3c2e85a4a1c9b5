/**
 * Authorization codes at /token (RFC 6749 §4.1.3, §5.2; RFC 7636 §4.6; RFC 9700 §2.1.1, §4.2.4)
 * and the token endpoint's own rules: client authentication, content type, caching, error shape.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { grantIdOfJti } from '../../src/tokens/jti.js';
import {
  assertRfcError,
  basic,
  getCode,
  jtiOf,
  pkce,
  postToken,
  redeem,
  withServer,
} from '../helpers/flow.js';
import { createClient, createUser, startTestServer } from '../helpers/server.js';

type App = { clientId: string; redirectUri: string; secret?: string };

describe('authorization codes and /token', () => {
  const s = withServer({ users: ['alice'], app: {} });
  const revoked = (jti: string) => s.server.ctx.storage.accessTokens.isRevoked(jti, grantIdOfJti(jti));

  describe('codes', () => {
    it('a code redeems once; reuse → invalid_grant and the first access token is revoked', async () => {
      const p = pkce();
      const { code } = await getCode(s.server, s.app, p);
      const first = await redeem(s.server, s.app, code, p.verifier);
      assert.equal(first.status, 200);
      const jti = jtiOf(first.json['access_token']);
      assert.equal(await revoked(jti), false);
      const again = await redeem(s.server, s.app, code, p.verifier);
      assertRfcError(again, 400, 'invalid_grant');
      assert.equal(await revoked(jti), true, 'reuse revokes what the code issued');
      const events = await s.server.ctx.storage.audit.list({ type: 'code_reuse_detected' });
      assert.ok(events.length >= 1);
    });

    it('codes and refresh tokens carry at least 128 bits of entropy (FAPI 2.0 §5.4)', async () => {
      const p = pkce();
      const { code } = await getCode(s.server, s.app, p, { scope: 'openid offline_access' });
      const tokens = await redeem(s.server, s.app, code, p.verifier);
      const refresh = String(tokens.json['refresh_token']);
      // 128 bits are 22 base64url characters; Latchkey's random parts are 32 bytes (43 characters).
      for (const value of [code, refresh]) {
        const longestRandomRun = Math.max(...value.split(/[^A-Za-z0-9_-]/).map((part) => part.length));
        assert.ok(longestRandomRun >= 43, `${value.length} characters: ${value.slice(0, 6)}…`);
      }
      const again = await getCode(s.server, s.app, pkce());
      assert.notEqual(again.code, code);
    });

    it('code reuse also kills the refresh token the first redemption issued', async () => {
      const p = pkce();
      const { code } = await getCode(s.server, s.app, p, {
        scope: 'openid offline_access',
        prompt: 'consent',
      });
      const first = await redeem(s.server, s.app, code, p.verifier);
      assert.equal(first.status, 200);
      const refresh = first.json['refresh_token'];
      assert.equal(typeof refresh, 'string', 'offline_access gives a refresh token');
      assertRfcError(await redeem(s.server, s.app, code, p.verifier), 400, 'invalid_grant');
      const r = await postToken(s.server, {
        grant_type: 'refresh_token',
        refresh_token: refresh as string,
        client_id: s.app.clientId,
      });
      assertRfcError(r, 400, 'invalid_grant');
    });

    it('20 concurrent redemptions of one code: exactly one gets tokens, the rest invalid_grant', async () => {
      const p = pkce();
      const { code } = await getCode(s.server, s.app, p);
      const replies = await Promise.all(
        Array.from({ length: 20 }, () => redeem(s.server, s.app, code, p.verifier)),
      );
      const winners = replies.filter((r) => r.status === 200);
      const losers = replies.filter((r) => r.status !== 200);
      assert.equal(winners.length, 1, replies.map((r) => r.status).join(','));
      for (const l of losers) assertRfcError(l, 400, 'invalid_grant');
      // Final state: every loser is a reuse of a consumed code, and reuse revokes the grant, so
      // the winner's access token ends REVOKED. This is deliberate (RFC 6749 §4.1.2 "SHOULD
      // revoke", RFC 9700 §4.2.4): two parties holding one code means it leaked.
      const jti = jtiOf(winners[0]!.json['access_token']);
      assert.equal(await revoked(jti), true);
    });

    it('an expired code (61 s later) → invalid_grant', async () => {
      const p = pkce();
      const { code } = await getCode(s.server, s.app, p);
      s.server.clock.advanceSeconds(61);
      assertRfcError(await redeem(s.server, s.app, code, p.verifier), 400, 'invalid_grant');
    });

    it('a code 59 s old still redeems', async () => {
      const p = pkce();
      const { code } = await getCode(s.server, s.app, p);
      s.server.clock.advanceSeconds(59);
      assert.equal((await redeem(s.server, s.app, code, p.verifier)).status, 200);
    });

    it('wrong verifier, missing verifier, malformed verifier → invalid_grant (and the code is burnt)', async () => {
      const p = pkce();
      for (const verifier of [pkce().verifier, undefined, 'short', `${p.verifier}!`]) {
        const { code } = await getCode(s.server, s.app, p);
        const form: Record<string, string> = {
          grant_type: 'authorization_code',
          code,
          redirect_uri: s.app.redirectUri,
          client_id: s.app.clientId,
        };
        if (verifier !== undefined) form['code_verifier'] = verifier;
        assertRfcError(await postToken(s.server, form), 400, 'invalid_grant');
        // The right verifier afterwards does not help: a failed attempt consumed the code.
        assertRfcError(await redeem(s.server, s.app, code, p.verifier), 400, 'invalid_grant');
      }
    });

    it('a verifier for a code issued without a challenge → invalid_grant (PKCE downgrade)', async () => {
      const web = await createClient(s.server, {
        type: 'web',
        requirePkce: false,
        redirectUris: ['https://rp.example.com/cb'],
      });
      const p = pkce();
      const auth = {
        authorization: `Basic ${Buffer.from(`${web.clientId}:${web.secret}`).toString('base64')}`,
      };
      const a = await getCode(s.server, web, p, { code_challenge: null, code_challenge_method: null });
      const bad = await postToken(
        s.server,
        {
          grant_type: 'authorization_code',
          code: a.code,
          redirect_uri: web.redirectUri,
          code_verifier: p.verifier,
        },
        auth,
      );
      assertRfcError(bad, 400, 'invalid_grant');
      // Without a verifier, that client's code redeems (PKCE off for it).
      const b = await getCode(s.server, web, p, { code_challenge: null, code_challenge_method: null });
      const ok = await postToken(
        s.server,
        { grant_type: 'authorization_code', code: b.code, redirect_uri: web.redirectUri },
        auth,
      );
      assert.equal(ok.status, 200, JSON.stringify(ok.json));
    });

    it('a code issued to another client → invalid_grant', async () => {
      const other = await createClient(s.server);
      const p = pkce();
      const { code } = await getCode(s.server, s.app, p);
      assertRfcError(await redeem(s.server, other, code, p.verifier), 400, 'invalid_grant');
    });

    it('redirect_uri mismatch at /token → invalid_grant; missing when it was given → invalid_grant', async () => {
      const p = pkce();
      const a = await getCode(s.server, s.app, p, { redirect_uri: 'http://127.0.0.1:5000/callback' });
      assertRfcError(
        await redeem(s.server, s.app, a.code, p.verifier, { redirect_uri: 'http://127.0.0.1:5001/callback' }),
        400,
        'invalid_grant',
      );
      const b = await getCode(s.server, s.app, p);
      const { redirect_uri: _, ...form } = {
        grant_type: 'authorization_code',
        code: b.code,
        redirect_uri: '',
        client_id: s.app.clientId,
        code_verifier: p.verifier,
      };
      assertRfcError(await postToken(s.server, form), 400, 'invalid_grant');
    });

    it('an unknown or absurd code → invalid_grant; no code → invalid_request', async () => {
      const p = pkce();
      assertRfcError(await redeem(s.server, s.app, 'x'.repeat(43), p.verifier), 400, 'invalid_grant');
      assertRfcError(await redeem(s.server, s.app, 'x'.repeat(5000), p.verifier), 400, 'invalid_request');
      assertRfcError(
        await postToken(s.server, {
          grant_type: 'authorization_code',
          client_id: s.app.clientId,
          code_verifier: p.verifier,
        }),
        400,
        'invalid_request',
      );
    });

    it('a restart between /authorize and /token: the code still redeems', async () => {
      const s1 = await startTestServer();
      await createUser(s1, 'alice');
      const a1 = await createClient(s1);
      const p = pkce();
      const { code } = await getCode(s1, a1, p);
      await s1.stop();
      const s2 = await startTestServer({ dbPath: s1.dbPath, port: Number(new URL(s1.url).port) });
      try {
        // A fresh connection: the old server closed its keep-alive sockets when it stopped, and
        // fetch's shared pool would otherwise try one of them ("other side closed").
        const agent = new Agent();
        const res = await request(`${s2.url}/token`, {
          method: 'POST',
          dispatcher: agent,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            grant_type: 'authorization_code',
            code,
            redirect_uri: a1.redirectUri,
            client_id: a1.clientId,
            code_verifier: p.verifier,
          }).toString(),
        });
        const tok = { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
        assert.equal(tok.status, 200, JSON.stringify(tok.json));
        // Tokens signed before and after the restart come from the same published keys.
        const jwksRes = await request(`${s2.url}/jwks`, { dispatcher: agent });
        const jwks = (await jwksRes.body.json()) as { keys: { kid: string }[] };
        await agent.close();
        const { decodeProtectedHeader } = await import('jose');
        const kid = decodeProtectedHeader(tok.json['access_token'] as string).kid;
        assert.ok(jwks.keys.some((k) => k.kid === kid));
      } finally {
        await s2.cleanup();
        await s1.cleanup();
      }
    });
  });

  describe('/token', () => {
    let web: App;

    before(async () => {
      web = await createClient(s.server, { type: 'web', redirectUris: ['https://rp.example.com/cb'] });
      assert.ok(web.secret);
    });

    it('confidential client with client_secret_basic', async () => {
      const p = pkce();
      const { code } = await getCode(s.server, web, p);
      const r = await postToken(
        s.server,
        { grant_type: 'authorization_code', code, redirect_uri: web.redirectUri, code_verifier: p.verifier },
        { authorization: basic(web.clientId, web.secret!) },
      );
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.equal(r.headers.get('cache-control'), 'no-store');
      assert.ok(r.json['id_token']);
    });

    it('confidential client with client_secret_post', async () => {
      const p = pkce();
      const { code } = await getCode(s.server, web, p);
      const r = await postToken(s.server, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: web.redirectUri,
        code_verifier: p.verifier,
        client_id: web.clientId,
        client_secret: web.secret!,
      });
      assert.equal(r.status, 200, JSON.stringify(r.json));
    });

    it('a wrong secret (Basic or post) → 401 invalid_client with WWW-Authenticate', async () => {
      const p = pkce();
      const { code } = await getCode(s.server, web, p);
      const form = {
        grant_type: 'authorization_code',
        code,
        redirect_uri: web.redirectUri,
        code_verifier: p.verifier,
      };
      const viaBasic = await postToken(s.server, form, { authorization: basic(web.clientId, 'wrong') });
      assertRfcError(viaBasic, 401, 'invalid_client');
      assert.match(viaBasic.headers.get('www-authenticate') ?? '', /^Basic/);
      const viaPost = await postToken(s.server, { ...form, client_id: web.clientId, client_secret: 'wrong' });
      assertRfcError(viaPost, 401, 'invalid_client');
      assert.ok(viaPost.headers.get('www-authenticate'));
      // A confidential client without any secret is not authenticated either.
      assertRfcError(await postToken(s.server, { ...form, client_id: web.clientId }), 401, 'invalid_client');
      // Failed client authentication does not burn the code.
      const ok = await postToken(s.server, form, { authorization: basic(web.clientId, web.secret!) });
      assert.equal(ok.status, 200, JSON.stringify(ok.json));
    });

    it('an unknown client → 401 invalid_client', async () => {
      const r = await postToken(s.server, { grant_type: 'authorization_code', code: 'x', client_id: 'nope' });
      assertRfcError(r, 401, 'invalid_client');
    });

    it('a public client must send client_id', async () => {
      const p = pkce();
      const { code } = await getCode(s.server, s.app, p);
      const r = await postToken(s.server, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: s.app.redirectUri,
        code_verifier: p.verifier,
      });
      assertRfcError(r, 401, 'invalid_client');
      assert.equal((await redeem(s.server, s.app, code, p.verifier)).status, 200, 'the code was not burnt');
    });

    it('a JSON body → 400 invalid_request', async () => {
      const res = await fetch(`${s.server.url}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'authorization_code', code: 'x', client_id: s.app.clientId }),
      });
      assertRfcError(
        { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> },
        400,
        'invalid_request',
      );
    });

    it('GET /token is not a token request', async () => {
      const res = await fetch(`${s.server.url}/token?grant_type=authorization_code`);
      assert.ok(res.status === 404 || res.status === 405, String(res.status));
    });

    it('unsupported or missing grant_type; parameters twice', async () => {
      assertRfcError(
        await postToken(s.server, { grant_type: 'password', client_id: s.app.clientId }),
        400,
        'unsupported_grant_type',
      );
      assertRfcError(await postToken(s.server, { client_id: s.app.clientId }), 400, 'invalid_request');
      const res = await fetch(`${s.server.url}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `grant_type=authorization_code&code=a&code=b&client_id=${s.app.clientId}`,
      });
      assertRfcError(
        { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> },
        400,
        'invalid_request',
      );
    });

    it('both Basic and client_secret → invalid_request (one method only)', async () => {
      const r = await postToken(
        s.server,
        { grant_type: 'authorization_code', code: 'x', client_id: web.clientId, client_secret: web.secret! },
        { authorization: basic(web.clientId, web.secret!) },
      );
      assert.equal(r.status, 400);
      assert.equal(r.json['error'], 'invalid_request');
    });

    it('success responses are no-store JSON with the RFC 6749 §5.1 members', async () => {
      const p = pkce();
      const { code } = await getCode(s.server, s.app, p, { scope: 'openid profile' });
      const r = await redeem(s.server, s.app, code, p.verifier);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('cache-control'), 'no-store');
      assert.equal(r.headers.get('pragma'), 'no-cache');
      assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
      assert.equal(typeof r.json['access_token'], 'string');
      assert.match(String(r.json['token_type']), /^bearer$/i);
      assert.equal(typeof r.json['expires_in'], 'number');
      assert.equal(r.json['scope'], 'openid profile');
    });
  });
});

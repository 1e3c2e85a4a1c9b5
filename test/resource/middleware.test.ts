/** RFC 6750 responses from the Fastify preHandler (through the sample API) and the Express middleware. */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { SignJWT } from 'jose';
import {
  createVerifier,
  expressRequireToken,
  type RequestWithAuth,
  requireToken,
} from '../../src/resource/index.js';
import { buildSampleApi } from '../../src/resource/sample-api.js';

const ISSUER = 'https://issuer.test';
const AUD = 'api://default';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwks = { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' }] };
const verifier = createVerifier({ issuer: ISSUER, audience: AUD, jwks });

async function token(scope: string, over: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: ISSUER,
    aud: AUD,
    sub: 'user-1',
    client_id: 'app',
    scope,
    jti: `j${Math.random()}`,
    iat: now,
    exp: now + 300,
    ...over,
  })
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'k1' })
    .sign(privateKey);
}

interface Call {
  status: number;
  wwwAuthenticate: string | undefined;
  body: Record<string, unknown>;
}

/** The same expectations for both frameworks. */
function contract(name: string, call: (path: string, authorization?: string) => Promise<Call>) {
  describe(`${name} middleware`, () => {
    it('lets a valid token through and exposes the claims', async () => {
      const r = await call('/hello', `Bearer ${await token('openid')}`);
      assert.equal(r.status, 200);
      assert.equal(r.body['sub'], 'user-1');
      assert.equal(r.body['client_id'], 'app');
    });

    it('401 without error code when no token is sent (RFC 6750 §3.1)', async () => {
      for (const auth of [undefined, 'Basic dXNlcjpwYXNz']) {
        const r = await call('/hello', auth);
        assert.equal(r.status, 401);
        assert.match(r.wwwAuthenticate ?? '', /^Bearer\b/);
        assert.doesNotMatch(r.wwwAuthenticate ?? '', /error=/);
      }
    });

    it('401 invalid_token with a description for a bad token', async () => {
      const expired = await token('openid', { exp: Math.floor(Date.now() / 1000) - 100 });
      for (const auth of [
        'Bearer not.a.jwt',
        `Bearer ${expired}`,
        `bearer ${(await token('openid')).slice(0, -3)}AAA`,
      ]) {
        const r = await call('/hello', auth);
        assert.equal(r.status, 401, auth);
        assert.match(r.wwwAuthenticate ?? '', /^Bearer .*error="invalid_token", error_description="[^"]+"/);
        assert.equal(r.body['error'], 'invalid_token');
      }
    });

    it('400 invalid_request for a malformed Authorization header', async () => {
      const r = await call('/hello', 'Bearer two words');
      assert.equal(r.status, 400);
      assert.match(r.wwwAuthenticate ?? '', /error="invalid_request"/);
    });

    it('403 insufficient_scope with scope="…" when a scope is missing', async () => {
      const r = await call('/profile', `Bearer ${await token('openid')}`);
      assert.equal(r.status, 403);
      assert.match(r.wwwAuthenticate ?? '', /error="insufficient_scope"/);
      assert.match(r.wwwAuthenticate ?? '', /scope="profile"/);
      assert.equal(r.body['error'], 'insufficient_scope');
      const ok = await call('/profile', `Bearer ${await token('openid profile')}`);
      assert.equal(ok.status, 200);
    });
  });
}

describe('Fastify preHandler', () => {
  it('never runs the route handler when the token is refused', async () => {
    const Fastify = (await import('fastify')).default;
    const app = Fastify();
    let ran = 0;
    app.get('/x', { preHandler: requireToken(verifier, { requiredScopes: ['admin'] }) }, async () => {
      ran++;
      return { ok: true };
    });
    for (const authorization of [undefined, 'Bearer junk', `Bearer ${await token('openid')}`]) {
      const res = await app.inject({
        method: 'GET',
        url: '/x',
        headers: authorization ? { authorization } : {},
      });
      assert.ok(res.statusCode === 401 || res.statusCode === 403, String(res.statusCode));
      assert.equal(res.headers['cache-control'], 'no-store');
    }
    assert.equal(ran, 0);
    const ok = await app.inject({
      method: 'GET',
      url: '/x',
      headers: { authorization: `Bearer ${await token('admin')}` },
    });
    assert.equal(ok.statusCode, 200);
    assert.equal(ran, 1);
    await app.close();
  });
});

describe('resource middleware', () => {
  const fastifyApp = buildSampleApi({ issuer: ISSUER, verifier });
  const app = express();
  app.get('/hello', expressRequireToken(verifier), (req, res) => {
    const { claims } = (req as RequestWithAuth).auth!;
    res.json({ sub: claims.sub, client_id: claims.client_id });
  });
  app.get('/profile', expressRequireToken(verifier, { requiredScopes: ['profile'] }), (req, res) => {
    res.json({ sub: (req as RequestWithAuth).auth!.claims.sub });
  });
  let listener: ReturnType<typeof app.listen>;
  let expressUrl = '';

  before(async () => {
    await new Promise<void>((resolve) => {
      listener = app.listen(0, '127.0.0.1', () => resolve());
    });
    expressUrl = `http://127.0.0.1:${(listener.address() as AddressInfo).port}`;
  });
  after(async () => {
    await fastifyApp.close();
    await new Promise((r) => listener.close(r));
  });

  contract('Fastify (sample API)', async (path, authorization) => {
    const res = await fastifyApp.inject({
      method: 'GET',
      url: path,
      headers: authorization ? { authorization } : {},
    });
    return {
      status: res.statusCode,
      wwwAuthenticate: res.headers['www-authenticate'] as string | undefined,
      body: res.json(),
    };
  });

  contract('Express', async (path, authorization) => {
    const res = await fetch(`${expressUrl}${path}`, { headers: authorization ? { authorization } : {} });
    return {
      status: res.status,
      wwwAuthenticate: res.headers.get('www-authenticate') ?? undefined,
      body: (await res.json()) as Record<string, unknown>,
    };
  });
});

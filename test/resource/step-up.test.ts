/**
 * Step-up at a resource server (RFC 9470): `acrValues` and `maxAge` on createVerifier, per call
 * and per route. A token whose `acr` falls short (Latchkey's levels count upwards, other values
 * match exactly), whose `auth_time` is too old on the verifier's clock, or that says neither, is
 * refused with `insufficient_user_authentication`, 401, and a `WWW-Authenticate` naming the whole
 * requirement (§3); the same through Fastify (the sample API's /mfa too) and Express, and under
 * the DPoP scheme for a DPoP-bound token.
 */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import Fastify from 'fastify';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from 'jose';
import {
  acrSatisfies,
  createVerifier,
  expressRequireToken,
  type RequestWithAuth,
  requireToken,
  VerificationError,
  wwwAuthenticate,
} from '../../src/resource/index.js';
import { buildSampleApi } from '../../src/resource/sample-api.js';

const ISSUER = 'https://issuer.test';
const AUD = 'api://default';
const PWD = 'urn:latchkey:acr:pwd';
const MFA = 'urn:latchkey:acr:mfa';
const PHR = 'urn:latchkey:acr:phr';
const signing = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwks = {
  keys: [{ ...signing.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' }],
};

/** A fixed clock the tests move by hand (no waiting). */
let nowMs = 1_800_000_000_000;
const now = () => nowMs;
const nowSec = () => Math.floor(nowMs / 1000);

/** An access token signed now; `over` sets (or, with undefined, removes) claims. */
function token(over: Record<string, unknown> = {}): Promise<string> {
  const claims: Record<string, unknown> = {
    iss: ISSUER,
    aud: AUD,
    sub: 'user-1',
    client_id: 'app',
    scope: 'openid profile',
    jti: randomBytes(8).toString('hex'),
    iat: nowSec(),
    exp: nowSec() + 600,
    acr: PWD,
    auth_time: nowSec() - 60,
  };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) delete claims[k];
    else claims[k] = v;
  }
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'k1' })
    .sign(signing.privateKey);
}

const verifier = (opts: { acrValues?: string[]; maxAge?: number } = {}) =>
  createVerifier({ issuer: ISSUER, audience: AUD, jwks, now, ...opts });

/** Asserts a step-up refusal; returns it. */
async function refused(p: Promise<unknown>, message?: RegExp): Promise<VerificationError> {
  let out: VerificationError | undefined;
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof VerificationError, String(e));
    assert.equal(e.code, 'LATCHKEY_INSUFFICIENT_USER_AUTHENTICATION', e.message);
    assert.equal(e.error, 'insufficient_user_authentication');
    assert.equal(e.status, 401);
    if (message) assert.match(e.message, message);
    out = e;
    return true;
  });
  return out!;
}

describe('verifier: acrValues and maxAge (RFC 9470)', () => {
  it('refuses a weaker acr and accepts the same or a stronger Latchkey level', async () => {
    const v = verifier({ acrValues: [MFA] });
    const err = await refused(v.verify(await token({ acr: PWD })), /stronger sign-in.*urn:latchkey:acr:pwd/);
    assert.deepEqual(err.acrValues, [MFA]);
    assert.equal(err.maxAge, undefined);
    assert.equal((await v.verify(await token({ acr: MFA }))).claims.acr, MFA);
    assert.equal((await v.verify(await token({ acr: PHR }))).claims.acr, PHR, 'phr meets mfa');
    await refused(verifier({ acrValues: [PHR] }).verify(await token({ acr: MFA })));
  });

  it('refuses a token without acr the same way, and one whose acr is not a string as invalid', async () => {
    const v = verifier({ acrValues: [MFA] });
    await refused(v.verify(await token({ acr: undefined })), /no acr/);
    await assert.rejects(
      v.verify(await token({ acr: 2 })),
      (e: unknown) => e instanceof VerificationError && e.code === 'LATCHKEY_CLAIM_INVALID',
    );
    // Without a requirement, neither matters.
    await verifier().verify(await token({ acr: undefined, auth_time: undefined }));
  });

  it('compares other issuers’ acr values by equality, and any of several', async () => {
    const v = verifier({ acrValues: ['urn:example:loa:2', MFA] });
    await v.verify(await token({ acr: 'urn:example:loa:2' }));
    await refused(v.verify(await token({ acr: 'urn:example:loa:3' })), /urn:example:loa:3/);
    await v.verify(await token({ acr: PHR }), { acrValues: [MFA] });
    // A Latchkey level says nothing about a foreign one.
    await refused(v.verify(await token({ acr: PHR }), { acrValues: ['urn:example:loa:1'] }));
    assert.equal(acrSatisfies(PHR, [PWD]), true);
    assert.equal(acrSatisfies(PWD, [PWD, 'x']), true);
    assert.equal(acrSatisfies('urn:latchkey:acr:other', [PWD]), false);
    assert.equal(acrSatisfies(undefined, [PWD]), false);
    assert.equal(acrSatisfies(PWD, []), false);
  });

  it('refuses an auth_time older than maxAge on the injected clock, with the clock tolerance', async () => {
    const v = verifier({ maxAge: 300 });
    const signedIn = nowSec() - 10;
    const t = await token({ auth_time: signedIn });
    await v.verify(t);
    const start = nowMs;
    try {
      // 300 s plus the default 5 s tolerance: accepted to the second, refused after.
      nowMs = (signedIn + 305) * 1000;
      await v.verify(t);
      nowMs = (signedIn + 306) * 1000;
      const err = await refused(
        v.verify(t),
        /more recent sign-in.*at most 300 s ago; this one was 306 s ago/,
      );
      assert.equal(err.maxAge, 300);
      assert.equal(err.acrValues, undefined);
      const strict = createVerifier({
        issuer: ISSUER,
        audience: AUD,
        jwks,
        now,
        maxAge: 300,
        clockToleranceSec: 0,
      });
      nowMs = (signedIn + 301) * 1000;
      await refused(strict.verify(t));
    } finally {
      nowMs = start;
    }
  });

  it('refuses a token without auth_time when maxAge is required, and one whose auth_time is not a number', async () => {
    const v = verifier({ maxAge: 3600 });
    await refused(v.verify(await token({ auth_time: undefined })), /no auth_time/);
    await assert.rejects(
      v.verify(await token({ auth_time: String(nowSec()) })),
      (e: unknown) => e instanceof VerificationError && e.code === 'LATCHKEY_CLAIM_INVALID',
    );
  });

  it('names the whole requirement when one part fails, so that one new sign-in meets it', async () => {
    const v = verifier({ acrValues: [MFA], maxAge: 600 });
    const stale = await refused(
      v.verify(await token({ acr: MFA, auth_time: nowSec() - 900 })),
      /more recent/,
    );
    assert.deepEqual(stale.acrValues, [MFA]);
    assert.equal(stale.maxAge, 600);
    await v.verify(await token({ acr: PHR, auth_time: nowSec() - 30 }));
  });

  it('lets a call replace the verifier’s requirement ([] drops it)', async () => {
    const v = verifier({ acrValues: [MFA], maxAge: 60 });
    const pwdOld = await token({ acr: PWD, auth_time: nowSec() - 120 });
    await refused(v.verify(pwdOld));
    await refused(v.verify(pwdOld, { acrValues: [] }), /more recent/);
    await v.verify(pwdOld, { acrValues: [], maxAge: 600 });
    await refused(verifier().verify(pwdOld, { acrValues: [MFA] }), /stronger/);
  });

  it('checks scopes first: a token that lacks a scope still would after a new sign-in', async () => {
    const v = verifier({ acrValues: [MFA] });
    await assert.rejects(
      v.verify(await token({ scope: 'openid' }), { requiredScopes: ['orders'] }),
      (e: unknown) => e instanceof VerificationError && e.code === 'LATCHKEY_INSUFFICIENT_SCOPE',
    );
  });

  it('checks the options: at construction, per call, and when a middleware is made', async () => {
    for (const bad of [
      { acrValues: 'urn:latchkey:acr:mfa' },
      { acrValues: ['two words'] },
      { acrValues: ['with"quote'] },
      { acrValues: [''] },
      { acrValues: [7] },
      { maxAge: -1 },
      { maxAge: 1.5 },
      { maxAge: '300' },
    ] as never[]) {
      const isArg = (e: unknown) => e instanceof VerificationError && e.code === 'LATCHKEY_INVALID_ARGUMENT';
      assert.throws(() => createVerifier({ issuer: ISSUER, audience: AUD, jwks, ...(bad as object) }), isArg);
      assert.throws(() => requireToken(verifier(), bad), isArg);
      assert.throws(() => expressRequireToken(verifier(), bad), isArg);
      await assert.rejects(verifier().verify(await token(), bad), isArg);
    }
    verifier({ acrValues: [], maxAge: 0 });
  });
});

describe('the RFC 9470 §3 challenge', () => {
  it('is exactly Bearer error, error_description, acr_values (quoted, space-separated), max_age (a token)', () => {
    const err = new VerificationError(
      'LATCHKEY_INSUFFICIENT_USER_AUTHENTICATION',
      'A stronger sign-in is required',
      {
        error: 'insufficient_user_authentication',
        acrValues: [MFA, PHR],
        maxAge: 300,
      },
    );
    assert.equal(err.status, 401);
    assert.equal(
      wwwAuthenticate(err),
      'Bearer error="insufficient_user_authentication", error_description="A stronger sign-in is required", ' +
        'acr_values="urn:latchkey:acr:mfa urn:latchkey:acr:phr", max_age=300',
    );
    assert.equal(
      wwwAuthenticate(err, 'orders'),
      'Bearer realm="orders", error="insufficient_user_authentication", error_description="A stronger sign-in is required", ' +
        'acr_values="urn:latchkey:acr:mfa urn:latchkey:acr:phr", max_age=300',
    );
    const onlyAge = new VerificationError(
      'LATCHKEY_INSUFFICIENT_USER_AUTHENTICATION',
      'More recent authentication is required',
      {
        error: 'insufficient_user_authentication',
        maxAge: 0,
      },
    );
    assert.equal(
      wwwAuthenticate(onlyAge),
      'Bearer error="insufficient_user_authentication", error_description="More recent authentication is required", max_age=0',
    );
    const dpop = new VerificationError('LATCHKEY_INSUFFICIENT_USER_AUTHENTICATION', 'x', {
      error: 'insufficient_user_authentication',
      acrValues: [MFA],
      scheme: 'DPoP',
    });
    assert.equal(
      wwwAuthenticate(dpop),
      'DPoP algs="ES256 EdDSA PS256 RS256", error="insufficient_user_authentication", error_description="x", acr_values="urn:latchkey:acr:mfa"',
    );
  });

  it('is made from a verifier refusal with what the verifier requires', async () => {
    const v = verifier({ acrValues: [MFA], maxAge: 900 });
    const err = await refused(v.verify(await token()));
    assert.match(
      wwwAuthenticate(err),
      /^Bearer error="insufficient_user_authentication", error_description="[^"]+", acr_values="urn:latchkey:acr:mfa", max_age=900$/,
    );
  });
});

interface Call {
  status: number;
  wwwAuthenticate: string | undefined;
  body: Record<string, unknown>;
}

const CHALLENGE =
  /^Bearer realm="api", error="insufficient_user_authentication", error_description="[^"]+", acr_values="urn:latchkey:acr:mfa", max_age=600$/;

function contract(name: string, call: (path: string, authorization?: string) => Promise<Call>) {
  describe(`${name}: step-up routes`, () => {
    it('answers 401 with the challenge for a password-only token, and passes an mfa one', async () => {
      const r = await call('/transfer', `Bearer ${await token({ acr: PWD })}`);
      assert.equal(r.status, 401);
      assert.match(r.wwwAuthenticate ?? '', CHALLENGE);
      assert.equal(r.body['error'], 'insufficient_user_authentication');
      const ok = await call('/transfer', `Bearer ${await token({ acr: MFA })}`);
      assert.equal(ok.status, 200);
      assert.equal(ok.body['acr'], MFA);
    });

    it('answers the challenge for a stale sign-in and for a token that says nothing', async () => {
      const stale = await call(
        '/transfer',
        `Bearer ${await token({ acr: PHR, auth_time: nowSec() - 3600 })}`,
      );
      assert.equal(stale.status, 401);
      assert.match(stale.wwwAuthenticate ?? '', CHALLENGE);
      const silent = await call(
        '/transfer',
        `Bearer ${await token({ acr: undefined, auth_time: undefined })}`,
      );
      assert.equal(silent.status, 401);
      assert.match(silent.wwwAuthenticate ?? '', CHALLENGE);
    });

    it('leaves routes without a requirement as they were, and uses the verifier’s where it has one', async () => {
      assert.equal((await call('/open', `Bearer ${await token({ acr: undefined })}`)).status, 200);
      const r = await call('/strict', `Bearer ${await token({ acr: MFA })}`);
      assert.equal(r.status, 401);
      assert.match(r.wwwAuthenticate ?? '', /acr_values="urn:latchkey:acr:phr"/);
      assert.doesNotMatch(r.wwwAuthenticate ?? '', /max_age/);
    });
  });
}

describe('middlewares', () => {
  const v = verifier();
  const phrOnly = verifier({ acrValues: [PHR] });
  const route = { realm: 'api', acrValues: [MFA], maxAge: 600 };
  const fastifyApp = Fastify();
  fastifyApp.get('/transfer', { preHandler: requireToken(v, route) }, async (req) => ({
    acr: req.auth!.claims.acr,
  }));
  fastifyApp.get('/open', { preHandler: requireToken(v) }, async () => ({ ok: true }));
  fastifyApp.get('/strict', { preHandler: requireToken(phrOnly) }, async () => ({ ok: true }));
  const app = express();
  app.get('/transfer', expressRequireToken(v, route), (req, res) => {
    res.json({ acr: (req as RequestWithAuth).auth!.claims.acr });
  });
  app.get('/open', expressRequireToken(v), (_req, res) => {
    res.json({ ok: true });
  });
  app.get('/strict', expressRequireToken(phrOnly), (_req, res) => {
    res.json({ ok: true });
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

  contract('Fastify', async (path, authorization) => {
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

  it('challenges a DPoP-bound token with the DPoP scheme (RFC 9449 §7.1)', async () => {
    const dpopApp = Fastify();
    dpopApp.get(
      '/transfer',
      { preHandler: requireToken(v, { ...route, publicOrigin: 'https://api.example' }) },
      async () => ({
        ok: true,
      }),
    );
    try {
      const { privateKey, publicKey } = await generateKeyPair('ES256');
      const jwk = await exportJWK(publicKey);
      const jkt = await calculateJwkThumbprint(jwk, 'sha256');
      const at = await token({ acr: PWD, cnf: { jkt } });
      const proof = await new SignJWT({
        jti: randomBytes(12).toString('base64url'),
        htm: 'GET',
        htu: 'https://api.example/transfer',
        iat: nowSec(),
        ath: createHash('sha256').update(at).digest('base64url'),
      })
        .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk })
        .sign(privateKey);
      const res = await dpopApp.inject({
        method: 'GET',
        url: '/transfer',
        headers: { authorization: `DPoP ${at}`, dpop: proof },
      });
      assert.equal(res.statusCode, 401, res.body);
      assert.match(
        String(res.headers['www-authenticate']),
        /^DPoP algs="[^"]+", realm="api", error="insufficient_user_authentication", error_description="[^"]+", acr_values="urn:latchkey:acr:mfa", max_age=600$/,
      );
    } finally {
      await dpopApp.close();
    }
  });
});

describe('the sample API', () => {
  const api = buildSampleApi({ issuer: ISSUER, verifier: verifier() });
  after(() => api.close());

  it('GET /mfa needs urn:latchkey:acr:mfa (or stronger); /hello and /profile need no second factor', async () => {
    const get = async (url: string, acr: string) =>
      api.inject({ method: 'GET', url, headers: { authorization: `Bearer ${await token({ acr })}` } });
    const low = await get('/mfa', PWD);
    assert.equal(low.statusCode, 401);
    assert.match(
      String(low.headers['www-authenticate']),
      /^Bearer realm="latchkey-sample-api", error="insufficient_user_authentication", error_description="[^"]+", acr_values="urn:latchkey:acr:mfa"$/,
    );
    const ok = await get('/mfa', PHR);
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(ok.json(), { sub: 'user-1', acr: PHR, auth_time: nowSec() - 60 });
    assert.equal((await get('/hello', PWD)).statusCode, 200);
    assert.equal((await get('/profile', PWD)).statusCode, 200);
  });
});

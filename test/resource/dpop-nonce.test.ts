/**
 * DPoP server nonces at a resource server (RFC 9449 §9): createVerifier's `dpopNonce` and the
 * Fastify and Express middlewares. Every refusal — no nonce, a wrong one (forged, malformed, from
 * another secret), an expired one — is a 401 whose challenge is `DPoP error="use_dpop_nonce"`
 * with the nonce to use in `DPoP-Nonce`; a proof with the current or the previous window's nonce
 * is accepted and its response carries the current nonce. End to end: latchkey/client's
 * fetchResource, with tokens a real server bound to its key, retries once and then keeps using
 * the nonce it was given.
 */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { DpopKey, LatchkeyClient, startLoopbackReceiver, type TokenSet } from '../../src/client/index.js';
import { ManualClock } from '../../src/clock.js';
import { DPOP_NONCE_WINDOW_SEC } from '../../src/protocol/dpop-nonce.js';
import {
  type AccessTokenVerifier,
  createVerifier,
  expressRequireToken,
  type RequestWithAuth,
  VerificationError,
  type VerifierOptions,
} from '../../src/resource/index.js';
import { buildSampleApi } from '../../src/resource/sample-api.js';
import { authorizeThroughBrowser, Browser } from '../helpers/browser.js';
import { withServer } from '../helpers/flow.js';
import { createClient } from '../helpers/server.js';

const ISSUER = 'https://issuer.test';
const AUD = 'api://default';
const SECRET = 'a shared secret of the API instances';
const signing = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwks = {
  keys: [{ ...signing.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' }],
};

interface Holder {
  privateKey: CryptoKey;
  jwk: JWK;
  jkt: string;
}

async function holder(): Promise<Holder> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = await exportJWK(publicKey);
  return { privateKey, jwk, jkt: await calculateJwkThumbprint(jwk, 'sha256') };
}

/** An access token bound to the holder's key (cnf.jkt), or a Bearer one. */
function accessToken(clock: ManualClock, jkt?: string): Promise<string> {
  const now = Math.floor(clock.now() / 1000);
  return new SignJWT({
    iss: ISSUER,
    aud: AUD,
    sub: 'user-1',
    client_id: 'app',
    scope: 'openid profile',
    jti: randomBytes(8).toString('hex'),
    iat: now,
    exp: now + 3600,
    ...(jkt ? { cnf: { jkt } } : {}),
  })
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'k1' })
    .sign(signing.privateKey);
}

function proof(
  h: Holder,
  clock: ManualClock,
  o: { url: string; token: string; nonce?: string; jti?: string; method?: string },
): Promise<string> {
  return new SignJWT({
    jti: o.jti ?? randomBytes(12).toString('base64url'),
    htm: o.method ?? 'GET',
    htu: o.url,
    iat: Math.floor(clock.now() / 1000),
    ath: createHash('sha256').update(o.token).digest('base64url'),
    ...(o.nonce !== undefined ? { nonce: o.nonce } : {}),
  })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: h.jwk })
    .sign(h.privateKey);
}

const URL_ = 'https://api.example/hello';

function verifierWith(clock: ManualClock, dpopNonce: VerifierOptions['dpopNonce']): AccessTokenVerifier {
  return createVerifier({ issuer: ISSUER, audience: AUD, jwks, now: () => clock.now(), dpopNonce });
}

/** What a refusal for want of a (valid) nonce looks like; returns the nonce it gave. */
async function nonceRefusal(p: Promise<unknown>, description: RegExp): Promise<string> {
  let nonce = '';
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof VerificationError, String(err));
    assert.equal(err.code, 'LATCHKEY_DPOP_NONCE');
    assert.equal(err.error, 'use_dpop_nonce');
    assert.equal(err.status, 401);
    assert.match(err.message, description);
    assert.match(err.dpopNonce ?? '', /^[A-Za-z0-9_-]{32}$/);
    nonce = err.dpopNonce!;
    return true;
  });
  return nonce;
}

describe('createVerifier dpopNonce (RFC 9449 §9)', () => {
  it('checks its options before any request', () => {
    for (const dpopNonce of [
      'yes',
      { secret: 'short' },
      { secret: 42 },
      { windowSec: 5 },
      { windowSec: 1.5 },
      { required: 'no' },
    ] as never[]) {
      assert.throws(
        () => createVerifier({ issuer: ISSUER, audience: AUD, jwks, dpopNonce }),
        (e: unknown) => e instanceof VerificationError && e.code === 'LATCHKEY_INVALID_ARGUMENT',
        JSON.stringify(dpopNonce),
      );
    }
  });

  it('missing nonce: use_dpop_nonce with the nonce to use, and the jti is not spent', async () => {
    const clock = new ManualClock();
    const v = verifierWith(clock, { secret: SECRET });
    const h = await holder();
    const token = await accessToken(clock, h.jkt);
    const first = await proof(h, clock, { url: URL_, token, jti: 'the-same-jti' });
    const nonce = await nonceRefusal(
      v.verify(token, { dpop: { proof: first, method: 'GET', url: URL_ } }),
      /must carry the server nonce/,
    );
    const retried = await proof(h, clock, { url: URL_, token, jti: 'the-same-jti', nonce });
    const ok = await v.verify(token, { dpop: { proof: retried, method: 'GET', url: URL_ } });
    assert.equal(ok.claims.sub, 'user-1');
    assert.equal(ok.dpopNonce, nonce, 'the current nonce, for the response');
  });

  it('wrong nonce: forged, malformed, from another secret, from the authorization server’s scheme under another key', async () => {
    const clock = new ManualClock();
    const v = verifierWith(clock, { secret: SECRET });
    const other = verifierWith(clock, { secret: 'another secret, another API' });
    const h = await holder();
    const token = await accessToken(clock, h.jkt);
    const otherNonce = await nonceRefusal(
      other.verify(token, {
        dpop: { proof: await proof(h, clock, { url: URL_, token }), method: 'GET', url: URL_ },
      }),
      /nonce/,
    );
    const good = await nonceRefusal(
      v.verify(token, {
        dpop: { proof: await proof(h, clock, { url: URL_, token }), method: 'GET', url: URL_ },
      }),
      /nonce/,
    );
    // The last character changed: same length and alphabet, the HMAC no longer holds.
    const forged = `${good.slice(0, -1)}${good.endsWith('A') ? 'B' : 'A'}`;
    for (const nonce of [otherNonce, forged, 'not-a-nonce', randomBytes(24).toString('base64url'), '']) {
      const p = await proof(h, clock, { url: URL_, token, nonce });
      await nonceRefusal(
        v.verify(token, { dpop: { proof: p, method: 'GET', url: URL_ } }),
        /old or unknown nonce/,
      );
    }
  });

  it('expired nonce: the previous window’s is accepted, an older one is refused', async () => {
    const clock = new ManualClock();
    const v = verifierWith(clock, { secret: SECRET });
    const h = await holder();
    const token = await accessToken(clock, h.jkt);
    const nonce = await nonceRefusal(
      v.verify(token, {
        dpop: { proof: await proof(h, clock, { url: URL_, token }), method: 'GET', url: URL_ },
      }),
      /nonce/,
    );
    clock.advanceSeconds(DPOP_NONCE_WINDOW_SEC);
    const stillOk = await v.verify(token, {
      dpop: { proof: await proof(h, clock, { url: URL_, token, nonce }), method: 'GET', url: URL_ },
    });
    assert.notEqual(stillOk.dpopNonce, nonce, 'a fresh nonce comes with the response');
    clock.advanceSeconds(DPOP_NONCE_WINDOW_SEC);
    const fresh = await nonceRefusal(
      v.verify(token, {
        dpop: { proof: await proof(h, clock, { url: URL_, token, nonce }), method: 'GET', url: URL_ },
      }),
      /old or unknown nonce/,
    );
    assert.notEqual(fresh, nonce);
    assert.notEqual(fresh, stillOk.dpopNonce, 'two windows on: yet another nonce');
  });

  it('success: instances with one secret accept each other’s nonces; windowSec shortens their life', async () => {
    const clock = new ManualClock();
    const a = verifierWith(clock, { secret: SECRET, windowSec: 30 });
    const b = verifierWith(clock, { secret: new TextEncoder().encode(SECRET), windowSec: 30 });
    const h = await holder();
    const token = await accessToken(clock, h.jkt);
    const nonce = await nonceRefusal(
      a.verify(token, {
        dpop: { proof: await proof(h, clock, { url: URL_, token }), method: 'GET', url: URL_ },
      }),
      /nonce/,
    );
    const ok = await b.verify(token, {
      dpop: { proof: await proof(h, clock, { url: URL_, token, nonce }), method: 'GET', url: URL_ },
    });
    assert.equal(ok.dpopNonce, nonce);
    clock.advanceSeconds(61);
    await nonceRefusal(
      b.verify(token, {
        dpop: { proof: await proof(h, clock, { url: URL_, token, nonce }), method: 'GET', url: URL_ },
      }),
      /old or unknown/,
    );
  });

  it('per call: dpopNonce false skips it, true asks for it on a verifier without the option; Bearer tokens never need one', async () => {
    const clock = new ManualClock();
    const h = await holder();
    const token = await accessToken(clock, h.jkt);
    const withNonces = verifierWith(clock, true);
    const skipped = await withNonces.verify(token, {
      dpop: { proof: await proof(h, clock, { url: URL_, token }), method: 'GET', url: URL_ },
      dpopNonce: false,
    });
    assert.equal(skipped.dpopNonce, undefined);
    const bearer = await withNonces.verify(await accessToken(clock));
    assert.equal(bearer.dpopNonce, undefined);

    const plain = verifierWith(clock, undefined);
    assert.equal(
      (
        await plain.verify(token, {
          dpop: { proof: await proof(h, clock, { url: URL_, token }), method: 'GET', url: URL_ },
        })
      ).dpopNonce,
      undefined,
    );
    const nonce = await nonceRefusal(
      plain.verify(token, {
        dpop: { proof: await proof(h, clock, { url: URL_, token }), method: 'GET', url: URL_ },
        dpopNonce: true,
      }),
      /nonce/,
    );
    const ok = await plain.verify(token, {
      dpop: { proof: await proof(h, clock, { url: URL_, token, nonce }), method: 'GET', url: URL_ },
      dpopNonce: true,
    });
    assert.equal(ok.dpopNonce, nonce);

    const optional = verifierWith(clock, { secret: SECRET, required: false });
    assert.ok(
      await optional.verify(token, {
        dpop: { proof: await proof(h, clock, { url: URL_, token }), method: 'GET', url: URL_ },
      }),
    );
  });

  it('a proof that fails for another reason stays invalid_token (no nonce is handed out for it)', async () => {
    const clock = new ManualClock();
    const v = verifierWith(clock, { secret: SECRET });
    const h = await holder();
    const token = await accessToken(clock, h.jkt);
    const wrongHtu = await proof(h, clock, { url: 'https://api.example/other', token });
    await assert.rejects(
      v.verify(token, { dpop: { proof: wrongHtu, method: 'GET', url: URL_ } }),
      (e: unknown) =>
        e instanceof VerificationError && e.code === 'LATCHKEY_DPOP_INVALID' && e.dpopNonce === undefined,
    );
    // The nonce is not a secret (every client of the window shares it): a proof of another key
    // may be told it; with it, the proof is still refused for its key.
    const stranger = await holder();
    const nonce = await nonceRefusal(
      v.verify(token, {
        dpop: { proof: await proof(stranger, clock, { url: URL_, token }), method: 'GET', url: URL_ },
      }),
      /nonce/,
    );
    const otherKey = await proof(stranger, clock, { url: URL_, token, nonce });
    await assert.rejects(
      v.verify(token, { dpop: { proof: otherKey, method: 'GET', url: URL_ } }),
      (e: unknown) =>
        e instanceof VerificationError && e.code === 'LATCHKEY_DPOP_INVALID' && /another key/.test(e.message),
    );
  });
});

interface Answer {
  status: number;
  wwwAuthenticate: string | null;
  dpopNonce: string | null;
  cacheControl: string | null;
  body: Record<string, unknown>;
}

describe('resource middlewares with nonces required', () => {
  const clock = new ManualClock();
  const verifier = verifierWith(clock, { secret: SECRET });
  const fastifyApp = buildSampleApi({ issuer: ISSUER, verifier });
  const app = express();
  app.get('/hello', expressRequireToken(verifier), (req, res) => {
    res.json({ sub: (req as RequestWithAuth).auth!.claims.sub });
  });
  let listener: ReturnType<typeof app.listen>;
  const bases: Record<string, string> = {};

  before(async () => {
    await new Promise<void>((resolve) => {
      listener = app.listen(0, '127.0.0.1', () => resolve());
    });
    bases['Express'] = `http://127.0.0.1:${(listener.address() as AddressInfo).port}`;
    bases['Fastify'] = await fastifyApp.listen({ port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    await fastifyApp.close();
    await new Promise((r) => listener.close(r));
  });

  async function call(base: string, h: Holder, token: string, nonce?: string): Promise<Answer> {
    const url = `${base}/hello`;
    const res = await fetch(url, {
      headers: {
        authorization: `DPoP ${token}`,
        dpop: await proof(h, clock, { url, token, ...(nonce !== undefined ? { nonce } : {}) }),
      },
    });
    return {
      status: res.status,
      wwwAuthenticate: res.headers.get('www-authenticate'),
      dpopNonce: res.headers.get('dpop-nonce'),
      cacheControl: res.headers.get('cache-control'),
      body: (await res.json()) as Record<string, unknown>,
    };
  }

  const assertNonceChallenge = (r: Answer, what: string) => {
    assert.equal(r.status, 401, what);
    assert.match(
      r.wwwAuthenticate ?? '',
      /^DPoP (.*, )?error="use_dpop_nonce", error_description="[^"]+"/,
      `${what}: ${r.wwwAuthenticate}`,
    );
    assert.match(r.dpopNonce ?? '', /^[A-Za-z0-9_-]{32}$/, what);
    assert.equal(r.cacheControl, 'no-store', what);
    assert.equal(r.body['error'], 'use_dpop_nonce', what);
  };

  for (const framework of ['Fastify', 'Express']) {
    it(`${framework}: missing, wrong and expired nonces get the challenge; the current one passes and a fresh one comes back`, async () => {
      const base = bases[framework]!;
      const h = await holder();
      const token = await accessToken(clock, h.jkt);
      const missing = await call(base, h, token);
      assertNonceChallenge(missing, 'missing');
      assert.match(missing.wwwAuthenticate!, /must carry the server nonce/);
      const nonce = missing.dpopNonce!;

      const wrong = await call(base, h, token, `${nonce.slice(0, -2)}AA`);
      assertNonceChallenge(wrong, 'wrong');
      assert.match(wrong.wwwAuthenticate!, /old or unknown nonce/);
      assertNonceChallenge(await call(base, h, token, 'x'), 'malformed');

      const ok = await call(base, h, token, nonce);
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(ok.body['sub'], 'user-1');
      assert.equal(ok.dpopNonce, nonce, 'the current nonce on the success response');

      clock.advanceSeconds(2 * DPOP_NONCE_WINDOW_SEC);
      const token2 = await accessToken(clock, h.jkt);
      const expired = await call(base, h, token2, nonce);
      assertNonceChallenge(expired, 'expired');
      assert.notEqual(expired.dpopNonce, nonce);
      const again = await call(base, h, token2, expired.dpopNonce!);
      assert.equal(again.status, 200, JSON.stringify(again.body));

      // A Bearer token is untouched by nonces.
      const bearer = await fetch(`${base}/hello`, {
        headers: { authorization: `Bearer ${await accessToken(clock)}` },
      });
      assert.equal(bearer.status, 200);
      assert.equal(bearer.headers.get('dpop-nonce'), null);
    });
  }
});

interface Sent {
  url: string;
  status: number;
  nonce: unknown;
}

describe('latchkey/client fetchResource against an API that requires nonces', () => {
  const s = withServer({ users: ['alice'] });

  it('retries once on use_dpop_nonce, then sends the nonce it was given; again once it expires', async () => {
    const app = await createClient(s.server, { type: 'native' });
    const sent: Sent[] = [];
    const recording: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const proofHeader = new Headers(init?.headers).get('dpop');
      const claims = proofHeader
        ? (JSON.parse(Buffer.from(proofHeader.split('.')[1]!, 'base64url').toString()) as Record<
            string,
            unknown
          >)
        : {};
      sent.push({ url: String(input), status: res.status, nonce: claims['nonce'] });
      return res;
    };
    const key = await DpopKey.generate();
    const client = await LatchkeyClient.discover({
      issuer: s.server.issuer,
      clientId: app.clientId,
      fetch: recording,
      now: () => s.server.clock.now(),
      dpop: key,
    });
    const state = `s-${randomBytes(6).toString('hex')}`;
    const receiver = await startLoopbackReceiver({ expectedState: state, timeoutMs: 10_000 });
    const request = await client.createAuthorizationRequest({
      redirectUri: receiver.redirectUri,
      scope: 'openid profile',
      state,
    });
    const final = await authorizeThroughBrowser(new Browser(s.server.url), request.url, { consent: 'allow' });
    assert.equal(final.status, 303, final.body.slice(0, 300));
    await new Browser(s.server.url).get(final.location!);
    const tokens: TokenSet = await client.completeAuthorization(await receiver.wait(), request);
    assert.equal(tokens.tokenType, 'DPoP');

    const api = buildSampleApi({
      issuer: s.server.issuer,
      verifierOptions: { now: () => s.server.clock.now(), dpopNonce: { secret: SECRET } },
    });
    const base = await api.listen({ port: 0, host: '127.0.0.1' });
    const apiCalls = () => sent.filter((r) => r.url.startsWith(base));
    try {
      const first = await client.fetchResource(`${base}/profile`, tokens);
      assert.equal(first.status, 200, await first.clone().text());
      assert.deepEqual(
        apiCalls().map((r) => [r.status, typeof r.nonce]),
        [
          [401, 'undefined'],
          [200, 'string'],
        ],
        'one retry, with the nonce of the 401',
      );
      const given = apiCalls()[1]!.nonce as string;
      assert.equal(key.nonceFor(base), given);

      sent.length = 0;
      assert.equal((await client.fetchResource(`${base}/hello`, tokens)).status, 200);
      assert.deepEqual(
        apiCalls().map((r) => [r.status, r.nonce]),
        [[200, given]],
        'the remembered nonce: no retry',
      );

      s.server.clock.advanceSeconds(2 * DPOP_NONCE_WINDOW_SEC);
      sent.length = 0;
      assert.equal((await client.fetchResource(`${base}/hello`, tokens)).status, 200);
      assert.deepEqual(
        apiCalls().map((r) => r.status),
        [401, 200],
        'the expired nonce is refused once, the retry carries the new one',
      );
      assert.notEqual(key.nonceFor(base), given);
    } finally {
      await api.close();
    }
  });
});

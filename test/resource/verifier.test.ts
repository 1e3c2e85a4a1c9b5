/**
 * The RFC 9068 access-token verifier: every rejection, the JWKS cool-down, and key rotation on a
 * real Latchkey server. Clock-sensitive tokens are crafted with jose `SignJWT` over keys served
 * from a small local JWKS server; the verifier gets an injected clock where time must move.
 */
import assert from 'node:assert/strict';
import { createHmac, sign as cryptoSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { type JWTPayload, SignJWT } from 'jose';
import { createVerifier, VerificationError } from '../../src/resource/index.js';
import { withServer } from '../helpers/flow.js';

const AUD = 'api://orders';
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const isCode =
  (code: string, error = 'invalid_token') =>
  (e: unknown) => {
    assert.ok(e instanceof VerificationError, `expected a VerificationError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.equal(e.error, error);
    return true;
  };

interface TestKey {
  kid: string;
  alg: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

function rsaKey(kid: string, alg = 'RS256'): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, alg, privateKey, publicKey };
}

const jwkOf = (k: TestKey) => ({
  ...k.publicKey.export({ format: 'jwk' }),
  kid: k.kid,
  alg: k.alg,
  use: 'sig',
});

/** A local issuer: discovery at the usual place, the JWKS at /keys (so discovery must be followed). */
class LocalIssuer {
  server!: Server;
  url = '';
  keys: TestKey[] = [];
  jwksHits = 0;
  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/.well-known/openid-configuration') {
        res.end(JSON.stringify({ issuer: this.url, jwks_uri: `${this.url}/keys` }));
      } else if (req.url === '/keys') {
        this.jwksHits++;
        res.end(JSON.stringify({ keys: this.keys.map(jwkOf) }));
      } else {
        res.statusCode = 404;
        res.end('{}');
      }
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }
  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

describe('access-token verifier (RFC 9068)', () => {
  const issuer = new LocalIssuer();
  const key = rsaKey('k1');
  let nowMs = Date.now();
  const now = () => nowMs;
  const t = () => Math.floor(nowMs / 1000);

  function claims(over: Record<string, unknown> = {}): JWTPayload {
    const base: Record<string, unknown> = {
      iss: issuer.url,
      sub: 'user-1',
      aud: AUD,
      client_id: 'app-1',
      scope: 'openid profile',
      iat: t(),
      exp: t() + 300,
      jti: `jti-${Math.random()}`,
    };
    for (const [k, v] of Object.entries(over)) {
      if (v === undefined) delete base[k];
      else base[k] = v;
    }
    return base as JWTPayload;
  }

  async function sign(over: Record<string, unknown> = {}, header: Record<string, unknown> = {}, k = key) {
    return new SignJWT(claims(over))
      .setProtectedHeader({ alg: k.alg, typ: 'at+jwt', kid: k.kid, ...header } as { alg: string })
      .sign(k.privateKey);
  }

  const verifier = () => createVerifier({ issuer: issuer.url, audience: AUD, now });

  before(async () => {
    await issuer.start();
    issuer.keys = [key];
  });
  after(() => issuer.stop());

  it('accepts a valid token, found through discovery, and exposes claims and scopes', async () => {
    const v = verifier();
    const r = await v.verify(await sign(), { requiredScopes: ['profile'] });
    assert.equal(r.claims.sub, 'user-1');
    assert.equal(r.claims.client_id, 'app-1');
    assert.deepEqual(r.scopes, ['openid', 'profile']);
    assert.deepEqual(r.header, { alg: 'RS256', typ: 'at+jwt', kid: 'k1' });
    // application/at+jwt and an audience array are fine too.
    await v.verify(await sign({ aud: ['other', AUD] }, { typ: 'application/at+jwt' }));
  });

  it('rejects expired, not-yet-valid and future-issued tokens (with the configured tolerance)', async () => {
    const v = verifier();
    await assert.rejects(v.verify(await sign({ exp: t() - 10 })), isCode('LATCHKEY_TOKEN_EXPIRED'));
    await v.verify(await sign({ exp: t() - 2 })); // inside the default 5 s tolerance
    await assert.rejects(v.verify(await sign({ nbf: t() + 60 })), isCode('LATCHKEY_TOKEN_NOT_YET_VALID'));
    await assert.rejects(v.verify(await sign({ iat: t() + 60 })), isCode('LATCHKEY_TOKEN_ISSUED_IN_FUTURE'));
    const strict = createVerifier({ issuer: issuer.url, audience: AUD, now, clockToleranceSec: 0 });
    await assert.rejects(strict.verify(await sign({ exp: t() })), isCode('LATCHKEY_TOKEN_EXPIRED'));
  });

  it('rejects a wrong issuer or audience', async () => {
    const v = verifier();
    await assert.rejects(
      v.verify(await sign({ iss: 'https://evil.example' })),
      isCode('LATCHKEY_ISSUER_MISMATCH'),
    );
    await assert.rejects(v.verify(await sign({ iss: `${issuer.url}/` })), isCode('LATCHKEY_ISSUER_MISMATCH'));
    await assert.rejects(v.verify(await sign({ aud: 'api://other' })), isCode('LATCHKEY_AUDIENCE_MISMATCH'));
    await assert.rejects(v.verify(await sign({ aud: ['a', 'b'] })), isCode('LATCHKEY_AUDIENCE_MISMATCH'));
    await assert.rejects(v.verify(await sign({ aud: 42 })), isCode('LATCHKEY_CLAIM_INVALID'));
  });

  it('rejects alg none and HS256 signed with the RSA public key', async () => {
    const v = verifier();
    const payload = b64(claims());
    const noneHeader = b64({ alg: 'none', typ: 'at+jwt', kid: 'k1' });
    await assert.rejects(v.verify(`${noneHeader}.${payload}.`), isCode('LATCHKEY_TOKEN_MALFORMED'));
    await assert.rejects(v.verify(`${noneHeader}.${payload}.AAAA`), isCode('LATCHKEY_ALGORITHM_NOT_ALLOWED'));
    // The classic confusion attack: HMAC keyed with the public key the server publishes.
    const hsHeader = b64({ alg: 'HS256', typ: 'at+jwt', kid: 'k1' });
    for (const secret of [
      key.publicKey.export({ format: 'pem', type: 'spki' }),
      JSON.stringify(jwkOf(key)),
    ]) {
      const mac = createHmac('sha256', secret).update(`${hsHeader}.${payload}`).digest('base64url');
      await assert.rejects(
        v.verify(`${hsHeader}.${payload}.${mac}`),
        isCode('LATCHKEY_ALGORITHM_NOT_ALLOWED'),
      );
    }
    // And neither can be allowed.
    for (const alg of ['none', 'HS256']) {
      assert.throws(
        () => createVerifier({ issuer: issuer.url, audience: AUD, algorithms: [alg as 'RS256'] }),
        (e: unknown) => e instanceof VerificationError && e.code === 'LATCHKEY_INVALID_ARGUMENT',
      );
    }
  });

  it('rejects an algorithm outside the allow-list even with a valid signature', async () => {
    const rs384 = rsaKey('k384', 'RS384');
    issuer.keys = [key, rs384];
    try {
      const v = verifier();
      await assert.rejects(v.verify(await sign({}, {}, rs384)), isCode('LATCHKEY_ALGORITHM_NOT_ALLOWED'));
      const both = createVerifier({ issuer: issuer.url, audience: AUD, now, algorithms: ['RS256', 'RS384'] });
      await both.verify(await sign({}, {}, rs384));
      // A key whose JWK says RS384 cannot verify an RS256 token.
      await assert.rejects(
        both.verify(await sign({}, { kid: 'k384' }, { ...key, kid: 'k384' })),
        isCode('LATCHKEY_ALGORITHM_NOT_ALLOWED'),
      );
    } finally {
      issuer.keys = [key];
    }
  });

  it('rejects a tampered payload, a foreign key with a known kid, and embedded keys', async () => {
    const v = verifier();
    const good = await sign();
    const [h, , s] = good.split('.');
    const tampered = `${h}.${b64({ ...claims(), sub: 'admin' })}.${s}`;
    await assert.rejects(v.verify(tampered), isCode('LATCHKEY_SIGNATURE_INVALID'));
    const attacker = rsaKey('k1');
    await assert.rejects(v.verify(await sign({}, {}, attacker)), isCode('LATCHKEY_SIGNATURE_INVALID'));
    await assert.rejects(
      v.verify(await sign({}, { jwk: attacker.publicKey.export({ format: 'jwk' }) }, attacker)),
      isCode('LATCHKEY_SIGNATURE_INVALID'),
    );
    await assert.rejects(v.verify(`${good.slice(0, -4)}AAAA`), isCode('LATCHKEY_SIGNATURE_INVALID'));
  });

  it('rejects an unknown kid, a wrong typ, critical headers and malformed tokens', async () => {
    const v = verifier();
    await assert.rejects(v.verify(await sign({}, { kid: 'nope' })), isCode('LATCHKEY_UNKNOWN_KEY'));
    await assert.rejects(v.verify(await sign({}, { typ: 'JWT' })), isCode('LATCHKEY_TYPE_MISMATCH'));
    await assert.rejects(v.verify(await sign({}, { typ: undefined })), isCode('LATCHKEY_TYPE_MISMATCH'));
    // jose will not sign an unknown `crit`; sign this one by hand.
    const critHeader = b64({ alg: 'RS256', typ: 'at+jwt', kid: 'k1', crit: ['x-custom'], 'x-custom': 1 });
    const critInput = `${critHeader}.${b64(claims())}`;
    const critSig = cryptoSign('sha256', Buffer.from(critInput), key.privateKey).toString('base64url');
    await assert.rejects(v.verify(`${critInput}.${critSig}`), isCode('LATCHKEY_TOKEN_MALFORMED'));
    for (const bad of ['', 'abc', 'a.b', 'a.b.c.d', '!!.!!.!!', `${'a'.repeat(20000)}.b.c`, 'e30.e30.AA']) {
      await assert.rejects(v.verify(bad), (e: unknown) => e instanceof VerificationError && e.status < 500);
    }
    await assert.rejects(v.verify('e30.e30.AA'), isCode('LATCHKEY_ALGORITHM_NOT_ALLOWED'));
    await assert.rejects(v.verify(`${b64([1])}.e30.AA`), isCode('LATCHKEY_TOKEN_MALFORMED'));
  });

  it('requires iss exp aud sub iat jti client_id', async () => {
    const v = verifier();
    for (const claim of ['iss', 'exp', 'aud', 'sub', 'iat', 'jti', 'client_id']) {
      await assert.rejects(
        v.verify(await sign({ [claim]: undefined })),
        isCode('LATCHKEY_CLAIM_MISSING'),
        claim,
      );
    }
    await assert.rejects(v.verify(await sign({ sub: 7 })), isCode('LATCHKEY_CLAIM_INVALID'));
    await assert.rejects(v.verify(await sign({ exp: '9999999999' })), isCode('LATCHKEY_CLAIM_INVALID'));
    await assert.rejects(v.verify(await sign({ scope: ['a'] })), isCode('LATCHKEY_CLAIM_INVALID'));
  });

  it('rejects a missing scope with insufficient_scope (403) naming the required scopes', async () => {
    const v = verifier();
    const token = await sign({ scope: 'openid' });
    await assert.rejects(v.verify(token, { requiredScopes: ['profile', 'openid'] }), (e: unknown) => {
      isCode('LATCHKEY_INSUFFICIENT_SCOPE', 'insufficient_scope')(e);
      assert.equal((e as VerificationError).status, 403);
      assert.deepEqual((e as VerificationError).requiredScopes, ['profile', 'openid']);
      return true;
    });
    await assert.rejects(
      v.verify(await sign({ scope: undefined }), { requiredScopes: ['x'] }),
      (e: unknown) => isCode('LATCHKEY_INSUFFICIENT_SCOPE', 'insufficient_scope')(e),
    );
    await v.verify(token, { requiredScopes: ['openid'] });
  });

  it('supports PS256 and ES256 when allowed, with keys of the matching type only', async () => {
    const ps = rsaKey('ps', 'PS256');
    const ecPair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const es: TestKey = { kid: 'es', alg: 'ES256', ...ecPair };
    issuer.keys = [key, ps, es];
    try {
      const v = createVerifier({ issuer: issuer.url, audience: AUD, now, algorithms: ['PS256', 'ES256'] });
      await v.verify(await sign({}, {}, ps));
      await v.verify(await sign({}, {}, es));
      await assert.rejects(v.verify(await sign()), isCode('LATCHKEY_ALGORITHM_NOT_ALLOWED'));
    } finally {
      issuer.keys = [key];
    }
  });

  it('re-fetches the JWKS on an unknown kid at most once per cool-down, so a flood cannot hammer the server', async () => {
    nowMs = Date.now();
    const v = verifier();
    await v.verify(await sign());
    const hits0 = issuer.jwksHits;
    assert.equal(v.jwksFetches, 1);

    // 200 tokens with random kids, concurrently: at most one extra fetch.
    const attacker = rsaKey('x');
    const forged = await Promise.all(
      Array.from({ length: 200 }, (_, i) => sign({}, { kid: `forged-${i}` }, attacker)),
    );
    const results = await Promise.allSettled(forged.map((tok) => v.verify(tok)));
    assert.ok(results.every((r) => r.status === 'rejected'));
    assert.ok(issuer.jwksHits - hits0 <= 1, `${issuer.jwksHits - hits0} JWKS fetches for the flood`);
    const afterFlood = issuer.jwksHits;

    // A genuinely new key within the cool-down is not fetched yet…
    const rotated = rsaKey('k2');
    issuer.keys = [key, rotated];
    await assert.rejects(v.verify(await sign({}, {}, rotated)), isCode('LATCHKEY_UNKNOWN_KEY'));
    assert.equal(issuer.jwksHits, afterFlood);
    // …and is picked up once the cool-down has passed, with one fetch.
    nowMs += 31_000;
    const r = await v.verify(await sign({}, {}, rotated));
    assert.equal(r.header.kid, 'k2');
    assert.equal(issuer.jwksHits, afterFlood + 1);
    // Known keys never cause a fetch.
    for (let i = 0; i < 20; i++) await v.verify(await sign());
    assert.equal(issuer.jwksHits, afterFlood + 1);
    issuer.keys = [key];
  });

  it('answers temporarily_unavailable (503) when the JWKS cannot be loaded, without retrying on every request', async () => {
    let calls = 0;
    const failing: typeof fetch = async () => {
      calls++;
      throw new Error('connection refused');
    };
    const v = createVerifier({ issuer: issuer.url, audience: AUD, now, fetch: failing });
    const tok = await sign();
    await assert.rejects(v.verify(tok), (e: unknown) => {
      isCode('LATCHKEY_JWKS_UNAVAILABLE', 'temporarily_unavailable')(e);
      assert.equal((e as VerificationError).status, 503);
      return true;
    });
    const afterFirst = calls;
    await assert.rejects(v.verify(tok), isCode('LATCHKEY_JWKS_UNAVAILABLE', 'temporarily_unavailable'));
    assert.equal(calls, afterFirst, 'no new attempt inside the retry window');
  });

  it('checks its options before any I/O', () => {
    const bad: unknown[] = [
      { issuer: '', audience: AUD },
      { issuer: 'not a url', audience: AUD },
      { issuer: issuer.url, audience: '' },
      { issuer: issuer.url, audience: [] },
      { issuer: issuer.url, audience: AUD, algorithms: [] },
      { issuer: issuer.url, audience: AUD, clockToleranceSec: -1 },
      { issuer: issuer.url, audience: AUD, jwksUri: 'nope' },
    ];
    for (const o of bad) {
      assert.throws(
        () => createVerifier(o as Parameters<typeof createVerifier>[0]),
        (e: unknown) => e instanceof VerificationError && e.code === 'LATCHKEY_INVALID_ARGUMENT',
        JSON.stringify(o),
      );
    }
  });
});

describe('access-token verifier against a real Latchkey server', () => {
  const s = withServer();

  const mint = async () =>
    (
      await s.server.ctx.minter.accessToken({
        sub: 'u1',
        grantId: null,
        clientId: 'c1',
        scope: 'openid profile',
        ttlSec: 600,
      })
    ).token;

  it('accepts tokens signed by a freshly rotated key without a restart', async () => {
    const v = createVerifier({
      issuer: s.server.issuer,
      audience: s.server.ctx.config.audience,
      now: () => s.server.clock.now(),
    });
    const oldToken = await mint();
    const first = await v.verify(oldToken, { requiredScopes: ['profile'] });
    const oldKid = first.header.kid;

    await s.server.ctx.keys.rotate();
    // Past the publication delay (the server signs with the new key) and the verifier's cool-down.
    s.server.clock.advanceSeconds(Math.max(s.server.ctx.config.keyPublicationDelaySec, 30) + 1);
    const newToken = await mint();
    const second = await v.verify(newToken);
    assert.notEqual(second.header.kid, oldKid, 'signed with the new key');
    assert.equal(second.claims.sub, 'u1');
    // The old key stays published until its tokens have expired.
    await v.verify(oldToken);
    assert.equal(v.jwksFetches, 2);
  });

  it('rejects the server ID token as an access token (typ)', async () => {
    const v = createVerifier({ issuer: s.server.issuer, audience: 'c1', now: () => s.server.clock.now() });
    const idToken = await s.server.ctx.minter.idToken({
      sub: 'u1',
      clientId: 'c1',
      nonce: null,
      authTime: s.server.clock.now(),
      sid: null,
      ttlSec: 600,
    });
    await assert.rejects(v.verify(idToken), isCode('LATCHKEY_TYPE_MISMATCH'));
  });
});

/**
 * DPoP proof checks (RFC 9449 §4.3), one rejection case each, with proofs signed by jose.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { checkDpopProof, DpopError, normalizeHtu } from '../../src/protocol/dpop.js';

const NOW = 1_790_000_000_000;
const URI = 'https://as.example.com/token';

async function keyPair(alg = 'ES256') {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  return {
    alg,
    publicKey,
    privateKey,
    jwk: await exportJWK(publicKey),
    privateJwk: await exportJWK(privateKey),
  };
}

type Keys = Awaited<ReturnType<typeof keyPair>>;

async function proof(
  k: Keys,
  over: { header?: Record<string, unknown>; claims?: Record<string, unknown>; signWith?: Keys } = {},
): Promise<string> {
  return new SignJWT({
    jti: crypto.randomUUID(),
    htm: 'POST',
    htu: URI,
    iat: Math.floor(NOW / 1000),
    ...over.claims,
  })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: k.alg, jwk: k.jwk, ...over.header } as never)
    .sign((over.signWith ?? k).privateKey);
}

function deps() {
  const used = new Map<string, number>();
  return {
    now: () => NOW,
    useJti: async (key: string, expiresAt: number) => {
      if ((used.get(key) ?? 0) > NOW) return false;
      used.set(key, expiresAt);
      return true;
    },
  };
}

const refuses = async (p: Promise<unknown>, message: RegExp) =>
  assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof DpopError, String(err));
    assert.equal(err.code, 'invalid_dpop_proof');
    assert.equal(err.status, 400);
    assert.match(err.description, message);
    return true;
  });

describe('DPoP proofs (RFC 9449 §4.3)', () => {
  it('a good proof gives the RFC 7638 thumbprint of its key; ES256, EdDSA, PS256 and RS256', async () => {
    for (const alg of ['ES256', 'EdDSA', 'PS256', 'RS256']) {
      const k = await keyPair(alg);
      const r = await checkDpopProof({ header: await proof(k), method: 'POST', uri: URI }, deps());
      assert.equal(r?.jkt, await calculateJwkThumbprint(k.jwk, 'sha256'), alg);
    }
  });

  it('no header: no proof (undefined)', async () => {
    assert.equal(await checkDpopProof({ header: undefined, method: 'POST', uri: URI }, deps()), undefined);
  });

  it('refuses: two headers, garbage, oversized, wrong typ, alg none / HS256 / not allowed, no jwk, a private jwk', async () => {
    const k = await keyPair();
    const d = deps();
    const req = (header: string | string[]) => checkDpopProof({ header, method: 'POST', uri: URI }, d);
    await refuses(req([await proof(k), await proof(k)]), /exactly one/);
    await refuses(req('not a jwt'), /compact JWS/);
    await refuses(req(`${'a'.repeat(5000)}.b.c`), /compact JWS/);
    await refuses(req('!!.x.y'), /compact JWS/);
    await refuses(req('eyJ.eyJ.sig'), /header cannot be read/);
    await refuses(req(await proof(k, { header: { typ: 'JWT' } })), /typ dpop\+jwt/);
    const none = `${Buffer.from(JSON.stringify({ typ: 'dpop+jwt', alg: 'none', jwk: k.jwk })).toString('base64url')}.${Buffer.from(JSON.stringify({ jti: 'x', htm: 'POST', htu: URI, iat: NOW / 1000 })).toString('base64url')}.AA`;
    await refuses(req(none), /signed with one of/);
    const hs = await new SignJWT({ jti: 'h', htm: 'POST', htu: URI, iat: NOW / 1000 })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'HS256', jwk: k.jwk } as never)
      .sign(new Uint8Array(32));
    await refuses(req(hs), /signed with one of/);
    await refuses(
      checkDpopProof(
        { header: await proof(await keyPair('RS256')), method: 'POST', uri: URI },
        { ...d, algorithms: ['ES256', 'EdDSA', 'PS256'] },
      ),
      /signed with one of ES256, EdDSA, PS256/,
    );
    await refuses(req(await proof(k, { header: { jwk: undefined } })), /public key/);
    await refuses(req(await proof(k, { header: { jwk: k.privateJwk } })), /signature or key is invalid/);
  });

  it('refuses: a signature by another key than the jwk, a changed payload', async () => {
    const k = await keyPair();
    const other = await keyPair();
    await refuses(
      checkDpopProof({ header: await proof(k, { signWith: other }), method: 'POST', uri: URI }, deps()),
      /signature/,
    );
    const good = (await proof(k)).split('.');
    const tampered = `${good[0]}.${Buffer.from(JSON.stringify({ jti: 'y', htm: 'POST', htu: URI, iat: NOW / 1000 })).toString('base64url')}.${good[2]}`;
    await refuses(checkDpopProof({ header: tampered, method: 'POST', uri: URI }, deps()), /signature/);
  });

  it('refuses: wrong htm, wrong htu; htu compared without query and fragment, scheme and host case-insensitive', async () => {
    const k = await keyPair();
    await refuses(
      checkDpopProof(
        { header: await proof(k, { claims: { htm: 'GET' } }), method: 'POST', uri: URI },
        deps(),
      ),
      /htm/,
    );
    await refuses(
      checkDpopProof(
        {
          header: await proof(k, { claims: { htu: 'https://as.example.com/par' } }),
          method: 'POST',
          uri: URI,
        },
        deps(),
      ),
      /htu/,
    );
    await refuses(
      checkDpopProof(
        {
          header: await proof(k, { claims: { htu: 'https://evil.example/token' } }),
          method: 'POST',
          uri: URI,
        },
        deps(),
      ),
      /htu/,
    );
    await refuses(
      checkDpopProof({ header: await proof(k, { claims: { htu: 42 } }), method: 'POST', uri: URI }, deps()),
      /htu/,
    );
    const ok = await checkDpopProof(
      {
        header: await proof(k, { claims: { htu: 'HTTPS://AS.example.com:443/token?x=1#f' } }),
        method: 'POST',
        uri: `${URI}?y=2`,
      },
      deps(),
    );
    assert.ok(ok);
    assert.equal(normalizeHtu('https://AS.example.com:443/token?q#f'), URI);
    assert.equal(normalizeHtu('ftp://x/y'), undefined);
  });

  it('refuses: iat too old, in the future, missing; jti missing or too long', async () => {
    const k = await keyPair();
    const at = (iat: unknown) => proof(k, { claims: { iat } });
    const s = NOW / 1000;
    await refuses(checkDpopProof({ header: await at(s - 61), method: 'POST', uri: URI }, deps()), /iat/);
    await refuses(checkDpopProof({ header: await at(s + 61), method: 'POST', uri: URI }, deps()), /iat/);
    await refuses(
      checkDpopProof({ header: await at('now'), method: 'POST', uri: URI }, deps()),
      /iat|invalid/,
    );
    assert.ok(await checkDpopProof({ header: await at(s - 59), method: 'POST', uri: URI }, deps()));
    await refuses(
      checkDpopProof(
        { header: await proof(k, { claims: { jti: undefined } }), method: 'POST', uri: URI },
        deps(),
      ),
      /jti/,
    );
    await refuses(
      checkDpopProof(
        { header: await proof(k, { claims: { jti: 'j'.repeat(257) } }), method: 'POST', uri: URI },
        deps(),
      ),
      /jti/,
    );
  });

  it('refuses a replayed jti (the same proof twice), accepts the same jti from another key', async () => {
    const k = await keyPair();
    const d = deps();
    const p = await proof(k, { claims: { jti: 'once' } });
    assert.ok(await checkDpopProof({ header: p, method: 'POST', uri: URI }, d));
    await refuses(checkDpopProof({ header: p, method: 'POST', uri: URI }, d), /used before/);
    assert.ok(
      await checkDpopProof(
        { header: await proof(await keyPair(), { claims: { jti: 'once' } }), method: 'POST', uri: URI },
        d,
      ),
    );
  });

  it('with an access token: ath must be its SHA-256', async () => {
    const k = await keyPair();
    const token = 'eyJhbGciOiJSUzI1NiJ9.e30.sig';
    const ath = createHash('sha256').update(token).digest('base64url');
    const req = async (claims: Record<string, unknown>) =>
      checkDpopProof(
        {
          header: await proof(k, { claims: { htm: 'GET', ...claims } }),
          method: 'GET',
          uri: URI,
          accessToken: token,
        },
        deps(),
      );
    assert.ok(await req({ ath }));
    await refuses(req({ ath: 'x' }), /ath/);
    await refuses(req({}), /ath/);
  });
});

/**
 * Proof keys kept by thumbprint (protocol/dpop-keys.ts): a key is imported once however many
 * proofs it signs, and every check that does not depend on the key alone still runs on each
 * proof — a private member, `use`, `alg`, `key_ops`, the curve, the key size — whether the key is
 * cached or not. Also what replaced jose's jwtVerify: crit, exp, nbf, DER-encoded ECDSA.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { checkDpopProof, DpopError } from '../../src/protocol/dpop.js';
import { ProofKeyCache } from '../../src/protocol/dpop-keys.js';

const NOW = 1_790_000_000_000;
const URI = 'https://rs.example.com/hello';

async function es256() {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  return { publicKey, privateKey, jwk: await exportJWK(publicKey), privateJwk: await exportJWK(privateKey) };
}

function claims(over: Record<string, unknown> = {}) {
  return { jti: crypto.randomUUID(), htm: 'GET', htu: URI, iat: Math.floor(NOW / 1000), ...over };
}

const signed = (
  privateKey: CryptoKey | Parameters<SignJWT['sign']>[0],
  alg: string,
  jwk: unknown,
  over: { header?: Record<string, unknown>; claims?: Record<string, unknown> } = {},
) =>
  new SignJWT(claims(over.claims))
    .setProtectedHeader({ typ: 'dpop+jwt', alg, jwk, ...over.header } as never)
    .sign(privateKey);

/** A proof signed with node:crypto directly, whatever the header says (jose would refuse some). */
function forged(
  header: Record<string, unknown>,
  payload: unknown,
  signer: (input: Buffer) => Buffer,
): string {
  const h = Buffer.from(JSON.stringify({ typ: 'dpop+jwt', ...header })).toString('base64url');
  const p = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${h}.${p}.${signer(Buffer.from(`${h}.${p}`)).toString('base64url')}`;
}

function deps(keys: ProofKeyCache) {
  return { now: () => NOW, useJti: async () => true, keys };
}

const check = (proof: string, keys: ProofKeyCache) =>
  checkDpopProof({ header: proof, method: 'GET', uri: URI }, deps(keys));

const refuses = (p: Promise<unknown>, message: RegExp) =>
  assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof DpopError, String(err));
    assert.match(err.description, message);
    return true;
  });

describe('DPoP proof keys kept by thumbprint', () => {
  it('imports a key once for many proofs; members outside the thumbprint do not change it', async () => {
    const keys = new ProofKeyCache();
    const k = await es256();
    const jkt = await calculateJwkThumbprint(k.jwk, 'sha256');
    for (let i = 0; i < 5; i++)
      assert.equal((await check(await signed(k.privateKey, 'ES256', k.jwk), keys))?.jkt, jkt);
    const decorated = { ...k.jwk, kid: 'mine', use: 'sig', alg: 'ES256', key_ops: ['verify'], ext: true };
    assert.equal((await check(await signed(k.privateKey, 'ES256', decorated), keys))?.jkt, jkt);
    assert.equal(keys.imports, 1);
    assert.equal(keys.size, 1);
  });

  it('a cached key still refuses, proof by proof: private members, use, alg, key_ops, ext', async () => {
    const keys = new ProofKeyCache();
    const k = await es256();
    await check(await signed(k.privateKey, 'ES256', k.jwk), keys);
    const with_ = (extra: Record<string, unknown>) => signed(k.privateKey, 'ES256', { ...k.jwk, ...extra });
    await refuses(
      check(await signed(k.privateKey, 'ES256', k.privateJwk), keys),
      /signature or key is invalid: .*public key/,
    );
    for (const m of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'])
      await refuses(check(await with_({ [m]: 'AAAA' }), keys), /public key/);
    await refuses(check(await with_({ use: 'enc' }), keys), /"use"/);
    await refuses(check(await with_({ alg: 'ES384' }), keys), /"alg"/);
    await refuses(check(await with_({ key_ops: ['sign'] }), keys), /"key_ops"/);
    await refuses(check(await with_({ key_ops: ['verify', 'verify'] }), keys), /"key_ops"/);
    await refuses(check(await with_({ ext: 'yes' }), keys), /"ext"/);
    assert.equal(keys.imports, 1, 'refused before the cache is even asked');
  });

  it('refuses a key the algorithm cannot use: an RSA key under ES256, P-384, Ed448, RSA under 2048 bits, a bad point', async () => {
    const keys = new ProofKeyCache();
    const k = await es256();
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rsaJwk = rsa.publicKey.export({ format: 'jwk' });
    const rsaSigned = forged({ alg: 'ES256', jwk: rsaJwk }, claims(), (i) =>
      sign('sha256', i, rsa.privateKey),
    );
    await refuses(check(rsaSigned, keys), /need a key of kty EC/);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const p384Signed = forged(
      { alg: 'ES256', jwk: p384.publicKey.export({ format: 'jwk' }) },
      claims(),
      (i) => sign('sha256', i, { key: p384.privateKey, dsaEncoding: 'ieee-p1363' }),
    );
    await refuses(check(p384Signed, keys), /P-256/);
    const ed448 = generateKeyPairSync('ed448');
    const ed448Signed = forged(
      { alg: 'EdDSA', jwk: ed448.publicKey.export({ format: 'jwk' }) },
      claims(),
      (i) => sign(null, i, ed448.privateKey),
    );
    await refuses(check(ed448Signed, keys), /Ed25519/);
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const smallSigned = forged(
      { alg: 'RS256', jwk: small.publicKey.export({ format: 'jwk' }) },
      claims(),
      (i) => sign('sha256', i, small.privateKey),
    );
    await refuses(check(smallSigned, keys), /2048/);
    // A point off the curve, a coordinate of the wrong length or not canonical base64url.
    const { x, y } = k.jwk as { x: string; y: string };
    await refuses(
      check(await signed(k.privateKey, 'ES256', { ...k.jwk, y: x }), keys),
      /not a valid public key/,
    );
    await refuses(check(await signed(k.privateKey, 'ES256', { ...k.jwk, x: x.slice(1) }), keys), /x and y/);
    await refuses(check(await signed(k.privateKey, 'ES256', { ...k.jwk, y: `${y}=` }), keys), /x and y/);
    assert.equal(keys.size, 0, 'no refused key is kept');
  });

  it('keeps at most max keys, the least recently used leaving first', async () => {
    const keys = new ProofKeyCache(2);
    const [a, b, c] = [await es256(), await es256(), await es256()];
    const use = async (k: typeof a) => check(await signed(k.privateKey, 'ES256', k.jwk), keys);
    await use(a);
    await use(b);
    await use(a); // a is now the most recent
    await use(c); // b leaves
    assert.equal(keys.imports, 3);
    await use(a);
    assert.equal(keys.imports, 3, 'a was kept');
    await use(b);
    assert.equal(keys.imports, 4, 'b was imported again');
    assert.equal(keys.size, 2);
  });

  it('the same thumbprints as jose for EC, OKP and RSA keys; PS256 and EdDSA signatures verify', async () => {
    const keys = new ProofKeyCache();
    for (const alg of ['ES256', 'EdDSA', 'Ed25519', 'PS256', 'RS256']) {
      const { publicKey, privateKey } = await generateKeyPair(alg === 'Ed25519' ? 'EdDSA' : alg);
      const jwk: JWK = await exportJWK(publicKey);
      const r = await check(await signed(privateKey, alg, jwk), keys);
      assert.equal(r?.jkt, await calculateJwkThumbprint(jwk, 'sha256'), alg);
    }
  });

  it('refuses what jose refused: crit, an expired exp, a future nbf, a DER-encoded ES256 signature', async () => {
    const keys = new ProofKeyCache();
    const k = await es256();
    const sec = Math.floor(NOW / 1000);
    await refuses(
      check(await signed(k.privateKey, 'ES256', k.jwk, { header: { crit: ['b64'], b64: true } }), keys),
      /crit/,
    );
    await refuses(check(await signed(k.privateKey, 'ES256', k.jwk, { claims: { exp: sec } }), keys), /exp/);
    await refuses(
      check(await signed(k.privateKey, 'ES256', k.jwk, { claims: { exp: 'later' } }), keys),
      /exp/,
    );
    await refuses(
      check(await signed(k.privateKey, 'ES256', k.jwk, { claims: { nbf: sec + 1 } }), keys),
      /nbf/,
    );
    assert.ok(
      await check(await signed(k.privateKey, 'ES256', k.jwk, { claims: { exp: sec + 1, nbf: sec } }), keys),
    );
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = pair.publicKey.export({ format: 'jwk' });
    const der = forged({ alg: 'ES256', jwk }, claims(), (i) => sign('sha256', i, pair.privateKey));
    await refuses(check(der, keys), /signature/);
    const p1363 = (i: Buffer) => sign('sha256', i, { key: pair.privateKey, dsaEncoding: 'ieee-p1363' });
    assert.ok(await check(forged({ alg: 'ES256', jwk }, claims(), p1363), keys));
    // A payload that is not a JSON object, under a valid signature.
    await refuses(check(forged({ alg: 'ES256', jwk }, [1], p1363), keys), /JSON object/);
  });
});

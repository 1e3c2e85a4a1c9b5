/**
 * The public keys DPoP proofs carry (RFC 9449 §4.2 `jwk`), checked and imported once per key:
 * a bounded cache of node:crypto KeyObjects keyed by the key's RFC 7638 SHA-256 thumbprint, so
 * that the proofs of one client (one key, many requests) skip the JWK import, the slowest step
 * after the signature itself (figures in bench/README.md, DPoP).
 *
 * The cache holds keys only, never a verification result: every proof is still checked in full
 * (header, the `jwk`'s own members, signature, claims) by protocol/dpop.ts. A key is imported from
 * exactly the members its thumbprint is made of (RFC 7638 §3.2: `crv kty x y`, `crv kty x` or
 * `e kty n`), so a thumbprint names one key and nothing else in the `jwk` can change what it
 * verifies with. What jose's EmbeddedJWK refused is refused here too, on every proof: a private
 * key (any private member), `use` other than `sig`, an `alg` other than the header's, `key_ops`
 * without `verify`, a key type or curve the algorithm cannot use, an RSA key under 2048 bits.
 */
import {
  createHash,
  createPublicKey,
  constants as cryptoConstants,
  verify as cryptoVerify,
  type KeyObject,
} from 'node:crypto';

/** A proof's key once checked: what to verify with and the thumbprint `cnf.jkt` is compared to. */
export interface ProofKey {
  key: KeyObject;
  /** RFC 7638 SHA-256 thumbprint, base64url. */
  jkt: string;
}

/** The `jwk` of a proof cannot be used; the message says why (it goes into error_description). */
export class ProofKeyError extends Error {
  override name = 'ProofKeyError';
}

/** Members that only a private (or a symmetric) key has. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'] as const;
const B64URL = /^[A-Za-z0-9_-]+$/;
/** 32 bytes in unpadded base64url: a P-256 coordinate, an Ed25519 public key. */
const B64URL_32 = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;
/** RSA moduli up to 16384 bits (2048 base64url characters) are imported; larger ones are refused. */
const MAX_RSA_N = 2732;

type Family = 'EC' | 'OKP' | 'RSA';
const FAMILY: Record<string, Family> = {
  ES256: 'EC',
  EdDSA: 'OKP',
  Ed25519: 'OKP',
  PS256: 'RSA',
  RS256: 'RSA',
};

const str = (v: unknown): v is string => typeof v === 'string';

/**
 * The RFC 7638 members of a public JWK, in the order §3.3 prescribes (lexicographic), after
 * checking their form for the algorithm; throws ProofKeyError.
 */
function canonical(alg: string, jwk: Record<string, unknown>): Record<string, string> {
  const family = FAMILY[alg];
  if (!family) throw new ProofKeyError(`the algorithm ${alg} is not supported for DPoP proofs`);
  for (const m of PRIVATE_MEMBERS)
    if (jwk[m] !== undefined) throw new ProofKeyError('the jwk must be a public key (no private members)');
  if (jwk['kty'] !== family) throw new ProofKeyError(`${alg} proofs need a key of kty ${family}`);
  if (jwk['use'] !== undefined && jwk['use'] !== 'sig')
    throw new ProofKeyError('the jwk\'s "use" must be "sig" when present');
  if (jwk['alg'] !== undefined && jwk['alg'] !== alg)
    throw new ProofKeyError(`the jwk's "alg" must be "${alg}" when present`);
  const ops = jwk['key_ops'];
  if (
    ops !== undefined &&
    (!Array.isArray(ops) ||
      ops.some((o) => typeof o !== 'string') ||
      new Set(ops).size !== ops.length ||
      !ops.includes('verify'))
  )
    throw new ProofKeyError('the jwk\'s "key_ops" must be unique strings including "verify" when present');
  if (jwk['ext'] !== undefined && typeof jwk['ext'] !== 'boolean')
    throw new ProofKeyError('the jwk\'s "ext" must be a boolean when present');
  const { crv, x, y, n, e } = jwk;
  if (family === 'EC') {
    if (crv !== 'P-256') throw new ProofKeyError('an ES256 proof needs a P-256 key (crv)');
    if (!str(x) || !str(y) || !B64URL_32.test(x) || !B64URL_32.test(y))
      throw new ProofKeyError('the jwk has no valid x and y');
    return { crv, kty: 'EC', x, y };
  }
  if (family === 'OKP') {
    if (crv !== 'Ed25519') throw new ProofKeyError(`an ${alg} proof needs an Ed25519 key (crv)`);
    if (!str(x) || !B64URL_32.test(x)) throw new ProofKeyError('the jwk has no valid x');
    return { crv, kty: 'OKP', x };
  }
  if (!str(n) || !str(e) || !B64URL.test(n) || !B64URL.test(e) || n.length > MAX_RSA_N || e.length > 8)
    throw new ProofKeyError('the jwk has no valid n and e');
  return { e, kty: 'RSA', n };
}

/** The RFC 7638 SHA-256 thumbprint of a canonical JWK (JSON of its members, in that order). */
const thumbprintOf = (members: Record<string, string>) =>
  createHash('sha256').update(JSON.stringify(members)).digest('base64url');

function importKey(members: Record<string, string>): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: members, format: 'jwk' });
  } catch {
    throw new ProofKeyError('the jwk is not a valid public key');
  }
  if (key.asymmetricKeyType === 'rsa') {
    const { modulusLength, publicExponent } = key.asymmetricKeyDetails ?? {};
    if (typeof modulusLength !== 'number' || modulusLength < 2048)
      throw new ProofKeyError('an RSA proof key must have at least 2048 bits');
    if (typeof publicExponent !== 'bigint' || publicExponent < 3n || publicExponent % 2n === 0n)
      throw new ProofKeyError('the jwk has no valid e');
  }
  return key;
}

/**
 * Imported proof keys by thumbprint, at most `max`, the least recently used leaving first. A
 * client sending a new key each time costs what an import costs (as without the cache); memory
 * stays bounded.
 */
export class ProofKeyCache {
  readonly #keys = new Map<string, KeyObject>();
  #imports = 0;
  constructor(readonly max = 1000) {}

  /** Checks the `jwk` of a proof signed with `alg`, and its key (from the cache or imported). */
  get(alg: string, jwk: Record<string, unknown>): ProofKey {
    const members = canonical(alg, jwk);
    const jkt = thumbprintOf(members);
    let key = this.#keys.get(jkt);
    if (key) {
      this.#keys.delete(jkt);
    } else {
      key = importKey(members);
      this.#imports++;
      if (this.#keys.size >= this.max) this.#keys.delete(this.#keys.keys().next().value as string);
    }
    this.#keys.set(jkt, key);
    return { key, jkt };
  }

  /** Keys held now. */
  get size(): number {
    return this.#keys.size;
  }

  /** Keys imported so far (cache misses), for tests and benchmarks. */
  get imports(): number {
    return this.#imports;
  }
}

/** The keys of every proof this process checks (the server's /token and latchkey/resource). */
export const proofKeys = new ProofKeyCache();

const PSS = {
  padding: cryptoConstants.RSA_PKCS1_PSS_PADDING,
  saltLength: 32,
} as const;

/**
 * The JWS signature check for the algorithms DPoP proofs may use (RFC 7518 §3.3–3.5, RFC 8037
 * §3.1), on `header.payload` as sent: ES256 signatures are the 64-byte r‖s (RFC 7518 §3.4), PS256
 * uses a 32-byte salt (§3.5). False when it does not hold.
 */
export function verifyProofSignature(alg: string, key: KeyObject, signingInput: string, signature: Buffer) {
  const data = Buffer.from(signingInput, 'ascii');
  switch (alg) {
    case 'ES256':
      if (signature.length !== 64) return false;
      return cryptoVerify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
    case 'EdDSA':
    case 'Ed25519':
      if (signature.length !== 64) return false;
      return cryptoVerify(null, data, key, signature);
    case 'PS256':
      return cryptoVerify('sha256', data, { key, ...PSS }, signature);
    case 'RS256':
      return cryptoVerify('sha256', data, key, signature);
    default:
      return false;
  }
}

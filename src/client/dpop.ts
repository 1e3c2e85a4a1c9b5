/**
 * DPoP (RFC 9449) on the client side: a key pair and the proofs made with it. Browser-safe
 * (WebCrypto through jose); the private key is generated non-extractable by default, so a
 * script can use it but never read it (in a browser, keep the CryptoKeyPair itself, e.g. in
 * IndexedDB, and pass it to DpopKey.fromKeyPair). A native app that must keep the key in a file
 * asks for an extractable one (`latchkey login --dpop` does, docs/sdk.md).
 *
 * A DpopKey also remembers the latest server nonce per origin (RFC 9449 §8, §9), so every proof
 * for that origin carries it.
 */
import {
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  SignJWT,
} from 'jose';
import { base64url, randomString, sha256 } from './encoding.js';
import { invalidArgument, LatchkeyError } from './errors.js';

/** Proof algorithms the SDK makes keys for (ES256 by default: small proofs, cheap to sign). */
export type DpopAlgorithm = 'ES256' | 'EdDSA' | 'PS256' | 'RS256';
const ALGS: readonly DpopAlgorithm[] = ['ES256', 'EdDSA', 'PS256', 'RS256'];

export interface DpopProofInput {
  /** The request's method (htm). */
  method: string;
  /** The request's URL; htu is it without query and fragment (RFC 9449 §4.2). */
  url: string | URL;
  /** At a resource: the access token the proof goes with (ath, §4.2). */
  accessToken?: string;
  /** A nonce to use instead of the one remembered for the URL's origin. */
  nonce?: string;
}

const dpopError = (message: string, cause?: unknown) =>
  new LatchkeyError('LATCHKEY_DPOP_ERROR', message, cause === undefined ? {} : { cause });

/** htu: the URL without query and fragment (RFC 9449 §4.2). */
export function htuOf(url: string | URL): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

export class DpopKey {
  /** The latest nonce each origin gave (DPoP-Nonce), used in the next proof for it. */
  readonly #nonces = new Map<string, string>();

  private constructor(
    readonly alg: DpopAlgorithm,
    readonly privateKey: CryptoKey,
    /** The public key as a JWK (what every proof carries in its header). */
    readonly publicJwk: JWK,
    /** RFC 7638 SHA-256 thumbprint of the public key: the `cnf.jkt` of tokens bound to it. */
    readonly thumbprint: string,
  ) {}

  /**
   * A new key pair through WebCrypto (`crypto.subtle.generateKey`), ES256 unless told otherwise;
   * the private key is non-extractable unless `extractable` is true.
   */
  static async generate(opts: { alg?: DpopAlgorithm; extractable?: boolean } = {}): Promise<DpopKey> {
    const alg = opts.alg ?? 'ES256';
    if (!ALGS.includes(alg)) throw invalidArgument(`alg must be one of ${ALGS.join(', ')}`);
    let pair: { privateKey: CryptoKey; publicKey: CryptoKey };
    try {
      pair = await generateKeyPair(alg, { extractable: opts.extractable === true });
    } catch (cause) {
      throw dpopError(
        `cannot generate a ${alg} key: ${cause instanceof Error ? cause.message : cause}`,
        cause,
      );
    }
    return DpopKey.fromKeyPair(pair, alg);
  }

  /** A key pair kept elsewhere (a browser's IndexedDB holds non-extractable CryptoKeys). */
  static async fromKeyPair(
    pair: { privateKey: CryptoKey; publicKey: CryptoKey },
    alg: DpopAlgorithm = 'ES256',
  ): Promise<DpopKey> {
    if (!ALGS.includes(alg)) throw invalidArgument(`alg must be one of ${ALGS.join(', ')}`);
    if (!pair?.privateKey || !pair.publicKey)
      throw invalidArgument('a key pair (privateKey, publicKey) is required');
    try {
      const jwk = await exportJWK(pair.publicKey);
      const publicJwk: JWK = Object.fromEntries(
        Object.entries(jwk).filter(([k]) => ['kty', 'crv', 'x', 'y', 'n', 'e'].includes(k)),
      );
      return new DpopKey(alg, pair.privateKey, publicJwk, await calculateJwkThumbprint(publicJwk, 'sha256'));
    } catch (cause) {
      throw dpopError('the DPoP public key cannot be exported', cause);
    }
  }

  /** A key saved with exportPrivateJwk (a native app's key file). */
  static async fromPrivateJwk(jwk: JWK, alg: DpopAlgorithm = 'ES256'): Promise<DpopKey> {
    if (!jwk || typeof jwk !== 'object' || typeof jwk.d !== 'string')
      throw invalidArgument('a private JWK (with d) is required');
    try {
      const privateKey = (await importJWK(jwk, alg, { extractable: true })) as CryptoKey;
      const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
      const publicKey = (await importJWK({ ...pub, ext: true }, alg, { extractable: true })) as CryptoKey;
      return DpopKey.fromKeyPair({ privateKey, publicKey }, alg);
    } catch (cause) {
      if (cause instanceof LatchkeyError) throw cause;
      throw dpopError('the DPoP private key cannot be read', cause);
    }
  }

  /** The private key as a JWK, for a key generated with `extractable: true` only. */
  async exportPrivateJwk(): Promise<JWK> {
    if (!this.privateKey.extractable)
      throw dpopError('this DPoP key is not extractable (generate it with extractable: true to save it)');
    return exportJWK(this.privateKey);
  }

  /** The nonce last received from the origin of `url`. */
  nonceFor(url: string | URL): string | undefined {
    return this.#nonces.get(new URL(url).origin);
  }

  /** Remembers the `DPoP-Nonce` a response from `url` carried (RFC 9449 §8.2: the latest wins). */
  rememberNonce(url: string | URL, nonce: string | null | undefined): void {
    // §8.1: NQCHAR only; anything else is not a nonce we can send back.
    if (typeof nonce === 'string' && /^[\x21\x23-\x5B\x5D-\x7E]+$/.test(nonce))
      this.#nonces.set(new URL(url).origin, nonce);
  }

  /** A proof for one request: typ dpop+jwt, the public jwk, jti, htm, htu, iat; ath and nonce when given. */
  async proof(input: DpopProofInput, now: () => number = Date.now): Promise<string> {
    const nonce = input.nonce ?? this.nonceFor(input.url);
    const claims: Record<string, unknown> = {
      jti: randomString(18),
      htm: input.method.toUpperCase(),
      htu: htuOf(input.url),
      iat: Math.floor(now() / 1000),
    };
    if (input.accessToken !== undefined) claims['ath'] = base64url(await sha256(input.accessToken));
    if (nonce !== undefined) claims['nonce'] = nonce;
    try {
      return await new SignJWT(claims)
        .setProtectedHeader({ typ: 'dpop+jwt', alg: this.alg, jwk: this.publicJwk })
        .sign(this.privateKey);
    } catch (cause) {
      throw dpopError(`cannot sign the DPoP proof: ${cause instanceof Error ? cause.message : cause}`, cause);
    }
  }
}

/**
 * The DPoP challenge of a 401 from a resource (RFC 9449 §7.1, §9): its `error`, if the
 * WWW-Authenticate header holds a DPoP challenge with one.
 */
export function dpopChallengeError(res: Response): string | undefined {
  const header = res.headers.get('www-authenticate') ?? '';
  if (!/(^|,\s*)DPoP\b/i.test(header)) return undefined;
  return /\berror="([^"]*)"/.exec(header.slice(header.search(/DPoP\b/i)))?.[1];
}

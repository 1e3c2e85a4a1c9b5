/**
 * DPoP proofs (RFC 9449): checking the `DPoP` header of a request, in the order of §4.3.
 *
 * 1–2. exactly one header, one well-formed JWS (compact, bounded size);
 * 3–5. `typ` dpop+jwt, an asymmetric `alg` from the allow-list (never `none`, no MAC), a `jwk`,
 *      no `crit`;
 * 6–7. the signature verifies with that `jwk`, which holds no private part (protocol/dpop-keys.ts:
 *      the key's members are checked on every proof, the imported key is kept by thumbprint;
 *      the signature is checked with node:crypto, which costs half of WebCrypto's);
 * 3, 8–9. `jti`, `htm` equal to the request's method, `htu` equal to its URI without query and
 *      fragment (§4.3 item 9; compared after normalising scheme and host case, default ports);
 * 10. a server nonce, when one is required (§8, §9): without the current one, `use_dpop_nonce`
 *     with the nonce to use (DpopNonceError; the jti is not spent then);
 * 11. `iat` within the window around now (§11.1);
 * 12. with an access token: `ath` is its SHA-256 (§4.3 item 12; the `cnf.jkt` match is the
 *      caller's, which knows the token).
 * Then the `jti` is used once, across every node (ReplayStore: one atomic insert), for as long
 * as the proof could be accepted.
 */
import { createHash } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import {
  type ProofKey,
  type ProofKeyCache,
  ProofKeyError,
  proofKeys,
  verifyProofSignature,
} from './dpop-keys.js';
import { OAuthError } from './errors.js';

/** Algorithms accepted for proofs (asymmetric only); fapi2 applications leave RS256 out. */
export const DPOP_ALGS = ['ES256', 'EdDSA', 'Ed25519', 'PS256', 'RS256'] as const;
/** How far `iat` may be from now, either way (seconds). */
export const DPOP_IAT_WINDOW_SEC = 60;
/** A proof is a few hundred bytes (an RSA key makes it ≈ 1 KiB); refuse anything much larger. */
const MAX_PROOF_LENGTH = 4096;

export class DpopError extends OAuthError {
  constructor(description: string) {
    super('invalid_dpop_proof', description);
  }
}

/**
 * RFC 9449 §8 (authorization server) and §9 (resource server): the proof lacks the nonce the
 * server requires; `nonce` is the one to use, sent back in `DPoP-Nonce`.
 */
export class DpopNonceError extends OAuthError {
  constructor(
    description: string,
    readonly nonce: string,
  ) {
    super('use_dpop_nonce', description, { headers: { 'dpop-nonce': nonce } });
  }
}

export interface DpopRequest {
  /** The DPoP header's values as received (undefined: none; an array: more than one). */
  header: string | string[] | undefined;
  method: string;
  /** The request's absolute URI as the client addressed it (issuer origin + path). */
  uri: string;
  /** The access token presented with the proof, at a resource (for `ath`). */
  accessToken?: string;
}

export interface DpopDeps {
  now(): number;
  /** True the first time (replays.use). */
  useJti(key: string, expiresAt: number): Promise<boolean>;
  algorithms?: readonly string[];
  /** Server nonces, when required (protocol/dpop-nonce.ts). */
  nonces?: { isValid(nonce: unknown): Promise<boolean>; current(): Promise<string> };
  /** Where imported proof keys are kept (default: the process-wide protocol/dpop-keys.ts one). */
  keys?: ProofKeyCache;
}

export interface CheckedProof {
  /** RFC 7638 SHA-256 thumbprint of the proof's key (what `cnf.jkt` carries). */
  jkt: string;
  jti: string;
}

/** `htu` and the request URI compared as RFC 9449 §4.3 item 9 says: no query, no fragment. */
export function normalizeHtu(uri: string): string | undefined {
  try {
    const u = new URL(uri);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return undefined;
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return undefined;
  }
}

const sha256url = (text: string) => createHash('sha256').update(text).digest('base64url');

/** Checks the proof of a request; undefined when it carries none. Throws DpopError. */
export async function checkDpopProof(req: DpopRequest, deps: DpopDeps): Promise<CheckedProof | undefined> {
  if (req.header === undefined) return undefined;
  if (Array.isArray(req.header)) throw new DpopError('Send exactly one DPoP header.');
  const proof = req.header.trim();
  if (proof.length > MAX_PROOF_LENGTH || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(proof))
    throw new DpopError('The DPoP proof is not a compact JWS.');
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(proof);
  } catch {
    throw new DpopError('The DPoP proof header cannot be read.');
  }
  if (header.typ !== 'dpop+jwt') throw new DpopError('The DPoP proof must have typ dpop+jwt.');
  const algorithms = deps.algorithms ?? DPOP_ALGS;
  if (typeof header.alg !== 'string' || !algorithms.includes(header.alg))
    throw new DpopError(`The DPoP proof must be signed with one of ${algorithms.join(', ')}.`);
  if (typeof header.jwk !== 'object' || header.jwk === null || Array.isArray(header.jwk))
    throw new DpopError('The DPoP proof must carry its public key (jwk).');
  // RFC 7515 §4.1.11: no extension is understood here, so any `crit` is refused.
  if (header.crit !== undefined)
    throw new DpopError('The DPoP proof has critical header parameters (crit), which are not supported.');
  let key: ProofKey;
  try {
    key = (deps.keys ?? proofKeys).get(header.alg, header.jwk as Record<string, unknown>);
  } catch (err) {
    if (err instanceof ProofKeyError)
      throw new DpopError(`The DPoP proof signature or key is invalid: ${err.message}.`);
    throw err;
  }
  // The shape check above leaves exactly three segments: header.payload is the signing input.
  const lastDot = proof.lastIndexOf('.');
  const signature = Buffer.from(proof.slice(lastDot + 1), 'base64url');
  if (!verifyProofSignature(header.alg, key.key, proof.slice(0, lastDot), signature))
    throw new DpopError('The DPoP proof signature or key is invalid.');
  // Only a payload whose signature holds is read.
  let payload: Record<string, unknown>;
  try {
    payload = decodeJwt(proof);
  } catch {
    throw new DpopError('The DPoP proof payload is not a JSON object.');
  }
  // exp and nbf are optional in a proof; when present they hold (as jose's jwtVerify checked).
  const nowEpoch = Math.floor(deps.now() / 1000);
  const { exp, nbf } = payload;
  if (exp !== undefined && (typeof exp !== 'number' || exp <= nowEpoch))
    throw new DpopError('The DPoP proof has expired (exp).');
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > nowEpoch))
    throw new DpopError('The DPoP proof is not valid yet (nbf).');
  const { jti, htm, htu, iat } = payload;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256)
    throw new DpopError('The DPoP proof needs a jti (at most 256 characters).');
  if (htm !== req.method) throw new DpopError(`The DPoP proof's htm is not ${req.method}.`);
  const expectedHtu = normalizeHtu(req.uri);
  const givenHtu = typeof htu === 'string' ? normalizeHtu(htu) : undefined;
  if (givenHtu === undefined || givenHtu !== expectedHtu)
    throw new DpopError(`The DPoP proof's htu is not ${expectedHtu}.`);
  // RFC 9449 §8: a proof without the current server nonce is answered with the nonce to use.
  if (deps.nonces && !(await deps.nonces.isValid(payload['nonce'])))
    throw new DpopNonceError(
      payload['nonce'] === undefined
        ? 'The DPoP proof must carry the server nonce (DPoP-Nonce).'
        : 'The DPoP proof carries an old or unknown nonce; use the one in DPoP-Nonce.',
      await deps.nonces.current(),
    );
  const nowSec = deps.now() / 1000;
  if (typeof iat !== 'number' || !Number.isFinite(iat) || Math.abs(nowSec - iat) > DPOP_IAT_WINDOW_SEC)
    throw new DpopError('The DPoP proof is too old or from the future (iat).');
  if (req.accessToken !== undefined) {
    if (payload['ath'] !== sha256url(req.accessToken))
      throw new DpopError('The DPoP proof does not belong to this access token (ath).');
  }
  const { jkt } = key;
  // Kept as long as the proof could be accepted: iat + window, with a margin for clock steps.
  const expiresAt = (iat + DPOP_IAT_WINDOW_SEC + 5) * 1000;
  if (!(await deps.useJti(`dpop:${sha256url(`${jkt}:${jti}`)}`, expiresAt)))
    throw new DpopError('This DPoP proof was used before (jti).');
  return { jkt, jti };
}

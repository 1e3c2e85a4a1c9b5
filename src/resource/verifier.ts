/**
 * RFC 9068 JWT access-token validation for resource servers.
 *
 * Why not jose's `jwtVerify`: it goes through WebCrypto, several times slower per verification
 * than node:crypto (figures in bench/README.md). The JWS itself (signature, algorithm) is
 * verified by fast-jwt, which uses node:crypto, with one verifier per key and the algorithms
 * that key may use; this module picks
 * the key and does every RFC 9068 check explicitly, in one function, in this order:
 * shape → header (`alg` allow-list, `typ`, no `crit`) → key (by `kid`, type matches `alg`) →
 * signature (fast-jwt) → claims (`iss`, `aud`, `exp`, `nbf`, `iat`, required claims) → DPoP
 * binding → scopes → the sign-in behind the token (`acr`, `auth_time`; RFC 9470 step-up).
 * Embedded keys (`jwk`, `jku`, `x5u`, `x5c` headers) are never used. No result is cached.
 */

import type { KeyObject } from 'node:crypto';
import { createVerifier as createJwsVerifier, TokenError } from 'fast-jwt';
import { ACR } from '../auth/sign-in-policy.js';
import { ProofKeyCache } from '../protocol/dpop-keys.js';
import { CLOCK_SKEW_SEC, checkTimeClaims } from '../tokens/clock-rules.js';
import {
  checkBoundToken,
  type DpopContext,
  JtiCache,
  type NonceSettings,
  nonceSettings,
} from './dpop-proofs.js';
import { VerificationError } from './errors.js';
import { JwksCache, type KeyEntry } from './jwks.js';

export const SUPPORTED_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;
export type Algorithm = (typeof SUPPORTED_ALGORITHMS)[number];

export interface VerifierOptions {
  /** The authorization server's issuer identifier; `iss` must equal it exactly. */
  issuer: string;
  /** The audience (or audiences) this resource server accepts; `aud` must contain one. */
  audience: string | string[];
  /**
   * Allowed signature algorithms; default `['RS256', 'ES256']` (what Latchkey signs access tokens
   * with, LATCHKEY_ACCESS_TOKEN_ALG). `none` and HS* are refused.
   */
  algorithms?: Algorithm[];
  /** Leeway for `exp`, `nbf` and `iat`, in seconds (default 5, at most 300). */
  clockToleranceSec?: number;
  /** JWKS URL; default: `jwks_uri` from the issuer's discovery document, else `${issuer}/jwks`. */
  jwksUri?: string;
  /** A fixed JWK Set to use instead of fetching one (no rotation then). */
  jwks?: { keys: unknown[] };
  /** Minimum seconds between JWKS re-fetches caused by unknown `kid`s (default 30). */
  jwksCooldownSec?: number;
  /** Milliseconds since the epoch; default `Date.now`. */
  now?: () => number;
  fetch?: typeof fetch;
  /** HTTP timeout for discovery and JWKS requests, ms (default 5000). */
  timeoutMs?: number;
  /**
   * Server nonces in DPoP proofs (RFC 9449 §9). `true`: every proof must carry a nonce this
   * verifier gave (`use_dpop_nonce` otherwise, with the nonce in `DPoP-Nonce`), made with a key
   * of this process. With several instances of the API, give them one `secret` so that each
   * accepts the others' nonces. A nonce is valid for its window and the next (`windowSec`,
   * default 300: 5 to 10 minutes). `required: false` makes the nonces without requiring them
   * (a call's or route's `dpopNonce: true` asks for them). Default: no nonces.
   */
  dpopNonce?: boolean | DpopNonceOptions;
  /**
   * The sign-in every token must come from (RFC 9470): its `acr` must be one of these, where
   * Latchkey's levels count upwards (`urn:latchkey:acr:pwd` < `…:mfa` < `…:phr`, so a `phr`
   * token meets `mfa`) and any other value must match exactly. A token that falls short is
   * answered 401 `insufficient_user_authentication` with `acr_values` (and `max_age`) saying
   * what would do. A call's or route's `acrValues` replaces this. Default: no requirement.
   */
  acrValues?: string[];
  /**
   * The oldest sign-in every token may come from, in seconds (RFC 9470 `max_age`): the token's
   * `auth_time` must be at most this long ago (on the `now` clock, with `clockToleranceSec`).
   * A call's or route's `maxAge` replaces this. Default: no requirement.
   */
  maxAge?: number;
}

export interface DpopNonceOptions {
  /**
   * The secret nonces are made with, at least 16 characters or bytes (HMAC-SHA256 is keyed with
   * a value derived from it); default: a random one of this process.
   */
  secret?: string | Uint8Array;
  /** Length of a nonce window in seconds, 10 to 3600 (default 300). */
  windowSec?: number;
  /** Whether every DPoP proof needs a nonce unless a call says otherwise (default true). */
  required?: boolean;
}

export interface AccessTokenClaims {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  jti: string;
  client_id: string;
  scope?: string;
  nbf?: number;
  auth_time?: number;
  /** RFC 9068 §2.2.1: how the person signed in (Latchkey: `urn:latchkey:acr:pwd`, `…:mfa`, `…:phr`). */
  acr?: string;
  [claim: string]: unknown;
}

export interface VerifiedAccessToken {
  claims: AccessTokenClaims;
  /** The `scope` claim split on spaces. */
  scopes: string[];
  header: { alg: Algorithm; kid?: string; typ: string };
  token: string;
  /**
   * When the call required a DPoP nonce: the current one, to send in a `DPoP-Nonce` header of
   * the response (RFC 9449 §9: the client then uses it in its next proof, no round trip lost).
   */
  dpopNonce?: string;
}

export interface VerifyOptions {
  requiredScopes?: string[];
  /**
   * The request's DPoP context (RFC 9449 §7): with it, a bound token (`cnf.jkt`) is accepted
   * when the request's proof is made with that key. Without it, a bound token is refused
   * (LATCHKEY_DPOP_BOUND): it proves nothing as a bearer token.
   */
  dpop?: DpopContext;
  /**
   * Whether this call's DPoP proof must carry a server nonce (RFC 9449 §9); default: what the
   * verifier's `dpopNonce` option says.
   */
  dpopNonce?: boolean;
  /** The `acr` values this call accepts (RFC 9470), instead of the verifier's `acrValues`. */
  acrValues?: string[];
  /** The oldest sign-in this call accepts, in seconds (RFC 9470 `max_age`), instead of the verifier's. */
  maxAge?: number;
}

export interface AccessTokenVerifier {
  verify(token: string, opts?: VerifyOptions): Promise<VerifiedAccessToken>;
  /** The issuer and audience this verifier checks (for middleware and error messages). */
  readonly issuer: string;
  readonly audience: readonly string[];
  /** JWKS fetches made so far. */
  readonly jwksFetches: number;
}

const CURVE: Partial<Record<Algorithm, string>> = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' };
const MAX_TOKEN_LENGTH = 16 * 1024;
const SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const REQUIRED_STRING_CLAIMS = ['sub', 'jti', 'client_id'] as const;

const fail = (code: ConstructorParameters<typeof VerificationError>[0], msg: string) =>
  new VerificationError(code, msg);

function argError(msg: string): VerificationError {
  return new VerificationError('LATCHKEY_INVALID_ARGUMENT', msg, { error: 'invalid_request', status: 500 });
}

function keyFits(entry: KeyEntry, alg: Algorithm): boolean {
  if (entry.alg !== undefined && entry.alg !== alg) return false;
  if (alg.startsWith('RS') || alg.startsWith('PS')) return entry.kty === 'RSA';
  if (alg.startsWith('ES')) return entry.kty === 'EC' && entry.crv === CURVE[alg];
  return entry.kty === 'OKP' && (entry.crv === 'Ed25519' || entry.crv === 'Ed448');
}

type JwsVerifier = (token: string) => Record<string, unknown>;

/** One fast-jwt verifier per (key, algorithm); claim checks are ours, so fast-jwt skips them. */
const jwsVerifiers = new WeakMap<KeyObject, Map<string, JwsVerifier>>();

function jwsVerifierFor(key: KeyObject, alg: Algorithm): JwsVerifier {
  let byAlg = jwsVerifiers.get(key);
  if (!byAlg) {
    byAlg = new Map();
    jwsVerifiers.set(key, byAlg);
  }
  let v = byAlg.get(alg);
  if (!v) {
    v = createJwsVerifier({
      key: key.export({ format: 'pem', type: 'spki' }).toString(),
      algorithms: [alg],
      cache: false,
      ignoreExpiration: true,
      ignoreNotBefore: true,
    }) as JwsVerifier;
    byAlg.set(alg, v);
  }
  return v;
}

/** Signature check by fast-jwt; returns the payload only when the signature holds. */
function verifySignature(alg: Algorithm, key: KeyObject, token: string): Record<string, unknown> {
  try {
    return jwsVerifierFor(key, alg)(token);
  } catch (err) {
    if (err instanceof TokenError && err.code === TokenError.codes.invalidAlgorithm) {
      throw fail('LATCHKEY_ALGORITHM_NOT_ALLOWED', `the algorithm ${alg} cannot be used with this key`);
    }
    if (err instanceof TokenError && err.code !== TokenError.codes.invalidSignature) {
      throw fail('LATCHKEY_TOKEN_MALFORMED', 'the access token is not a valid signed JWT');
    }
    throw fail('LATCHKEY_SIGNATURE_INVALID', 'the token signature is invalid');
  }
}

function decodeJson(segment: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    throw fail('LATCHKEY_TOKEN_MALFORMED', `the token ${what} is not valid base64url JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw fail('LATCHKEY_TOKEN_MALFORMED', `the token ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The options of createVerifier once checked, with their defaults. */
interface Settings {
  issuer: string;
  /** The issuer URL without its trailing slash, for the discovery and default JWKS URLs. */
  base: string;
  audiences: string[];
  allowed: Set<string>;
  tolerance: number;
  cooldownSec: number;
  now: () => number;
  doFetch: typeof fetch;
  timeoutMs: number;
  nonce: NonceSettings | undefined;
  acrValues: string[] | undefined;
  maxAge: number | undefined;
}

/** Checks the options (before any I/O), in the order the errors name them. */
function checkOptions(options: VerifierOptions): Settings {
  if (!options || typeof options !== 'object') throw argError('createVerifier needs an options object');
  const { issuer } = options;
  if (typeof issuer !== 'string' || issuer === '') throw argError('issuer must be a non-empty string');
  let issuerUrl: URL;
  try {
    issuerUrl = new URL(issuer);
  } catch {
    throw argError('issuer must be a URL');
  }
  const audiences = typeof options.audience === 'string' ? [options.audience] : options.audience;
  if (
    !Array.isArray(audiences) ||
    audiences.length === 0 ||
    audiences.some((a) => typeof a !== 'string' || !a)
  )
    throw argError('audience must be a non-empty string or array of strings');
  const algorithms = options.algorithms ?? ['RS256', 'ES256'];
  if (!Array.isArray(algorithms) || algorithms.length === 0)
    throw argError('algorithms must be a non-empty array');
  for (const a of algorithms) {
    if (!(SUPPORTED_ALGORITHMS as readonly string[]).includes(a)) {
      throw argError(`algorithm ${String(a)} is not allowed (none and HS* never are)`);
    }
  }
  const tolerance = options.clockToleranceSec ?? CLOCK_SKEW_SEC;
  if (!isNumber(tolerance) || tolerance < 0 || tolerance > 300)
    throw argError('clockToleranceSec must be between 0 and 300');
  const cooldownSec = options.jwksCooldownSec ?? 30;
  if (!isNumber(cooldownSec) || cooldownSec < 0) throw argError('jwksCooldownSec must be a number ≥ 0');
  if (options.jwksUri !== undefined) {
    try {
      new URL(options.jwksUri);
    } catch {
      throw argError('jwksUri must be a URL');
    }
  }
  const now = options.now ?? Date.now;
  const stepUp = checkStepUpOptions(options, 'createVerifier');
  return {
    issuer,
    base: issuerUrl.href.replace(/\/$/, ''),
    audiences,
    allowed: new Set<string>(algorithms),
    tolerance,
    cooldownSec,
    now,
    doFetch: options.fetch ?? globalThis.fetch,
    timeoutMs: options.timeoutMs ?? 5000,
    nonce: checkNonceOptions(options.dpopNonce, now),
    acrValues: stepUp.acrValues,
    maxAge: stepUp.maxAge,
  };
}

/** An `acr` value as it can stand in a space-separated quoted-string (RFC 9470 §3 acr_values). */
const ACR_VALUE = /^[\x21\x23-\x5b\x5d-\x7e]{1,255}$/;

/**
 * Checks `acrValues` and `maxAge` options (of createVerifier, a call, a route); returns them
 * (undefined when absent, an empty list dropping the requirement).
 */
export function checkStepUpOptions(
  opts: { acrValues?: unknown; maxAge?: unknown },
  where: string,
): { acrValues: string[] | undefined; maxAge: number | undefined } {
  const { acrValues, maxAge } = opts;
  if (
    acrValues !== undefined &&
    !(Array.isArray(acrValues) && acrValues.every((v) => typeof v === 'string' && ACR_VALUE.test(v)))
  )
    throw argError(
      `${where}: acrValues must be an array of acr values (printable characters, no spaces or quotes)`,
    );
  if (maxAge !== undefined && !(Number.isSafeInteger(maxAge) && (maxAge as number) >= 0))
    throw argError(`${where}: maxAge must be a whole number of seconds, 0 or more`);
  return { acrValues: acrValues as string[] | undefined, maxAge: maxAge as number | undefined };
}

/** Latchkey's levels, weakest first (auth/sign-in-policy.ts); other `acr` values have no rank. */
const ACR_RANK: ReadonlyMap<string, number> = new Map([
  [ACR.pwd, 1],
  [ACR.mfa, 2],
  [ACR.phr, 3],
]);

/**
 * Whether a token's `acr` meets one of `acrValues`: the same value, or a Latchkey level at
 * least as strong as a Latchkey level asked for (a `phr` sign-in meets `mfa`). Values of other
 * issuers are compared as they are (nothing says how they rank).
 */
export function acrSatisfies(acr: unknown, acrValues: readonly string[]): boolean {
  if (typeof acr !== 'string') return false;
  const have = ACR_RANK.get(acr);
  return acrValues.some((want) => {
    if (want === acr) return true;
    const need = ACR_RANK.get(want);
    return have !== undefined && need !== undefined && have >= need;
  });
}

function checkNonceOptions(
  option: VerifierOptions['dpopNonce'],
  now: () => number,
): NonceSettings | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true) return nonceSettings({}, now);
  if (typeof option !== 'object' || option === null)
    throw argError('dpopNonce must be true, false or { secret, windowSec, required }');
  const { secret, windowSec, required } = option;
  if (
    secret !== undefined &&
    !((typeof secret === 'string' || secret instanceof Uint8Array) && secret.length >= 16)
  )
    throw argError('dpopNonce.secret must be a string or bytes of at least 16 characters');
  if (windowSec !== undefined && !(Number.isInteger(windowSec) && windowSec >= 10 && windowSec <= 3600))
    throw argError('dpopNonce.windowSec must be a whole number of seconds from 10 to 3600');
  if (required !== undefined && typeof required !== 'boolean')
    throw argError('dpopNonce.required must be a boolean');
  return nonceSettings(
    {
      ...(secret !== undefined ? { secret } : {}),
      ...(windowSec !== undefined ? { windowSec } : {}),
      ...(required !== undefined ? { required } : {}),
    },
    now,
  );
}

/** The JWKS URL: `jwksUri`, else the issuer's own discovery document's, else `${issuer}/jwks`. */
async function resolveJwksUri(options: VerifierOptions, s: Settings): Promise<string> {
  if (options.jwksUri) return options.jwksUri;
  const { doFetch } = s; // called unbound, as given (some runtimes' fetch refuses another `this`)
  try {
    const res = await doFetch(`${s.base}/.well-known/openid-configuration`, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(s.timeoutMs),
    });
    if (res.status === 200) {
      const doc = (await res.json()) as Record<string, unknown>;
      // Mix-up defence: the document must be the issuer's own.
      if (doc['issuer'] === s.issuer && typeof doc['jwks_uri'] === 'string') return doc['jwks_uri'];
    }
  } catch {
    // fall through to the conventional location
  }
  return `${s.base}/jwks`;
}

/** What verifyToken works with: the settings, the keys, and parsed headers (never results). */
interface VerifierState extends Settings {
  jwks: JwksCache;
  headerCache: Map<string, Record<string, unknown>>;
  jtis: JtiCache;
  proofKeys: ProofKeyCache;
  /** Nonces for calls that ask for them without the verifier's `dpopNonce` (made on first use). */
  lazyNonce?: NonceSettings;
}

export function createVerifier(options: VerifierOptions): AccessTokenVerifier {
  const settings = checkOptions(options);
  const jwks = options.jwks
    ? JwksCache.fixed(options.jwks)
    : new JwksCache({
        resolveUri: () => resolveJwksUri(options, settings),
        fetch: settings.doFetch,
        cooldownMs: settings.cooldownSec * 1000,
        failureRetryMs: Math.min(settings.cooldownSec * 1000, 5000),
        now: settings.now,
        timeoutMs: settings.timeoutMs,
      });
  const state: VerifierState = {
    ...settings,
    jwks,
    headerCache: new Map(),
    jtis: new JtiCache(),
    proofKeys: new ProofKeyCache(),
  };
  return {
    verify: (token, opts = {}) => verifyToken(state, token, opts),
    issuer: settings.issuer,
    audience: settings.audiences,
    get jwksFetches() {
      return jwks.fetchCount;
    },
  };
}

// One function on purpose: every RFC 9068 check, in the order the module comment lists, each
// failing with its own code; split up, that order (which tests and the docs rely on) would no
// longer be readable in one place.
async function verifyToken(
  state: VerifierState,
  token: string,
  opts: VerifyOptions,
): Promise<VerifiedAccessToken> {
  if (typeof token !== 'string' || token === '') throw fail('LATCHKEY_TOKEN_MISSING', 'no access token');
  if (token.length > MAX_TOKEN_LENGTH || !SHAPE.test(token))
    throw fail('LATCHKEY_TOKEN_MALFORMED', 'the access token is not a signed JWT');
  const dot1 = token.indexOf('.');

  // Header. Tokens from one issuer share a handful of headers, so parsed headers are kept
  // (bounded); this caches parsing only, never a verification result.
  const headerSegment = token.slice(0, dot1);
  let header = state.headerCache.get(headerSegment);
  if (!header) {
    header = decodeJson(headerSegment, 'header');
    if (state.headerCache.size >= 64) state.headerCache.clear();
    state.headerCache.set(headerSegment, header);
  }
  const alg = header['alg'];
  if (typeof alg !== 'string' || !state.allowed.has(alg))
    throw fail('LATCHKEY_ALGORITHM_NOT_ALLOWED', `the algorithm ${String(alg)} is not allowed`);
  const typ = header['typ'];
  // RFC 9068 §4: typ is at+jwt (media type comparison is case-insensitive, application/ optional).
  if (typeof typ !== 'string' || !/^(application\/)?at\+jwt$/i.test(typ))
    throw fail('LATCHKEY_TYPE_MISMATCH', 'the token is not a JWT access token (typ must be at+jwt)');
  if (header['crit'] !== undefined)
    throw fail('LATCHKEY_TOKEN_MALFORMED', 'the token has critical header parameters we do not support');
  const kid = header['kid'];
  if (kid !== undefined && typeof kid !== 'string')
    throw fail('LATCHKEY_TOKEN_MALFORMED', 'kid must be a string');

  // Key and signature.
  const entry = state.jwks.cached(kid) ?? (await state.jwks.key(kid));
  if (!keyFits(entry, alg as Algorithm))
    throw fail('LATCHKEY_ALGORITHM_NOT_ALLOWED', `the key ${kid ?? ''} cannot be used with ${alg}`.trim());
  // Claims: only a payload whose signature holds is read.
  const claims = verifySignature(alg as Algorithm, entry.key, token);
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims))
    throw fail('LATCHKEY_TOKEN_MALFORMED', 'the token payload is not a JSON object');
  if (claims['iss'] === undefined) throw fail('LATCHKEY_CLAIM_MISSING', 'the token has no iss claim');
  if (claims['iss'] !== state.issuer)
    throw fail('LATCHKEY_ISSUER_MISMATCH', 'the token was issued by another issuer');
  const aud = claims['aud'];
  if (aud === undefined) throw fail('LATCHKEY_CLAIM_MISSING', 'the token has no aud claim');
  const auds = typeof aud === 'string' ? [aud] : aud;
  if (!Array.isArray(auds) || auds.some((a) => typeof a !== 'string'))
    throw fail('LATCHKEY_CLAIM_INVALID', 'aud must be a string or an array of strings');
  if (!auds.some((a) => state.audiences.includes(a as string)))
    throw fail('LATCHKEY_AUDIENCE_MISMATCH', 'the token is meant for another audience');
  // exp, nbf, iat: the rules every verifier of the project shares (tokens/clock-rules.ts).
  const { now } = state; // called unbound, as given
  const timing = checkTimeClaims(claims, now() / 1000, state.tolerance);
  if (timing) throw fail(timing.code, timing.message);
  for (const name of REQUIRED_STRING_CLAIMS) {
    const v = claims[name];
    if (v === undefined) throw fail('LATCHKEY_CLAIM_MISSING', `the token has no ${name} claim`);
    if (typeof v !== 'string' || v === '')
      throw fail('LATCHKEY_CLAIM_INVALID', `${name} must be a non-empty string`);
  }
  // RFC 9449 §7: a DPoP-bound token (cnf.jkt) proves nothing without a proof of its key.
  let dpopNonce: string | undefined;
  const cnf = claims['cnf'];
  if (cnf !== undefined) {
    const jkt = typeof cnf === 'object' && cnf !== null ? (cnf as Record<string, unknown>)['jkt'] : undefined;
    if (typeof jkt !== 'string')
      throw fail(
        'LATCHKEY_DPOP_BOUND',
        'the token is sender-constrained by a method this verifier does not know',
      );
    if (!opts.dpop)
      throw fail(
        'LATCHKEY_DPOP_BOUND',
        'the token is bound to a DPoP key: send it with the DPoP scheme and a proof',
      );
    const bound = await checkBoundToken(token, jkt, opts.dpop, {
      now: state.now,
      jtis: state.jtis,
      keys: state.proofKeys,
      nonces: noncesFor(state, opts),
    });
    dpopNonce = bound.nonce;
  }
  const scope = claims['scope'];
  if (scope !== undefined && typeof scope !== 'string')
    throw fail('LATCHKEY_CLAIM_INVALID', 'scope must be a space-separated string');
  const scopes = scope ? scope.split(' ').filter(Boolean) : [];
  const required = opts.requiredScopes;
  if (required && required.length > 0) {
    const missing = required.filter((s) => !scopes.includes(s));
    if (missing.length > 0) {
      throw new VerificationError(
        'LATCHKEY_INSUFFICIENT_SCOPE',
        `the token lacks the scope ${missing.join(' ')}`,
        {
          error: 'insufficient_scope',
          requiredScopes: required,
        },
      );
    }
  }
  // The sign-in last (RFC 9470): a token that lacks a scope would lack it after a new sign-in too.
  checkAuthentication(state, claims, opts, cnf !== undefined);
  const out: VerifiedAccessToken['header'] = { alg: alg as Algorithm, typ };
  if (kid !== undefined) out.kid = kid;
  const verified: VerifiedAccessToken = { claims: claims as AccessTokenClaims, scopes, header: out, token };
  if (dpopNonce !== undefined) verified.dpopNonce = dpopNonce;
  return verified;
}

/**
 * RFC 9470 §3: the sign-in behind the token (`acr`, `auth_time`, RFC 9068 §2.2.1) must meet the
 * call's (else the verifier's) requirement; when it does not, or the token does not say, the
 * answer is `insufficient_user_authentication` naming the whole requirement, so that one new
 * sign-in meets it all. `dpopBound`: challenged with the DPoP scheme (RFC 9449 §7.1).
 */
function checkAuthentication(
  state: VerifierState,
  claims: Record<string, unknown>,
  opts: VerifyOptions,
  dpopBound: boolean,
): void {
  const call =
    opts.acrValues !== undefined || opts.maxAge !== undefined
      ? checkStepUpOptions(opts, 'verify')
      : { acrValues: undefined, maxAge: undefined };
  const acrValues = call.acrValues ?? state.acrValues;
  const maxAge = call.maxAge ?? state.maxAge;
  const needAcr = acrValues !== undefined && acrValues.length > 0;
  if (!needAcr && maxAge === undefined) return;
  const insufficient = (message: string) =>
    new VerificationError('LATCHKEY_INSUFFICIENT_USER_AUTHENTICATION', message, {
      error: 'insufficient_user_authentication',
      ...(needAcr ? { acrValues } : {}),
      ...(maxAge !== undefined ? { maxAge } : {}),
      ...(dpopBound ? { scheme: 'DPoP' as const } : {}),
    });
  if (needAcr) {
    const acr = claims['acr'];
    if (acr === undefined)
      throw insufficient(
        `the token does not say how the person signed in (no acr): ${acrValues.join(' ')} is required`,
      );
    if (typeof acr !== 'string' || acr === '')
      throw fail('LATCHKEY_CLAIM_INVALID', 'acr must be a non-empty string');
    if (!acrSatisfies(acr, acrValues))
      throw insufficient(`a stronger sign-in is required (${acrValues.join(' ')}; the token has ${acr})`);
  }
  if (maxAge !== undefined) {
    const authTime = claims['auth_time'];
    if (authTime === undefined)
      throw insufficient('the token does not say when the person signed in (no auth_time)');
    if (!isNumber(authTime)) throw fail('LATCHKEY_CLAIM_INVALID', 'auth_time must be a number');
    const { now } = state; // called unbound, as given
    const age = Math.floor(now() / 1000 - authTime);
    if (age > maxAge + state.tolerance)
      throw insufficient(
        `a more recent sign-in is required (at most ${maxAge} s ago; this one was ${age} s ago)`,
      );
  }
}

/** The nonces a call's proof must carry (RFC 9449 §9), if any. */
function noncesFor(state: VerifierState, opts: VerifyOptions) {
  const required = opts.dpopNonce ?? state.nonce?.required ?? false;
  if (!required) return undefined;
  if (state.nonce) return state.nonce.nonces;
  state.lazyNonce ??= nonceSettings({}, state.now);
  return state.lazyNonce.nonces;
}

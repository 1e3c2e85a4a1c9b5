/**
 * Client authentication with a JWT (RFC 7523 §2.2 and §3, OpenID Connect Core §9):
 * `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer` and a
 * `client_assertion` signed with the application's registered key (private_key_jwt) or with
 * an HMAC under its client secret (client_secret_jwt).
 *
 * The rules, in the order they are checked (every failure is `invalid_client`, RFC 7523 §3.2):
 * - a compact JWS of bounded size whose `alg` is one the method allows (never `none`; a MAC
 *   only for client_secret_jwt; RS256 not for fapi2 applications, FAPI 2.0 Security Profile, cryptography and secrets);
 * - the signature, with jose (the application's JWK Set, or its secret);
 * - `iss` = `sub` = the client_id (RFC 7523 §3 items 1–2);
 * - `aud` a single string naming this server: its issuer identifier (FAPI 2.0 Security Profile, authorization server requirements, and the
 *   fix for the audience-injection attack published in 2025); for applications not under fapi2
 *   also the token endpoint URL (OIDC Core §9) or the URL of the endpoint that received it
 *   (RFC 9126 §2 for /par). A list is refused: it is what the attack relies on;
 * - `exp` required, not past and at most MAX_ASSERTION_LIFETIME_SEC away (RFC 7523 §3 item 4);
 *   `nbf` and `iat` not in the future (a minute of leeway for clocks);
 * - `jti` required (OIDC Core §9) and used once, on every node (the replays store), for as long
 *   as the assertion could be accepted (RFC 7523 §3 item 7).
 */
import { createSecretKey } from 'node:crypto';
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  type JWTVerifyOptions,
  jwtVerify,
} from 'jose';
import type { Client, ClientJwks } from '../storage/types.js';
import { invalidClient, OAuthError } from './errors.js';

export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** private_key_jwt algorithms, and the ones a fapi2 application may use. */
export const ASYMMETRIC_ALGS = ['PS256', 'ES256', 'EdDSA', 'Ed25519', 'RS256'] as const;
export const FAPI2_ALGS = ['PS256', 'ES256', 'EdDSA', 'Ed25519'] as const;
/** client_secret_jwt algorithms. */
export const MAC_ALGS = ['HS256'] as const;
/** How far in the future an assertion's `exp` may be. */
export const MAX_ASSERTION_LIFETIME_SEC = 300;
const LEEWAY_SEC = 60;
/** An assertion is a few hundred bytes; a large RSA signature makes it about 1 KiB. */
const MAX_ASSERTION_LENGTH = 8192;

export interface AssertionDeps {
  now(): number;
  issuer: string;
  /** The token endpoint URL and the URL of the endpoint that received the request. */
  endpoints: string[];
  /** The application's public keys (inline jwks, or its jwks_uri fetched and cached). */
  keysOf(client: Client, opts: { refresh: boolean }): Promise<ClientJwks>;
  /** client_secret_jwt: the opened secret. */
  secretOf(client: Client): string | undefined;
  /** True the first time (replays.use). */
  useJti(key: string, expiresAt: number): Promise<boolean>;
}

const fail = (why: string) => invalidClient(`Client authentication failed: ${why}`);
/**
 * Before the signature has verified, every failure reads the same (the reason goes to the log
 * only): an answer must not tell a caller which client_ids exist or how they authenticate.
 */
const hidden = (why: string) => {
  const e = invalidClient('Client authentication failed.');
  return new OAuthError(e.code, e.description, { status: e.status, headers: e.headers, detail: why });
};

/**
 * Verifies `jwt` with the application's registered keys; a key the cached set lacks (the client
 * rotated its jwks_uri) fetches the set once more (ClientKeys limits how often).
 */
export async function verifyWithClientKeys(
  jwt: string,
  client: Client,
  keysOf: AssertionDeps['keysOf'],
  options: JWTVerifyOptions,
): Promise<JWTPayload> {
  const verify = async (refresh: boolean) =>
    (await jwtVerify(jwt, createLocalJWKSet((await keysOf(client, { refresh })) as never), options)).payload;
  try {
    return await verify(false);
  } catch (err) {
    if (!(err instanceof errors.JWKSNoMatchingKey) || !client.jwksUri) throw err;
    return verify(true);
  }
}

/** The client_id an assertion claims (its `sub`, else `iss`), read before it is verified. */
export function assertionSubject(assertion: string): string {
  if (assertion.length > MAX_ASSERTION_LENGTH || !/^[\w-]+\.[\w-]+\.[\w-]+$/.test(assertion))
    throw fail('client_assertion is not a compact JWS.');
  let claims: JWTPayload;
  try {
    claims = decodeJwt(assertion);
  } catch {
    throw fail('client_assertion is not a JWT.');
  }
  const id = typeof claims.sub === 'string' ? claims.sub : claims.iss;
  if (typeof id !== 'string' || id.length === 0 || id.length > 255)
    throw fail('client_assertion names no client (sub).');
  return id;
}

/** Verifies `assertion` for `client` (whose method is client_secret_jwt or private_key_jwt). */
export async function verifyClientAssertion(
  assertion: string,
  client: Client,
  deps: AssertionDeps,
): Promise<void> {
  const method = client.tokenEndpointAuthMethod;
  const fapi2 = client.profile === 'fapi2';
  const allowed: readonly string[] =
    method === 'client_secret_jwt' ? MAC_ALGS : fapi2 ? FAPI2_ALGS : ASYMMETRIC_ALGS;
  let alg: unknown;
  try {
    alg = decodeProtectedHeader(assertion).alg;
  } catch {
    throw hidden('client_assertion has no readable header.');
  }
  if (typeof alg !== 'string' || !allowed.includes(alg))
    throw hidden(`client_assertion alg must be one of ${allowed.join(', ')} for this application.`);

  const nowSec = Math.floor(deps.now() / 1000);
  const options = {
    algorithms: [...allowed],
    issuer: client.clientId,
    subject: client.clientId,
    requiredClaims: ['exp', 'jti', 'aud'],
    clockTolerance: LEEWAY_SEC,
    currentDate: new Date(deps.now()),
  };
  let payload: JWTPayload;
  try {
    if (method === 'client_secret_jwt') {
      const secret = deps.secretOf(client);
      if (secret === undefined) throw hidden('the application has no secret for client_secret_jwt.');
      payload = (await jwtVerify(assertion, createSecretKey(Buffer.from(secret, 'utf8')), options)).payload;
    } else payload = await verifyWithClientKeys(assertion, client, deps.keysOf, options);
  } catch (err) {
    if (err instanceof errors.JWTExpired) throw fail('client_assertion has expired.');
    if (err instanceof errors.JWTClaimValidationFailed)
      throw fail(`client_assertion ${err.claim} is not valid (${err.reason}).`);
    if (err instanceof errors.JWKSNoMatchingKey)
      throw hidden('no registered key of the application matches client_assertion.');
    if (err instanceof errors.JOSEError) throw hidden('client_assertion signature does not verify.');
    if (err instanceof Error && err.name === 'GuardedFetchError')
      throw hidden(`the application's jwks_uri could not be read (${err.message}).`);
    throw err;
  }

  const aud = payload.aud;
  const accepted = fapi2 ? [deps.issuer] : [deps.issuer, ...deps.endpoints];
  if (typeof aud !== 'string')
    throw fail(`client_assertion aud must be a single string: the issuer ${deps.issuer}.`);
  if (!accepted.includes(aud)) throw fail(`client_assertion aud must be the issuer ${deps.issuer}.`);
  const exp = payload.exp!;
  if (exp > nowSec + MAX_ASSERTION_LIFETIME_SEC + LEEWAY_SEC)
    throw fail(`client_assertion exp is more than ${MAX_ASSERTION_LIFETIME_SEC} s away.`);
  if (typeof payload.iat === 'number' && payload.iat > nowSec + LEEWAY_SEC)
    throw fail('client_assertion iat is in the future.');
  const jti = payload.jti!;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 255)
    throw fail('client_assertion jti must be a string.');
  // Kept until the assertion could no longer be accepted anyway (exp + leeway).
  if (!(await deps.useJti(`assertion:${client.clientId}:${jti}`, (exp + LEEWAY_SEC) * 1000)))
    throw fail('client_assertion was used before (jti).');
}

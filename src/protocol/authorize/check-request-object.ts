/**
 * Request objects by value (RFC 9101, JAR): `request`, a JWT signed with one of the application's
 * registered keys (jwks or jwks_uri), carrying the authorization request's parameters.
 *
 * - §6.1: `alg: none` and MACs are refused (only the application's asymmetric keys can sign;
 *   fapi2 applications: PS256, ES256 or EdDSA); `typ`, when present, is `oauth-authz-req+jwt`
 *   (§10.8, so that no other JWT of the client's can be passed off as a request);
 * - §4 and §10.2: `iss` is the client_id, `aud` the issuer identifier, `exp` required and at most
 *   an hour away, `nbf` and `iat` not in the future (a minute of leeway);
 * - §5 / §6.3: `client_id` beside it names the same application as the object's `client_id`,
 *   and only the object's parameters count: every other front-channel parameter is dropped.
 * - A `request_uri` (request object by reference) comes only from /par: metadata keeps
 *   `request_uri_parameter_supported: false`.
 * Failures are `invalid_request_object` (§6.3); they happen before the redirect URI is trusted,
 * so the front channel shows an error page and /par answers JSON.
 */
import { decodeProtectedHeader, errors, type JWTPayload } from 'jose';
import { ASYMMETRIC_ALGS, FAPI2_ALGS, verifyWithClientKeys } from '../client-assertion.js';
import { isFapi2 } from '../client-policy.js';
import { OAuthError } from '../errors.js';
import { MULTI_VALUED, readParams } from '../params.js';
import type { AuthorizeCheck } from './request.js';

export const REQUEST_OBJECT_TYP = 'oauth-authz-req+jwt';
const MAX_LIFETIME_SEC = 3600;
const LEEWAY_SEC = 60;
/** Claims of the JWT itself, not authorization request parameters. */
const JWT_CLAIMS = new Set(['iss', 'aud', 'exp', 'nbf', 'iat', 'jti', 'sub']);

const bad = (description: string) => new OAuthError('invalid_request_object', description);

export const checkRequestObject: AuthorizeCheck = async (ctx, deps) => {
  const client = ctx.client!;
  // An application without registered keys cannot sign one: `request` is then refused as not
  // supported once the redirect URI is trusted (check-parameters.ts).
  if (!deps.requestObjects || (!client.jwks && !client.jwksUri)) return;
  const jwt = ctx.params.get('request');
  if (jwt === undefined && !ctx.params.malformed.includes('request')) return;
  if (ctx.params.duplicated.includes('request') || jwt === undefined)
    throw bad('request must be given once, as a compact JWT of at most 4096 characters.');
  const allowed: readonly string[] = isFapi2(client) ? FAPI2_ALGS : ASYMMETRIC_ALGS;
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(jwt);
  } catch {
    throw bad('request is not a JWT.');
  }
  if (typeof header.alg !== 'string' || !allowed.includes(header.alg))
    throw bad(`The request object must be signed with one of ${allowed.join(', ')} (never none).`);
  if (header.typ !== undefined && header.typ.toLowerCase() !== REQUEST_OBJECT_TYP && header.typ !== 'JWT')
    throw bad(`The request object's typ must be ${REQUEST_OBJECT_TYP}.`);
  const { issuer, now, keysOf } = deps.requestObjects;
  let payload: JWTPayload;
  try {
    payload = await verifyWithClientKeys(jwt, client, keysOf, {
      algorithms: [...allowed],
      issuer: client.clientId,
      audience: issuer,
      requiredClaims: ['exp'],
      clockTolerance: LEEWAY_SEC,
      currentDate: new Date(now()),
    });
  } catch (err) {
    if (err instanceof errors.JWTExpired) throw bad('The request object has expired.');
    if (err instanceof errors.JWTClaimValidationFailed)
      throw bad(`The request object's ${err.claim} is not valid (${err.reason}).`);
    if (err instanceof errors.JOSEError)
      throw bad('The request object is not signed by a key of this application.');
    if (err instanceof Error && err.name === 'GuardedFetchError')
      throw bad(`The application's jwks_uri could not be read (${err.message}).`);
    throw err;
  }
  const nowSec = Math.floor(now() / 1000);
  if (payload.exp! > nowSec + MAX_LIFETIME_SEC + LEEWAY_SEC)
    throw bad(`The request object's exp is more than ${MAX_LIFETIME_SEC} s away.`);
  if (typeof payload.iat === 'number' && payload.iat > nowSec + LEEWAY_SEC)
    throw bad("The request object's iat is in the future.");
  if (payload['client_id'] !== undefined && payload['client_id'] !== client.clientId)
    throw bad('client_id in the request object differs from the client_id of the request.');
  // §6.3: the object's parameters only.
  const inner: Record<string, string | string[]> = { client_id: client.clientId };
  for (const [name, value] of Object.entries(payload)) {
    if (JWT_CLAIMS.has(name) || name === 'client_id') continue;
    if (name === 'request' || name === 'request_uri') throw bad(`A request object cannot carry ${name}.`);
    // OIDC Core §6.1: JSON values keep their JSON types (max_age a number, claims an object);
    // on the front channel they are strings, so they become the strings they would have been.
    if (typeof value === 'string') inner[name] = value;
    // RFC 8707 §2 in a request object: one resource, or several as a JSON array of strings.
    else if (
      MULTI_VALUED.has(name) &&
      Array.isArray(value) &&
      value.length > 0 &&
      value.every((v) => typeof v === 'string')
    )
      inner[name] = value as string[];
    else if (typeof value === 'number' && Number.isFinite(value)) inner[name] = String(value);
    else if (name === 'claims' && typeof value === 'object' && value !== null && !Array.isArray(value))
      inner[name] = JSON.stringify(value);
    else throw bad(`${name.slice(0, 40)} in the request object must be a string (or a number).`);
  }
  ctx.params = readParams(inner);
};

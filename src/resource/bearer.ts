/**
 * RFC 6750 §2.1: the token from an `Authorization: Bearer …` header; RFC 9449 §7.1: or from
 * `Authorization: DPoP …` with a `DPoP` proof header.
 */
import type { DpopContext } from './dpop-proofs.js';
import { VerificationError } from './errors.js';
import { type AccessTokenVerifier, checkStepUpOptions, type VerifiedAccessToken } from './verifier.js';

const CREDENTIALS = /^(Bearer|DPoP) +([A-Za-z0-9\-._~+/]+=*) *$/i;

export type Scheme = 'Bearer' | 'DPoP';

const malformed = () =>
  new VerificationError('LATCHKEY_TOKEN_MALFORMED', 'malformed Authorization header', {
    error: 'invalid_request',
  });

/** The token and its scheme (Bearer or DPoP). */
export function extractToken(header: string | string[] | undefined): { token: string; scheme: Scheme } {
  if (header === undefined || header === '') {
    throw new VerificationError('LATCHKEY_TOKEN_MISSING', 'no access token in the request');
  }
  if (Array.isArray(header)) throw malformed();
  if (!/^(bearer|dpop) /i.test(header)) {
    // Another scheme: no credentials of ours were presented.
    if (!/^(bearer|dpop)\b/i.test(header))
      throw new VerificationError('LATCHKEY_TOKEN_MISSING', 'no bearer access token in the request');
    throw malformed();
  }
  const m = CREDENTIALS.exec(header);
  if (!m) throw malformed();
  return { token: m[2]!, scheme: m[1]!.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer' };
}

/** RFC 6750 §2.1: the token from an `Authorization: Bearer …` header. */
export function extractBearer(header: string | string[] | undefined): string {
  const { token, scheme } = extractToken(header);
  if (scheme !== 'Bearer')
    throw new VerificationError('LATCHKEY_TOKEN_MISSING', 'no bearer access token in the request');
  return token;
}

export interface GuardOptions {
  /** Scopes every request must carry (all of them). */
  requiredScopes?: string[];
  /** `realm` in WWW-Authenticate. */
  realm?: string;
  /**
   * The API's origin as clients address it (`https://api.example.com`), for the DPoP proof's
   * `htu` behind a proxy; default: the request's own protocol and Host.
   */
  publicOrigin?: string;
  /**
   * Whether DPoP proofs on this route must carry a server nonce (RFC 9449 §9); default: the
   * verifier's `dpopNonce` option. When they must, a proof without the current nonce is answered
   * 401 `use_dpop_nonce` with a `DPoP-Nonce` header, and every accepted DPoP request's response
   * carries the current nonce in `DPoP-Nonce`.
   */
  dpopNonce?: boolean;
  /**
   * The sign-in this route needs (RFC 9470), instead of the verifier's `acrValues`: the token's
   * `acr` must be one of these (Latchkey's levels count upwards, `phr` meets `mfa`). Otherwise:
   * 401 with `WWW-Authenticate: Bearer error="insufficient_user_authentication", …, acr_values="…"`.
   */
  acrValues?: string[];
  /** The oldest sign-in this route accepts, in seconds (RFC 9470 `max_age`), instead of the verifier's. */
  maxAge?: number;
  /**
   * The URL of the API's protected-resource metadata (`protectedResourceMetadataUrl(resource)`):
   * every challenge then carries `resource_metadata="…"` (RFC 9728 §5.1).
   */
  resourceMetadataUrl?: string;
}

/** Checks a route's options when its middleware is made: a bad one fails at start-up, not per request. */
export function checkGuardOptions(opts: GuardOptions, where: string): void {
  checkStepUpOptions(opts ?? {}, where);
}

/** What the middleware reads from a request. */
export interface RequestParts {
  authorization: string | string[] | undefined;
  dpop: string | string[] | undefined;
  method: string;
  /** Absolute URL of the request. */
  url: string;
}

/** Header extraction + verification as one step, for the middleware. */
export async function authenticate(
  verifier: AccessTokenVerifier,
  req: RequestParts,
  opts: GuardOptions,
): Promise<VerifiedAccessToken> {
  const { token, scheme } = extractToken(req.authorization);
  const dpop: DpopContext | undefined =
    scheme === 'DPoP' ? { proof: req.dpop, method: req.method, url: req.url } : undefined;
  const verified = await verifier.verify(token, {
    ...(opts.requiredScopes ? { requiredScopes: opts.requiredScopes } : {}),
    ...(dpop ? { dpop } : {}),
    ...(opts.dpopNonce !== undefined ? { dpopNonce: opts.dpopNonce } : {}),
    ...(opts.acrValues !== undefined ? { acrValues: opts.acrValues } : {}),
    ...(opts.maxAge !== undefined ? { maxAge: opts.maxAge } : {}),
  });
  // RFC 9449 §7.1: the DPoP scheme is for bound tokens only.
  if (scheme === 'DPoP' && verified.claims['cnf' as keyof typeof verified.claims] === undefined)
    throw new VerificationError(
      'LATCHKEY_DPOP_INVALID',
      'the token is not bound to a DPoP key: use the Bearer scheme',
    );
  return verified;
}

/** The request's absolute URL, from its own origin or the configured public one. */
export const requestUrl = (publicOrigin: string | undefined, protocol: string, host: string, path: string) =>
  `${publicOrigin ? publicOrigin.replace(/\/+$/, '') : `${protocol}://${host}`}${path}`;

export function toVerificationError(err: unknown): VerificationError {
  if (err instanceof VerificationError) return err;
  return new VerificationError('LATCHKEY_JWKS_UNAVAILABLE', 'the token could not be checked', {
    error: 'temporarily_unavailable',
    cause: err,
  });
}

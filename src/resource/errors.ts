/** Errors of the resource-server SDK: a stable string `code` plus the RFC 6750 error to send. */

export type VerificationErrorCode =
  | 'LATCHKEY_TOKEN_MISSING'
  | 'LATCHKEY_TOKEN_MALFORMED'
  | 'LATCHKEY_ALGORITHM_NOT_ALLOWED'
  | 'LATCHKEY_TYPE_MISMATCH'
  | 'LATCHKEY_UNKNOWN_KEY'
  | 'LATCHKEY_SIGNATURE_INVALID'
  | 'LATCHKEY_ISSUER_MISMATCH'
  | 'LATCHKEY_AUDIENCE_MISMATCH'
  | 'LATCHKEY_TOKEN_EXPIRED'
  | 'LATCHKEY_TOKEN_NOT_YET_VALID'
  | 'LATCHKEY_TOKEN_ISSUED_IN_FUTURE'
  | 'LATCHKEY_CLAIM_MISSING'
  | 'LATCHKEY_CLAIM_INVALID'
  | 'LATCHKEY_INSUFFICIENT_SCOPE'
  | 'LATCHKEY_INSUFFICIENT_USER_AUTHENTICATION'
  | 'LATCHKEY_JWKS_UNAVAILABLE'
  | 'LATCHKEY_DPOP_BOUND'
  | 'LATCHKEY_DPOP_INVALID'
  | 'LATCHKEY_DPOP_NONCE'
  | 'LATCHKEY_INVALID_ARGUMENT';

/**
 * The RFC 6750 §3.1 error a failure maps to (`temporarily_unavailable` when the JWKS cannot be
 * read; RFC 9449 §9 `use_dpop_nonce` when a DPoP proof lacks the current server nonce; RFC 9470
 * §3 `insufficient_user_authentication` when the sign-in behind the token is too weak or too old).
 */
export type BearerError =
  | 'invalid_request'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'insufficient_user_authentication'
  | 'temporarily_unavailable'
  | 'use_dpop_nonce';

export class VerificationError extends Error {
  override name = 'VerificationError';
  /** RFC 6750 error code for the `WWW-Authenticate` header. */
  readonly error: BearerError;
  /** HTTP status a resource server should answer with (401, 403, 400 or 503). */
  readonly status: number;
  constructor(
    readonly code: VerificationErrorCode,
    message: string,
    opts: {
      error?: BearerError;
      status?: number;
      requiredScopes?: string[];
      dpopNonce?: string;
      acrValues?: string[];
      maxAge?: number;
      scheme?: 'Bearer' | 'DPoP';
      cause?: unknown;
    } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.error = opts.error ?? 'invalid_token';
    this.status =
      opts.status ??
      (this.error === 'insufficient_scope'
        ? 403
        : this.error === 'invalid_request'
          ? 400
          : this.error === 'temporarily_unavailable'
            ? 503
            : 401);
    this.requiredScopes = opts.requiredScopes;
    this.dpopNonce = opts.dpopNonce;
    this.acrValues = opts.acrValues;
    this.maxAge = opts.maxAge;
    this.scheme = opts.scheme;
  }
  /** Scopes the request needed (for `scope="…"` on insufficient_scope). */
  readonly requiredScopes: string[] | undefined;
  /** With `use_dpop_nonce`: the nonce the client must put in its next proof (`DPoP-Nonce`). */
  readonly dpopNonce: string | undefined;
  /** With `insufficient_user_authentication`: the `acr` values the request accepts (RFC 9470 §3). */
  readonly acrValues: string[] | undefined;
  /** With `insufficient_user_authentication`: the oldest sign-in it accepts, in seconds (RFC 9470 §3). */
  readonly maxAge: number | undefined;
  /** The scheme to challenge with when it is not Bearer: `DPoP` for a DPoP-bound token (RFC 9449 §7.1). */
  readonly scheme: 'Bearer' | 'DPoP' | undefined;
}

/** A quoted-string safe value for WWW-Authenticate (RFC 6750 §3: no `"` or `\`, printable ASCII only). */
export function headerSafe(s: string): string {
  return s.replace(/[^\x20-\x7e]|["\\]/g, "'").slice(0, 200);
}

/** The `WWW-Authenticate` header value for a failure (RFC 6750 §3). */
export function wwwAuthenticate(err: VerificationError | null, realm?: string): string {
  const parts: string[] = [];
  if (realm) parts.push(`realm="${headerSafe(realm)}"`);
  // §3.1: when the request had no credentials, no error code is sent.
  if (err && err.code !== 'LATCHKEY_TOKEN_MISSING' && err.error !== 'temporarily_unavailable') {
    parts.push(`error="${err.error}"`, `error_description="${headerSafe(err.message)}"`);
    if (err.error === 'insufficient_scope' && err.requiredScopes?.length)
      parts.push(`scope="${headerSafe(err.requiredScopes.join(' '))}"`);
    // RFC 9470 §3: what would do — acr_values (space-separated, in order of preference) and
    // max_age (a non-negative integer, sent as a token).
    if (err.error === 'insufficient_user_authentication') {
      // Not cut at 200 characters as descriptions are: a cut value would name another level.
      const acr = err.acrValues?.map((v) => v.replace(/[^\x21-\x7e]|["\\]/g, '')).filter(Boolean);
      if (acr?.length) parts.push(`acr_values="${acr.join(' ')}"`);
      if (Number.isSafeInteger(err.maxAge) && (err.maxAge as number) >= 0)
        parts.push(`max_age=${err.maxAge}`);
    }
  }
  // RFC 9449 §7.1: a DPoP failure is challenged with the DPoP scheme and its algorithms (§9: so
  // is a missing or stale nonce, error="use_dpop_nonce"), and so is a step-up challenge to a
  // DPoP-bound token (the error's `scheme`; RFC 9470 §3 applies to both schemes).
  if (
    err?.code === 'LATCHKEY_DPOP_INVALID' ||
    err?.code === 'LATCHKEY_DPOP_BOUND' ||
    err?.code === 'LATCHKEY_DPOP_NONCE' ||
    err?.scheme === 'DPoP'
  )
    return `DPoP ${['algs="ES256 EdDSA PS256 RS256"', ...parts].join(', ')}`;
  return parts.length > 0 ? `Bearer ${parts.join(', ')}` : 'Bearer';
}

/** The headers a failure's response carries besides the status (the middlewares set these). */
export function failureHeaders(err: VerificationError, realm?: string): Record<string, string> {
  const headers: Record<string, string> = { 'cache-control': 'no-store' };
  if (err.status !== 503) headers['www-authenticate'] = wwwAuthenticate(err, realm);
  if (err.dpopNonce !== undefined) headers['dpop-nonce'] = err.dpopNonce;
  return headers;
}

/** The JSON body matching the header (RFC 6749 style). */
export function errorBody(err: VerificationError): { error: string; error_description: string } {
  return { error: err.error, error_description: err.message };
}

/** RFC 6750 §2.1: the token from an `Authorization: Bearer …` header. */
import { VerificationError } from './errors.js';
import type { AccessTokenVerifier, VerifiedAccessToken } from './verifier.js';

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

export function extractBearer(header: string | string[] | undefined): string {
  if (header === undefined || header === '') {
    throw new VerificationError('LATCHKEY_TOKEN_MISSING', 'no access token in the request');
  }
  if (Array.isArray(header) || !/^bearer /i.test(header)) {
    // Another scheme (or several headers): no bearer credentials were presented.
    if (!Array.isArray(header) && !/^bearer\b/i.test(header))
      throw new VerificationError('LATCHKEY_TOKEN_MISSING', 'no bearer access token in the request');
    throw new VerificationError('LATCHKEY_TOKEN_MALFORMED', 'malformed Authorization header', {
      error: 'invalid_request',
    });
  }
  const m = BEARER.exec(header);
  if (!m) {
    throw new VerificationError('LATCHKEY_TOKEN_MALFORMED', 'malformed Authorization header', {
      error: 'invalid_request',
    });
  }
  return m[1]!;
}

export interface GuardOptions {
  /** Scopes every request must carry (all of them). */
  requiredScopes?: string[];
  /** `realm` in WWW-Authenticate. */
  realm?: string;
}

/** Header extraction + verification as one step, for the middleware. */
export async function authenticate(
  verifier: AccessTokenVerifier,
  authorization: string | string[] | undefined,
  opts: GuardOptions,
): Promise<VerifiedAccessToken> {
  const token = extractBearer(authorization);
  return verifier.verify(token, opts.requiredScopes ? { requiredScopes: opts.requiredScopes } : {});
}

export function toVerificationError(err: unknown): VerificationError {
  if (err instanceof VerificationError) return err;
  return new VerificationError('LATCHKEY_JWKS_UNAVAILABLE', 'the token could not be checked', {
    error: 'temporarily_unavailable',
    cause: err,
  });
}

/** Errors of the client SDK: a stable string `code`, plus the server's OAuth error when there is one. */
import type { StepUpChallenge } from './challenge.js';

export type LatchkeyErrorCode =
  | 'LATCHKEY_INVALID_ARGUMENT'
  | 'LATCHKEY_DISCOVERY_ERROR'
  | 'LATCHKEY_ISSUER_MISMATCH'
  | 'LATCHKEY_STATE_MISMATCH'
  | 'LATCHKEY_AUTHORIZATION_ERROR'
  | 'LATCHKEY_INVALID_RESPONSE'
  | 'LATCHKEY_TOKEN_ERROR'
  | 'LATCHKEY_ID_TOKEN_INVALID'
  | 'LATCHKEY_NONCE_MISMATCH'
  | 'LATCHKEY_REVOCATION_ERROR'
  | 'LATCHKEY_USERINFO_ERROR'
  | 'LATCHKEY_UNSUPPORTED'
  | 'LATCHKEY_NETWORK_ERROR'
  | 'LATCHKEY_TIMEOUT'
  | 'LATCHKEY_NOT_LOGGED_IN'
  | 'LATCHKEY_DPOP_ERROR'
  | 'LATCHKEY_STEP_UP_REQUIRED'
  | 'LATCHKEY_ACCESS_DENIED'
  | 'LATCHKEY_EXPIRED_TOKEN'
  | 'LATCHKEY_ABORTED';

export class LatchkeyError extends Error {
  override name = 'LatchkeyError';
  /** The server's OAuth `error` code, when it sent one. */
  readonly error: string | undefined;
  readonly errorDescription: string | undefined;
  /** HTTP status of the response that failed, when there was one. */
  readonly status: number | undefined;
  constructor(
    readonly code: LatchkeyErrorCode,
    message: string,
    opts: { error?: string; errorDescription?: string; status?: number; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.error = opts.error;
    this.errorDescription = opts.errorDescription;
    this.status = opts.status;
  }
}

export function invalidArgument(message: string): LatchkeyError {
  return new LatchkeyError('LATCHKEY_INVALID_ARGUMENT', message);
}

/**
 * An API answered 401 `insufficient_user_authentication` (RFC 9470 §3): the sign-in behind the
 * access token is too weak (`acrValues`) or too old (`maxAge`). A new authorization request
 * with these (`createAuthorizationRequest({ …, acrValues, maxAge })`) gets a token that does.
 */
export class StepUpRequiredError extends LatchkeyError {
  override name = 'StepUpRequiredError';
  /** The `acr` values the API accepts, in its order of preference (empty when it named none). */
  readonly acrValues: string[];
  /** The oldest sign-in the API accepts, in seconds, when it said. */
  readonly maxAge: number | undefined;
  /** The challenge's scheme: `Bearer`, or `DPoP` for a DPoP-bound token. */
  readonly scheme: string;
  constructor(challenge: StepUpChallenge, opts: { status?: number; url?: string } = {}) {
    const wants = [
      challenge.acrValues.length > 0 ? `acr_values ${challenge.acrValues.join(' ')}` : '',
      challenge.maxAge !== undefined ? `max_age ${challenge.maxAge}` : '',
    ].filter(Boolean);
    super(
      'LATCHKEY_STEP_UP_REQUIRED',
      `${opts.url ?? 'the resource'} asks for another sign-in${wants.length ? ` (${wants.join(', ')})` : ''}` +
        (challenge.errorDescription ? `: ${challenge.errorDescription}` : ''),
      {
        error: 'insufficient_user_authentication',
        ...(challenge.errorDescription !== undefined ? { errorDescription: challenge.errorDescription } : {}),
        status: opts.status ?? 401,
      },
    );
    this.acrValues = challenge.acrValues;
    this.maxAge = challenge.maxAge;
    this.scheme = challenge.scheme;
  }

  /** `acrValues` and `maxAge` for `createAuthorizationRequest`, only those the API named. */
  get authorizationParams(): { acrValues?: string[]; maxAge?: number } {
    return {
      ...(this.acrValues.length > 0 ? { acrValues: this.acrValues } : {}),
      ...(this.maxAge !== undefined ? { maxAge: this.maxAge } : {}),
    };
  }
}

/** Errors of the client SDK: a stable string `code`, plus the server's OAuth error when there is one. */

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
  | 'LATCHKEY_DPOP_ERROR';

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

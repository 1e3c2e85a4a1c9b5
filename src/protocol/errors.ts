/**
 * One error model for the whole server (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1; OIDC Core §3.1.2.6).
 * Only `error`, `error_description` and `error_uri` are ever serialised; `detail` is for logs.
 */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'access_denied'
  | 'server_error'
  | 'temporarily_unavailable'
  | 'login_required'
  | 'consent_required'
  | 'interaction_required'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'unsupported_token_type'
  | 'invalid_redirect_uri'
  | 'invalid_client_metadata'
  /** RFC 7591 §3.2.2. */
  | 'invalid_software_statement'
  | 'unapproved_software_statement'
  | 'not_found'
  | 'slow_down'
  /** RFC 8628 §3.5: the person has not approved or denied the device's request yet. */
  | 'authorization_pending'
  /** RFC 8628 §3.5: the device code has expired. */
  | 'expired_token'
  | 'request_not_supported'
  | 'request_uri_not_supported'
  | 'invalid_request_uri'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  | 'invalid_request_object'
  /** OpenID Connect Unmet Authentication Requirements 1.0 §2. */
  | 'unmet_authentication_requirements'
  /** RFC 9470 §3: the token's authentication is not enough for the resource. */
  | 'insufficient_user_authentication'
  /** RFC 8707 §2: the resource is unknown, or not one this client may ask for. */
  | 'invalid_target';

export class OAuthError extends Error {
  readonly code: OAuthErrorCode;
  readonly status: number;
  readonly description: string;
  /** Private: goes to logs only. */
  readonly detail: string | undefined;
  /** Extra response headers (e.g. WWW-Authenticate for invalid_client). */
  readonly headers: Record<string, string>;

  constructor(
    code: OAuthErrorCode,
    description: string,
    opts: { status?: number; detail?: string; headers?: Record<string, string> } = {},
  ) {
    super(`${code}: ${description}`);
    this.name = 'OAuthError';
    this.code = code;
    this.description = description;
    this.status = opts.status ?? defaultStatus(code);
    this.detail = opts.detail;
    this.headers = opts.headers ?? {};
  }

  /** Errors of status >= 500 never expose their description. */
  get expose(): boolean {
    return this.status < 500;
  }

  toJSON(): { error: string; error_description?: string } {
    return this.expose
      ? { error: this.code, error_description: this.description }
      : { error: this.code, error_description: 'The server could not complete the request.' };
  }
}

function defaultStatus(code: OAuthErrorCode): number {
  switch (code) {
    case 'invalid_client':
    case 'invalid_token':
      return 401;
    case 'insufficient_scope':
    case 'access_denied':
      return 403;
    case 'not_found':
      return 404;
    case 'server_error':
      return 500;
    case 'temporarily_unavailable':
      return 503;
    default:
      return 400;
  }
}

export const invalidRequest = (description: string, detail?: string) =>
  new OAuthError('invalid_request', description, detail === undefined ? {} : { detail });
export const invalidGrant = (description: string, detail?: string) =>
  new OAuthError('invalid_grant', description, detail === undefined ? {} : { detail });
export const invalidScope = (description: string) => new OAuthError('invalid_scope', description);
export const unauthorizedClient = (description: string) => new OAuthError('unauthorized_client', description);
export const unsupportedGrantType = (description: string) =>
  new OAuthError('unsupported_grant_type', description);
/** RFC 6749 §5.2: 401 with WWW-Authenticate naming the scheme the client tried (Basic by default). */
export const invalidClient = (description: string, scheme: 'Basic' | 'Bearer' = 'Basic') =>
  new OAuthError('invalid_client', description, {
    status: 401,
    headers: { 'www-authenticate': `${scheme} realm="latchkey", error="invalid_client"` },
  });
export const invalidToken = (description: string) =>
  new OAuthError('invalid_token', description, {
    status: 401,
    headers: {
      'www-authenticate': `Bearer realm="latchkey", error="invalid_token", error_description="${description.replace(/["\\]/g, '')}"`,
    },
  });

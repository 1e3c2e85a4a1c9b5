/** Grant handlers, registered by grant_type (RFC 6749 §4, §6). */
import type { ServerContext } from '../../context.js';
import type { AuthenticatedClient } from '../client-auth.js';
import type { Params } from '../params.js';

export interface TokenRequest {
  params: Params;
  auth: AuthenticatedClient;
  ip: string;
}

/** RFC 6749 §5.1 (+ OIDC Core §3.1.3.3 id_token). */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  id_token?: string;
  refresh_token?: string;
}

export interface GrantHandler {
  grantType: string;
  /** Parameters this grant reads (others are ignored). */
  parameters: readonly string[];
  handle(ctx: ServerContext, req: TokenRequest): Promise<TokenResponse>;
}

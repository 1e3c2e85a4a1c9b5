/** Grant handlers, registered by grant_type (RFC 6749 §4, §6), and what they may use. */

import type { Clock } from '../../clock.js';
import type { AuditInput, AuditType } from '../../ops/audit-log.js';
import type { DeviceCodeStore, GrantStore, RefreshTokenStore, UserStore } from '../../storage/types.js';
import type { LifetimeDefaults } from '../../tokens/lifetimes.js';
import type { TokenMinter } from '../../tokens/mint.js';
import type { AuthenticatedClient } from '../client-auth.js';
import type { Params } from '../params.js';
import type { ApiLookup } from '../resources.js';

export interface TokenRequest {
  params: Params;
  auth: AuthenticatedClient;
  ip: string;
  /** RFC 9449: the thumbprint of the key of a valid DPoP proof sent with the request. */
  dpopJkt?: string;
}

/** RFC 6749 §5.1 (+ OIDC Core §3.1.3.3 id_token). */
export interface TokenResponse {
  access_token: string;
  /** `DPoP` when the access token is bound to the proof's key (RFC 9449 §5). */
  token_type: 'Bearer' | 'DPoP';
  expires_in: number;
  scope: string;
  id_token?: string;
  refresh_token?: string;
}

/** The stores a grant reads and writes. */
export interface GrantStores {
  grants: GrantStore;
  users: Pick<UserStore, 'getById'>;
  refreshTokens: RefreshTokenStore;
  deviceCodes: DeviceCodeStore;
}

/** What issuing tokens needs: the clock, the lifetimes, the signer and the refresh-token store. */
export interface IssueDeps {
  clock: Clock;
  lifetimes: LifetimeDefaults;
  /** The registered APIs (RFC 8707): the tokens' audiences, with their settings. */
  apis: ApiLookup;
  minter: Pick<TokenMinter, 'accessToken' | 'idToken'>;
  stores: Pick<GrantStores, 'refreshTokens'>;
}

/** Everything a grant handler may use: no more (no HTTP, no SQL, no configuration beyond lifetimes). */
export interface GrantDeps extends IssueDeps {
  stores: GrantStores;
  audit: { record(type: AuditType, input?: AuditInput): Promise<void> };
  /**
   * Runs `fn` in one transaction with the stores bound to it: its writes commit together or not
   * at all (Storage.transaction).
   */
  transaction<T>(fn: (stores: GrantStores) => Promise<T>): Promise<T>;
}

export interface GrantHandler {
  grantType: string;
  /** Parameters this grant reads (others are ignored). */
  parameters: readonly string[];
  handle(deps: GrantDeps, req: TokenRequest): Promise<TokenResponse>;
}

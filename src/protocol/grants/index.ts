import { authorizationCodeGrant } from './authorization-code.js';
import { clientCredentialsGrant } from './client-credentials.js';
import { deviceCodeGrant } from './device-code.js';
import { refreshTokenGrant } from './refresh-token.js';
import type { GrantHandler } from './types.js';

/** grant_type → handler. Adding a grant is adding a line here. */
export const GRANT_HANDLERS: ReadonlyMap<string, GrantHandler> = new Map(
  [authorizationCodeGrant, refreshTokenGrant, clientCredentialsGrant, deviceCodeGrant].map((h) => [
    h.grantType,
    h,
  ]),
);

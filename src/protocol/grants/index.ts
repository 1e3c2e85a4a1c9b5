import { authorizationCodeGrant } from './authorization-code.js';
import type { GrantHandler } from './types.js';

/** grant_type → handler. Adding a grant is adding a line here. */
export const GRANT_HANDLERS: ReadonlyMap<string, GrantHandler> = new Map(
  [authorizationCodeGrant].map((h) => [h.grantType, h]),
);

/**
 * The authorization request checks, in the order the specs need them. Until the client and
 * its redirect URI are established, a failure renders an error page (RFC 6749 §4.1.2.1);
 * afterwards errors are sent back to the client.
 */
import { checkClient } from './check-client.js';
import { checkDpopJkt } from './check-dpop-jkt.js';
import { checkParameters } from './check-parameters.js';
import { checkPkce } from './check-pkce.js';
import { checkPromptAndMaxAge } from './check-prompt.js';
import { checkPushed } from './check-pushed.js';
import { checkRedirectUri } from './check-redirect-uri.js';
import { checkRequestObject } from './check-request-object.js';
import { checkResource } from './check-resource.js';
import { checkResponseMode } from './check-response-mode.js';
import { checkResponseType } from './check-response-type.js';
import { checkScope } from './check-scope.js';
import {
  type AuthorizationRequest,
  type AuthorizeCheck,
  type AuthorizeContext,
  type AuthorizeDeps,
  toRequest,
} from './request.js';

export const AUTHORIZE_CHECKS: readonly AuthorizeCheck[] = [
  checkClient,
  checkRequestObject,
  checkPushed,
  checkRedirectUri,
  checkResponseMode,
  checkParameters,
  checkDpopJkt,
  checkResponseType,
  checkScope,
  checkResource,
  checkPkce,
  checkPromptAndMaxAge,
];

export async function runAuthorizeChecks(
  ctx: AuthorizeContext,
  deps: AuthorizeDeps,
): Promise<AuthorizationRequest> {
  for (const check of AUTHORIZE_CHECKS) await check(ctx, deps);
  return toRequest(ctx);
}

export type { AuthorizationRequest, AuthorizeContext, AuthorizeDeps } from './request.js';

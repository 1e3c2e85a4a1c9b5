import { invalidRequest, OAuthError, unauthorizedClient } from '../errors.js';
import type { AuthorizeCheck } from './request.js';

/** OAuth 2.1: only the authorization code flow (`response_type=code`). */
export const checkResponseType: AuthorizeCheck = (ctx) => {
  const rt = ctx.params.get('response_type');
  if (rt === undefined) throw invalidRequest('The response_type parameter is missing.');
  if (rt !== 'code')
    throw new OAuthError('unsupported_response_type', 'Only response_type=code is supported.');
  if (!ctx.client!.grantTypes.includes('authorization_code')) {
    throw unauthorizedClient('This application may not use the authorization code flow.');
  }
};

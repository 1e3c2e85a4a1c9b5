import { invalidRequest, OAuthError } from '../errors.js';
import type { AuthorizeCheck } from './request.js';

/** RFC 6749 §4.1.2.1: an unknown client gets an error page, never a redirect. */
export const checkClient: AuthorizeCheck = async (ctx, deps) => {
  if (ctx.params.duplicated.includes('client_id'))
    throw invalidRequest('client_id was given more than once.');
  const clientId = ctx.params.get('client_id');
  if (!clientId) throw invalidRequest('The client_id parameter is missing.');
  const client = await deps.getClient(clientId);
  if (!client)
    throw new OAuthError('invalid_request', 'This application is not registered (unknown client_id).', {
      detail: clientId,
    });
  if (client.type === 'service') {
    throw new OAuthError(
      'unauthorized_client',
      'This application cannot sign users in (it is a service application).',
    );
  }
  ctx.client = client;
};

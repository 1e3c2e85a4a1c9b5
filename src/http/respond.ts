/** Authorization responses (redirect or form_post), error pages and RFC 6749 §5.2 JSON errors. */
import type { FastifyReply } from 'fastify';
import type { ServerContext } from '../context.js';
import { randomToken } from '../crypto.js';
import type { AuthorizationRequest } from '../protocol/authorize/index.js';
import { OAuthError } from '../protocol/errors.js';
import { errorPage, formPostPage } from '../ui/pages.js';

/** Appends parameters to a redirect URI that may already carry a query (RFC 6749 §3.1.2). */
export function appendQuery(uri: string, fields: Record<string, string>): string {
  const qs = new URLSearchParams(fields).toString();
  return uri + (uri.includes('?') ? '&' : '?') + qs;
}

export function sendHtml(reply: FastifyReply, status: number, html: string): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(html);
}

/** RFC 9207: every authorization response carries iss; state is echoed untouched. 303 after POST. */
export function sendAuthorizationResponse(
  ctx: ServerContext,
  reply: FastifyReply,
  request: Pick<AuthorizationRequest, 'redirectUri' | 'responseMode' | 'state'>,
  fields: Record<string, string>,
): FastifyReply {
  const all: Record<string, string> = { ...fields };
  if (request.state !== null) all['state'] = request.state;
  all['iss'] = ctx.config.issuer;
  if (request.responseMode === 'form_post') {
    const nonce = randomToken(16);
    reply.header('x-latchkey-script-nonce', nonce);
    return sendHtml(reply, 200, formPostPage({ action: request.redirectUri, fields: all, nonce }));
  }
  return reply
    .code(303)
    .header('cache-control', 'no-store')
    .header('location', appendQuery(request.redirectUri, all))
    .send();
}

export function sendAuthorizationError(
  ctx: ServerContext,
  reply: FastifyReply,
  request: Pick<AuthorizationRequest, 'redirectUri' | 'responseMode' | 'state'>,
  err: OAuthError,
): FastifyReply {
  const body = err.toJSON();
  const fields: Record<string, string> = { error: body.error };
  if (body.error_description) fields['error_description'] = body.error_description;
  return sendAuthorizationResponse(ctx, reply, request, fields);
}

/**
 * Retry-After (RFC 9110 §10.2.3) of a 503 while the database cannot answer: about how long a
 * short outage or a failover takes to be noticed and to clear (/readyz checks within seconds).
 */
export const STORAGE_RETRY_AFTER_SEC = 5;
/** Retry-After of a 503 from a node that is shutting down: the retry goes to another node. */
export const SHUTDOWN_RETRY_AFTER_SEC = 1;

/**
 * RFC 6749 §4.1.2.1 / §5.2 temporarily_unavailable, answered 503 with Retry-After: the database
 * cannot answer now, or this node is shutting down.
 */
export function temporarilyUnavailable(reason: 'storage' | 'shutdown', detail?: string): OAuthError {
  const sec = reason === 'storage' ? STORAGE_RETRY_AFTER_SEC : SHUTDOWN_RETRY_AFTER_SEC;
  return new OAuthError(
    'temporarily_unavailable',
    reason === 'storage'
      ? 'The service is briefly unavailable. Try again in a few seconds.'
      : 'The server is restarting. Try again in a moment.',
    { status: 503, headers: { 'retry-after': String(sec) }, ...(detail === undefined ? {} : { detail }) },
  );
}

/** What a 5xx error page says: its JSON description is deliberately bland, the page need not be. */
const PAGE_MESSAGES: Record<string, string> = {
  temporarily_unavailable: 'The service is briefly unavailable. Try again in a few seconds.',
};

const TITLES: Record<string, string> = {
  invalid_request: 'This request cannot be completed',
  unauthorized_client: 'This application cannot sign you in',
  not_found: 'Page not found',
  access_denied: 'Access denied',
  server_error: 'Something went wrong',
  temporarily_unavailable: 'Temporarily unavailable',
};

/** Where redirecting would be unsafe (unknown client, unregistered redirect URI): a page, never a Location. */
export function sendErrorPage(reply: FastifyReply, err: OAuthError, status = err.status): FastifyReply {
  const body = err.toJSON();
  for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
  return sendHtml(
    reply,
    status,
    errorPage({
      title: TITLES[body.error] ?? 'This request cannot be completed',
      message: PAGE_MESSAGES[body.error] ?? body.error_description ?? 'The request could not be completed.',
      code: body.error,
    }),
  );
}

export function sendJsonError(reply: FastifyReply, err: OAuthError): FastifyReply {
  for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
  return reply
    .code(err.status)
    .header('cache-control', 'no-store')
    .header('pragma', 'no-cache')
    .send(err.toJSON());
}

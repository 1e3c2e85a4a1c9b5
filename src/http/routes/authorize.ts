/**
 * The authorization endpoint, GET and POST (RFC 6749 §3.1; OIDC Core §3.1.2.1). Both handlers
 * (getAuthorize, postAuthorize) run the same `authorize`; POST keeps its raw form body
 * (keepRawForm) for the same percent-encoding check as the query.
 */
import { Readable } from 'node:stream';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  RequestPayload,
  RouteHandlerMethod,
} from 'fastify';
import type { ServerContext } from '../../context.js';
import {
  type AuthorizeContext,
  type AuthorizeDeps,
  runAuthorizeChecks,
} from '../../protocol/authorize/index.js';
import { invalidRequest, OAuthError } from '../../protocol/errors.js';
import { isPushedReference, takePushedRequest } from '../../protocol/par.js';
import { readParams } from '../../protocol/params.js';
import { isStorageUnavailable } from '../../storage/unavailable.js';
import { proceed } from '../authorize-flow.js';
import { isForm } from '../form.js';
import { sendAuthorizationError, sendErrorPage, temporarilyUnavailable } from '../respond.js';
import { currentSession } from '../session.js';

export function authorizeRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const config = { html: true };
  // No automatic HEAD route: a HEAD must not start a sign-in (interaction row, cookie).
  app.get('/authorize', { config, exposeHeadRoute: false }, getAuthorize(ctx));
  app.post('/authorize', { config, preParsing: keepRawForm }, postAuthorize(ctx));
}

/** GET /authorize: the request in the query string. */
export function getAuthorize(ctx: ServerContext): RouteHandlerMethod {
  return (req, reply) => authorize(ctx, req, reply, req.query, rawQuery(req));
}

/** POST /authorize: the request as a form body (OIDC Core §3.1.2.1); anything else, an error page. */
export function postAuthorize(ctx: ServerContext): RouteHandlerMethod {
  return (req, reply) => {
    if (!isForm(req))
      return sendErrorPage(
        reply,
        invalidRequest('POST to /authorize must be a form (application/x-www-form-urlencoded).'),
      );
    return authorize(ctx, req, reply, req.body, rawForms.get(req));
  };
}

/**
 * Both methods: the checks of protocol/authorize, then sign-in, consent or a code. A refusal
 * before the redirect URI is known is an error page; after, it goes back to the client.
 */
async function authorize(
  ctx: ServerContext,
  req: FastifyRequest,
  reply: FastifyReply,
  source: unknown,
  raw?: string,
) {
  const actx: AuthorizeContext = { params: readParams(source, raw), via: 'front' };
  let request: Awaited<ReturnType<typeof runAuthorizeChecks>>;
  try {
    if (isPushedReference(actx.params.get('request_uri'))) {
      // RFC 9126 §4: the pushed request, once, for the client that pushed it; nothing else of
      // the front channel counts.
      actx.params = await takePushedRequest(actx.params, (hash, clientId) =>
        ctx.storage.pushedRequests.consume(hash, clientId, ctx.clock.now()),
      );
      actx.via = 'pushed';
    }
    request = await runAuthorizeChecks(actx, authorizeDeps(ctx));
  } catch (err) {
    if (!(err instanceof OAuthError)) throw err;
    if (actx.redirectUri === undefined)
      return sendErrorPage(reply, err, err.status >= 500 ? err.status : 400);
    return sendAuthorizationError(
      ctx,
      reply,
      { redirectUri: actx.redirectUri, responseMode: actx.responseMode ?? 'query', state: safeState(actx) },
      err,
    );
  }
  try {
    return await proceed(ctx, reply, actx.client!, request, await currentSession(ctx, req));
  } catch (err) {
    // RFC 6749 §4.1.2.1: the client is known and the redirect URI checked, so the client is
    // told temporarily_unavailable (a redirect: no Retry-After, which would delay it).
    if (!isStorageUnavailable(err)) throw err;
    req.log.warn({ err: { message: (err as Error).message } }, 'database unavailable');
    return sendAuthorizationError(ctx, reply, request, temporarilyUnavailable('storage'));
  }
}

/** What the authorization checks read beyond the request (also for /par). */
export const authorizeDeps = (ctx: ServerContext): AuthorizeDeps => ({
  getClient: ctx.resolveClient,
  requirePar: ctx.config.requirePar,
  apis: ctx.apis,
  requestObjects: {
    issuer: ctx.config.issuer,
    now: () => ctx.clock.now(),
    keysOf: (client, opts) => ctx.clientKeys.of(client, opts),
  },
});

/** Raw form bodies of POST /authorize, for the same percent-encoding check as the query. */
const rawForms = new WeakMap<FastifyRequest, string>();

/** Reads the (size-capped) form body once, remembers it, and hands the same bytes to the parser. */
async function keepRawForm(
  req: FastifyRequest,
  _reply: FastifyReply,
  payload: RequestPayload,
): Promise<RequestPayload> {
  if (!isForm(req)) return payload;
  const limit = req.routeOptions.bodyLimit ?? 64 * 1024;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of payload) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += b.length;
    if (size > limit)
      throw new OAuthError('invalid_request', 'The request body is too large.', { status: 413 });
    chunks.push(b);
  }
  const body = Buffer.concat(chunks);
  rawForms.set(req, body.toString('utf8'));
  const out = Readable.from([body]) as Readable & { receivedEncodedLength?: number };
  out.receivedEncodedLength = body.length;
  return out;
}

/** The query string as sent, to spot bad percent-encoding the parser let through. */
function rawQuery(req: FastifyRequest): string {
  const url = req.raw.url ?? '';
  const q = url.indexOf('?');
  return q < 0 ? '' : url.slice(q + 1);
}

/** state is echoed only when it was given exactly once and is not absurdly long. */
function safeState(actx: AuthorizeContext): string | null {
  const p = actx.params;
  if (p.duplicated.includes('state') || p.malformed.includes('state')) return null;
  const s = p.get('state');
  return s !== undefined && s.length <= 2048 ? s : null;
}

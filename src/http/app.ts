/** The Fastify application: routes map HTTP to the protocol; headers, CORS, errors. */
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import type { ServerContext } from '../context.js';
import type { DemoAttempts } from '../demo/attempts.js';
import { OAuthError } from '../protocol/errors.js';
import { isStorageUnavailable } from '../storage/unavailable.js';
import { adminApiRoutes } from './admin/api/routes.js';
import { adminConsoleRoutes } from './admin/console/routes.js';
import { corsHooks } from './cors.js';
import { withRedaction } from './logging.js';
import { sendErrorPage, sendJsonError, temporarilyUnavailable } from './respond.js';
import { accountRoutes } from './routes/account.js';
import { authorizeRoutes } from './routes/authorize.js';
import { demoRoutes } from './routes/demo.js';
import { deviceRoutes } from './routes/device.js';
import { deviceAuthorizationRoutes } from './routes/device-authorization.js';
import { discoveryRoutes } from './routes/discovery.js';
import { interactionRoutes } from './routes/interaction.js';
import { logoutRoutes } from './routes/logout.js';
import { opsRoutes } from './routes/ops.js';
import { parRoutes } from './routes/par.js';
import { registerRoutes } from './routes/register.js';
import { revokeIntrospectRoutes } from './routes/revoke-introspect.js';
import { tokenRoutes } from './routes/token.js';
import { userinfoRoutes } from './routes/userinfo.js';

/** The HTTP application, and its logger option, as the rest of the server names them. */
export type App = FastifyInstance;
export type LoggerOption = FastifyServerOptions['logger'];

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Errors on this route render an HTML page instead of JSON. */
    html?: boolean;
    /** CORS for the origins of registered single-page apps. */
    cors?: boolean;
  }
}

export const BODY_LIMIT = 64 * 1024;

/**
 * The application. Hooks of one kind run in the order they are added, so the order here is
 * kept: shutdown hooks first (a draining server refuses before any other work), body and cookie
 * parsers, security headers, CORS, the error and not-found handlers, then the routes.
 */
export async function buildApp(
  ctx: ServerContext,
  opts: { logger?: LoggerOption; demo?: DemoAttempts; metricsText?: () => Promise<string> } = {},
): Promise<App> {
  const app = Fastify({
    // No code, token, hint or secret in a log line (logging.ts).
    logger: withRedaction(opts.logger ?? false),
    trustProxy: ctx.config.trustProxy,
    bodyLimit: BODY_LIMIT,
    routerOptions: { maxParamLength: 128 },
    // Requests that arrive while the server drains are refused by our own onRequest hook
    // (shutdownHooks), in the project's error shape (Fastify's built-in 503 has a body of its
    // own). Idle keep-alive connections are closed as soon as close() starts (Node's
    // closeIdleConnections).
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    requestIdHeader: false,
    frameworkErrors,
  });
  shutdownHooks(app);
  await app.register(formbody, { bodyLimit: BODY_LIMIT });
  await app.register(cookie);
  securityHeaders(app, ctx);
  corsHooks(app, ctx);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler(notFound);
  routes(app, ctx, opts.demo, opts.metricsText);
  return app;
}

/**
 * Router-level refusals (bad percent-encoding in the path, an over-long path parameter) in
 * our own error shape rather than Fastify's default body, which echoes the URL.
 */
const frameworkErrors: NonNullable<FastifyServerOptions['frameworkErrors']> = (err, req, reply) => {
  const status =
    err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
  const e = new OAuthError('invalid_request', 'The request URL is malformed.', {
    status,
    detail: err.message,
  });
  return (req.headers.accept ?? '').includes('text/html') ? sendErrorPage(reply, e) : sendJsonError(reply, e);
};

/**
 * Shutdown (ops/shutdown.ts calls app.close()): from then on every new request is refused
 * 503 + Retry-After, and every answer closes its connection, so that a kept-alive client
 * connection does not hold the process after its last in-flight request.
 */
function shutdownHooks(app: App): void {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async () => {
    if (closing) throw temporarilyUnavailable('shutdown');
  });
  app.addHook('onSend', async (_req, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });
}

/**
 * Security headers on every answer (RFC 9700 §4.16 clickjacking, referrer leakage; CSP without
 * third parties). An HTML page's script nonce, if it has one, comes in x-latchkey-script-nonce,
 * which is moved into the CSP.
 */
function securityHeaders(app: App, ctx: ServerContext): void {
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    if (ctx.config.issuer.startsWith('https:')) reply.header('strict-transport-security', 'max-age=31536000');
    const type = String(reply.getHeader('content-type') ?? '');
    if (type.startsWith('text/html')) {
      const nonce = reply.getHeader('x-latchkey-script-nonce');
      reply.removeHeader('x-latchkey-script-nonce');
      const script = typeof nonce === 'string' ? `'nonce-${nonce}'` : "'none'";
      reply.header(
        'content-security-policy',
        `default-src 'none'; style-src 'self'; img-src 'self' data:; script-src ${script}; frame-ancestors 'none'; base-uri 'none'`,
      );
    } else {
      reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
    }
    return payload;
  });
}

/** Every error as an OAuthError, rendered as an HTML page on `html` routes and as JSON elsewhere. */
function handleError(err: FastifyError, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const html = req.routeOptions.config?.html === true;
  const oauth = toOAuthError(err, req);
  if (oauth.detail) req.log.info({ detail: oauth.detail, code: oauth.code }, 'request refused');
  return html ? sendErrorPage(reply, oauth) : sendJsonError(reply, oauth);
}

/** What an error says to the client: its own OAuthError, an outage, a client mistake or a 500. */
function toOAuthError(err: FastifyError, req: FastifyRequest): OAuthError {
  if (err instanceof OAuthError) return err;
  if (isStorageUnavailable(err)) {
    // The database cannot answer (storage/unavailable.ts): an outage, not a bug — 503 with
    // Retry-After (RFC 9110 §15.6.4, §10.2.3), temporarily_unavailable (RFC 6749 §5.2).
    req.log.warn(
      { err: { message: (err as Error).message, code: (err as { code?: unknown }).code } },
      'database unavailable',
    );
    return temporarilyUnavailable('storage');
  }
  if (err.statusCode === 413)
    return new OAuthError('invalid_request', 'The request body is too large.', { status: 413 });
  if (err.statusCode === 415)
    return new OAuthError('invalid_request', 'Unsupported content type.', { status: 400 });
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
    return new OAuthError('invalid_request', 'The request is malformed.', {
      status: 400,
      detail: err.message,
    });
  }
  req.log.error({ err }, 'unhandled error');
  return new OAuthError('server_error', 'The server could not complete the request.', { status: 500 });
}

function notFound(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const err = new OAuthError('not_found', 'There is nothing here.', { status: 404 });
  return (req.headers.accept ?? '').includes('text/html')
    ? sendErrorPage(reply, err)
    : sendJsonError(reply, err);
}

/**
 * Every route. Each takes the error handler in force when it is added, so buildApp sets that
 * first; hooks apply to all routes whatever the order (Fastify collects them at ready).
 */
function routes(
  app: App,
  ctx: ServerContext,
  demo: DemoAttempts | undefined,
  metricsText: (() => Promise<string>) | undefined,
): void {
  opsRoutes(app, ctx, metricsText);
  discoveryRoutes(app, ctx);
  authorizeRoutes(app, ctx);
  interactionRoutes(app, ctx);
  accountRoutes(app, ctx);
  tokenRoutes(app, ctx);
  parRoutes(app, ctx);
  deviceAuthorizationRoutes(app, ctx);
  deviceRoutes(app, ctx);
  registerRoutes(app, ctx);
  userinfoRoutes(app, ctx);
  revokeIntrospectRoutes(app, ctx);
  logoutRoutes(app, ctx);
  adminApiRoutes(app, ctx);
  adminConsoleRoutes(app, ctx);
  if (demo) demoRoutes(app, ctx, demo);
}

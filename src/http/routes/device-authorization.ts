/**
 * The device authorization endpoint (RFC 8628 §3.1, §3.2): POST /device_authorization, one
 * handler, postDeviceAuthorization. The pages the person then opens are routes/device.ts; the
 * device polls /token (protocol/grants/device-code.ts).
 */
import type { FastifyInstance, RouteHandlerMethod } from 'fastify';
import type { ServerContext } from '../../context.js';
import { startDeviceAuthorization } from '../../protocol/device.js';
import { authenticatedForm } from '../form.js';

export function deviceAuthorizationRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/device_authorization', { config: { cors: true } }, postDeviceAuthorization(ctx));
}

/**
 * POST /device_authorization: a form body, no parameter twice, the client authenticated as at
 * /token (RFC 8628 §3.1: "as described in Section 3.2.1 of [RFC6749]"; a public client sends
 * client_id); then codes for a client allowed the grant, its scope and resources checked. An
 * error is a JSON error of RFC 6749 §5.2 (RFC 8628 §3.2); the answer is never cached.
 */
export function postDeviceAuthorization(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    const { params, auth } = await authenticatedForm(ctx, req);
    const body = await startDeviceAuthorization(
      {
        clock: ctx.clock,
        store: ctx.storage.deviceCodes,
        issuer: ctx.config.issuer,
        ttlSec: ctx.config.deviceCodeTtlSec,
        intervalSec: ctx.config.deviceIntervalSec,
        apis: ctx.apis,
      },
      auth.client,
      params,
    );
    return reply.header('cache-control', 'no-store').header('pragma', 'no-cache').send(body);
  };
}

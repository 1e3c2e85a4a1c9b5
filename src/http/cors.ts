/**
 * CORS only for routes marked `cors` (token, JWKS, discovery, …), and only for the origins of
 * registered single-page apps. Never on /authorize.
 */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { originsOf } from '../protocol/redirect-uris.js';
import { fastifyRoute } from '../protocol/well-known.js';
import { issuerPathDiscoveryPaths } from './routes/discovery.js';

const CACHE_MS = 5000;

export const CORS_PATHS = [
  '/token',
  '/userinfo',
  '/revoke',
  '/jwks',
  '/.well-known/openid-configuration',
  '/.well-known/oauth-authorization-server',
];

export function corsHooks(app: FastifyInstance, ctx: ServerContext): void {
  let cache: { origins: Set<string>; at: number } | undefined;
  const allowed = async (): Promise<Set<string>> => {
    const now = Date.now();
    if (!cache || now - cache.at > CACHE_MS) {
      const spas = (await ctx.storage.clients.list()).filter((c) => c.type === 'spa');
      cache = { origins: new Set(spas.flatMap((c) => originsOf(c.redirectUris))), at: now };
    }
    return cache.origins;
  };

  app.addHook('onRequest', async (req, reply) => {
    const origin = req.headers.origin;
    if (!origin || req.routeOptions.config?.cors !== true) return;
    reply.header('vary', 'Origin');
    if (!(await allowed()).has(origin)) return;
    reply.header('access-control-allow-origin', origin);
    // RFC 9449 §8, §9: a browser client must read the nonce, and at /userinfo the challenge.
    reply.header('access-control-expose-headers', 'DPoP-Nonce, WWW-Authenticate');
  });

  // Preflight for the CORS routes (and the discovery locations of an issuer with a path).
  for (const path of [...CORS_PATHS, ...issuerPathDiscoveryPaths(ctx.config.issuer)])
    app.options(fastifyRoute(path), { config: { cors: true } }, preflight);

  async function preflight(_req: unknown, reply: import('fastify').FastifyReply) {
    if (reply.getHeader('access-control-allow-origin')) {
      reply
        .header('access-control-allow-methods', 'GET, POST, OPTIONS')
        .header('access-control-allow-headers', 'authorization, content-type, dpop')
        .header('access-control-max-age', '600');
    }
    return reply.code(204).send();
  }
}

/**
 * Operations endpoints: /readyz (database reachable and migrated) and /metrics (Prometheus,
 * only with LATCHKEY_METRICS_TOKEN and a matching bearer token; 404 otherwise).
 * Also installs the request counters (one onResponse hook, countResponse: a counter and a
 * histogram). opsRoutes registers the hooks, then the handlers getReadyz and getMetrics.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, onResponseAsyncHookHandler, RouteHandlerMethod } from 'fastify';
import type { ServerContext } from '../../context.js';
import { createMetrics, type Metrics } from '../../ops/metrics.js';
import { OAuthError } from '../../protocol/errors.js';
import { STORAGE_RETRY_AFTER_SEC } from '../respond.js';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics;
  }
}

const READY_TIMEOUT_MS = 2000;

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** `metricsText`: what /metrics answers instead of this process's registry (`serve --workers`). */
export function opsRoutes(
  app: FastifyInstance,
  ctx: ServerContext,
  metricsText?: () => Promise<string>,
): void {
  const metrics = createMetrics(ctx.storage);
  app.decorate('metrics', metrics);

  // Sign-ins and reuse detections are audit events: counted as they are recorded.
  const unsubscribe = ctx.audit.onRecorded((event) => metrics.observeAudit(event));
  app.addHook('onClose', async () => {
    unsubscribe();
  });
  app.addHook('onResponse', countResponse(metrics));

  app.get('/readyz', getReadyz(ctx));
  app.get('/metrics', getMetrics(ctx, metrics, metricsText));
}

/** The onResponse hook: every answer counted and timed by route pattern; tokens by grant_type. */
export function countResponse(metrics: Metrics): onResponseAsyncHookHandler {
  return async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const status = reply.statusCode;
    metrics.requests.inc({ method: req.method, route, status });
    metrics.duration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
    if (route === '/token' && req.method === 'POST' && status === 200) {
      const body = req.body as Record<string, unknown> | undefined;
      const grantType = typeof body?.grant_type === 'string' ? body.grant_type : 'unknown';
      metrics.tokensIssued.inc({ grant_type: grantType.slice(0, 40) });
    }
  };
}

/**
 * GET /readyz: 200 once the database answers (within READY_TIMEOUT_MS), has no pending
 * migration and, after a failure, takes a write again; 503 with Retry-After and the reason
 * otherwise. Once seen migrated, the migrations are not counted again.
 */
export function getReadyz(ctx: ServerContext): RouteHandlerMethod {
  let migrated = false;
  return async (req, reply) => {
    reply.header('cache-control', 'no-store');
    const health = ctx.storage.health;
    let step = 'database unreachable';
    try {
      const check = async () => {
        await ctx.storage.ping();
        if (!migrated) migrated = (await ctx.storage.pendingMigrations()) === 0;
        // After a failure (full disk, read-only file, a standby), reads may work while writes
        // do not: a write that needs room must succeed before the node is ready again.
        if (health.down) {
          step = 'database not writable';
          await ctx.storage.probeWrite();
        }
      };
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        check(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('database check timed out')), READY_TIMEOUT_MS);
        }),
      ]).finally(() => clearTimeout(timer));
    } catch (err) {
      req.log.warn(
        { err: { message: (err as Error).message, code: (err as { code?: unknown }).code } },
        'readiness check failed',
      );
      return unavailable(reply, step);
    }
    if (!migrated) return unavailable(reply, 'migrations pending');
    if (health.down) return unavailable(reply, 'database not writable');
    return { status: 'ready' };
  };
}

/** Not ready: 503, and (RFC 9110 §10.2.3) when to look again. */
function unavailable(reply: FastifyReply, reason: string): FastifyReply {
  return reply
    .code(503)
    .header('retry-after', String(STORAGE_RETRY_AFTER_SEC))
    .send({ status: 'unavailable', reason });
}

/** GET /metrics: Prometheus text for the bearer of LATCHKEY_METRICS_TOKEN; 404 for anyone else. */
export function getMetrics(
  ctx: ServerContext,
  metrics: Metrics,
  metricsText: () => Promise<string> = () => metrics.registry.metrics(),
): RouteHandlerMethod {
  const metricsToken = ctx.config.metricsToken;
  return async (req, reply) => {
    const auth = req.headers.authorization ?? '';
    const given = auth.startsWith('Bearer ') ? auth.slice('Bearer '.length).trim() : '';
    if (!metricsToken || !given || !sameSecret(given, metricsToken)) {
      throw new OAuthError('not_found', 'There is nothing here.', { status: 404 });
    }
    const body = await metricsText();
    return reply
      .header('content-type', metrics.registry.contentType)
      .header('cache-control', 'no-store')
      .send(body);
  };
}

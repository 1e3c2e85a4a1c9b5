/**
 * Prometheus metrics, one Registry per app (tests build many apps in one process).
 * Counting is a counter increment on paths that already run: Fastify's onResponse hook
 * and the audit store's record(), which every sign-in and reuse detection goes through.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Storage } from '../storage/index.js';
import type { AuditEvent } from '../storage/types.js';
import { PURGED_TABLES, type PurgeRun } from './cleanup.js';

export interface Metrics {
  registry: Registry;
  requests: Counter<'method' | 'route' | 'status'>;
  duration: Histogram<'method' | 'route'>;
  tokensIssued: Counter<'grant_type'>;
  signIns: Counter<'result'>;
  codeReuse: Counter;
  refreshReuse: Counter;
  /** Feeds one audit event into the counters. */
  observeAudit(event: Pick<AuditEvent, 'type'>): void;
  /** Feeds one purge run (ops/cleanup.ts) into the purge counters. */
  observePurge(run: PurgeRun): void;
}

export function createMetrics(storage: Pick<Storage, 'poolStats' | 'dialect'>): Metrics {
  const registry = new Registry();
  const requests = new Counter({
    name: 'latchkey_http_requests_total',
    help: 'HTTP requests by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'latchkey_http_request_duration_seconds',
    help: 'HTTP request latency by method and route pattern.',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const tokensIssued = new Counter({
    name: 'latchkey_tokens_issued_total',
    help: 'Successful token responses by grant_type.',
    labelNames: ['grant_type'] as const,
    registers: [registry],
  });
  const signIns = new Counter({
    name: 'latchkey_sign_ins_total',
    help: 'Sign-in attempts by result (success, failure, throttled).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const codeReuse = new Counter({
    name: 'latchkey_code_reuse_detected_total',
    help: 'Authorization codes presented again after being redeemed (the grant is revoked).',
    registers: [registry],
  });
  const refreshReuse = new Counter({
    name: 'latchkey_refresh_reuse_detected_total',
    help: 'Rotated refresh tokens presented again (the family is revoked).',
    registers: [registry],
  });
  for (const result of ['success', 'failure', 'throttled']) signIns.inc({ result }, 0);
  codeReuse.inc(0);
  refreshReuse.inc(0);

  storageGauges(registry, storage);
  const observePurge = purgeMetrics(registry);

  const counters = { signIns, codeReuse, refreshReuse };
  return {
    registry,
    requests,
    duration,
    tokensIssued,
    ...counters,
    observeAudit: (event) => countAuditEvent(counters, event),
    observePurge,
  };
}

/** Rows the purge deleted per table, and how long each run took. */
function purgeMetrics(registry: Registry): (run: PurgeRun) => void {
  const rows = new Counter({
    name: 'latchkey_purge_deleted_rows_total',
    help: 'Expired rows deleted by the purge, by table.',
    labelNames: ['table'] as const,
    registers: [registry],
  });
  const runs = new Histogram({
    name: 'latchkey_purge_duration_seconds',
    help: 'Duration of each purge run (every minute; it pauses between statements).',
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60],
    registers: [registry],
  });
  for (const table of PURGED_TABLES) rows.inc({ table }, 0);
  return (run) => {
    for (const [table, n] of Object.entries(run.deleted)) if (n > 0) rows.inc({ table }, n);
    runs.observe(run.ms / 1000);
  };
}

/** The storage's gauges: the PostgreSQL pool (read at each scrape), and the dialect. */
function storageGauges(registry: Registry, storage: Pick<Storage, 'poolStats' | 'dialect'>): void {
  const poolStats = storage.poolStats;
  if (poolStats) {
    new Gauge({
      name: 'latchkey_db_pool_connections',
      help: 'PostgreSQL connection pool: total, idle, and callers waiting for a connection.',
      labelNames: ['state'] as const,
      registers: [registry],
      collect() {
        const s = poolStats();
        this.set({ state: 'total' }, s.total);
        this.set({ state: 'idle' }, s.idle);
        this.set({ state: 'waiting' }, s.waiting);
      },
    });
  }
  new Gauge({
    name: 'latchkey_info',
    help: 'Constant 1, labelled with the storage dialect.',
    labelNames: ['dialect'] as const,
    // Under `serve --workers` the workers' metrics are summed (src/cluster/metrics.ts): not this one.
    aggregator: 'first',
    registers: [registry],
  }).set({ dialect: storage.dialect }, 1);
}

/** Metrics.observeAudit: the audit events that are counted, each into its counter. */
function countAuditEvent(
  c: Pick<Metrics, 'signIns' | 'codeReuse' | 'refreshReuse'>,
  event: Pick<AuditEvent, 'type'>,
): void {
  switch (event.type) {
    case 'login_success':
      c.signIns.inc({ result: 'success' });
      break;
    case 'login_failure':
      c.signIns.inc({ result: 'failure' });
      break;
    case 'login_throttled':
      c.signIns.inc({ result: 'throttled' });
      break;
    case 'code_reuse_detected':
      c.codeReuse.inc();
      break;
    case 'refresh_reuse_detected':
      c.refreshReuse.inc();
      break;
  }
}

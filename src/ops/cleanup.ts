/**
 * The purge: expired rows go every minute (storage/sql/purge.ts does the deleting, index-driven
 * and in time-bounded batches), and `latchkey purge` runs one pass now. What each table keeps,
 * and for how long: docs/operations.md, Growth and retention.
 */
import type { Clock } from '../clock.js';
import type { PurgeCounts, PurgeOptions, PurgeStore } from '../storage/sql/purge.js';

export {
  CODE_RETENTION_MS,
  DEVICE_CODE_RETENTION_MS,
  GRANT_RETENTION_MS,
  LOGIN_FAILURE_RETENTION_MS,
  MAIL_RETENTION_MS,
  REFRESH_RETENTION_MS,
} from '../storage/retention.js';
export { PURGE_BATCH_SIZE, PURGED_TABLES, type PurgeCounts } from '../storage/sql/purge.js';
export const PURGE_INTERVAL_MS = 60_000;
/** The first run comes this soon after start: a node back from downtime clears its backlog. */
export const FIRST_PURGE_DELAY_MS = 5_000;

/** One pass: rows deleted per table, and how long it took (wall clock, ms). */
export interface PurgeRun {
  deleted: PurgeCounts;
  ms: number;
}

/** Audit retention in ms from LATCHKEY_AUDIT_RETENTION (seconds; 0 keeps audit events forever). */
export const auditRetentionMs = (auditRetentionSec: number): number | null =>
  auditRetentionSec === 0 ? null : auditRetentionSec * 1000;

/** One purge pass now: the counts only (what the tests compare). */
export function purgeExpired(
  storage: { purge: PurgeStore },
  now: number,
  opts: PurgeOptions = {},
): Promise<PurgeCounts> {
  return storage.purge.expired(now, opts);
}

/** One purge pass now, timed (what the timer and `latchkey purge` run). */
export async function runPurge(
  storage: { purge: PurgeStore },
  now: number,
  opts: PurgeOptions = {},
): Promise<PurgeRun> {
  const started = performance.now();
  const deleted = await storage.purge.expired(now, opts);
  return { deleted, ms: Math.round(performance.now() - started) };
}

export const deletedRows = (r: PurgeRun): number => Object.values(r.deleted).reduce((a, b) => a + b, 0);

export interface PurgeTimer {
  stop(): Promise<void>;
}

/**
 * Runs a purge `firstDelayMs` after start, then every `intervalMs` (unref'd: it never keeps the
 * process alive). Runs never overlap; stop() ends a run in progress at its next statement and
 * waits for that. Each run is reported
 * (onPurged); errors are reported, not thrown.
 */
export function startPurgeTimer(
  storage: { purge: PurgeStore },
  clock: Clock,
  opts: {
    intervalMs?: number;
    firstDelayMs?: number;
    purge?: PurgeOptions;
    onPurged?: (run: PurgeRun) => void;
    onError?: (err: unknown) => void;
  } = {},
): PurgeTimer {
  let running: Promise<void> | undefined;
  let stopped = false;
  const abort = new AbortController();
  const run = () => {
    if (running || stopped) return;
    running = runPurge(storage, clock.now(), { ...opts.purge, signal: abort.signal })
      .then(
        (r) => {
          // A report that throws (a metric, a log line) must not become an unhandled rejection.
          try {
            opts.onPurged?.(r);
          } catch (err) {
            opts.onError?.(err);
          }
        },
        (err) => opts.onError?.(err),
      )
      .finally(() => {
        running = undefined;
      });
  };
  const interval = opts.intervalMs ?? PURGE_INTERVAL_MS;
  const first = setTimeout(run, Math.min(opts.firstDelayMs ?? FIRST_PURGE_DELAY_MS, interval));
  first.unref();
  const timer = setInterval(run, interval);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      abort.abort(); // a pass in progress stops before its next statement
      clearTimeout(first);
      clearInterval(timer);
      await running;
    },
  };
}

/** The purge timer: expired rows go every minute, in batches (storage/sql/purge.ts). */
import type { Clock } from '../clock.js';
import type { PurgeCounts, PurgeStore } from '../storage/sql/purge.js';

export {
  CODE_RETENTION_MS,
  GRANT_RETENTION_MS,
  LOGIN_FAILURE_RETENTION_MS,
  REFRESH_RETENTION_MS,
} from '../storage/retention.js';
export { PURGE_BATCH_SIZE, type PurgeCounts } from '../storage/sql/purge.js';
export const PURGE_INTERVAL_MS = 60_000;

/** One purge pass now (what the timer runs). */
export function purgeExpired(
  storage: { purge: PurgeStore },
  now: number,
  opts: { batchSize?: number } = {},
): Promise<PurgeCounts> {
  return storage.purge.expired(now, opts);
}

export interface PurgeTimer {
  stop(): Promise<void>;
}

/**
 * Runs purgeExpired every `intervalMs` (unref'd: it never keeps the process alive).
 * Runs never overlap; stop() waits for a run in progress. Errors are reported, not thrown.
 */
export function startPurgeTimer(
  storage: { purge: PurgeStore },
  clock: Clock,
  opts: { intervalMs?: number; onError?: (err: unknown) => void } = {},
): PurgeTimer {
  let running: Promise<void> | undefined;
  let stopped = false;
  const timer = setInterval(() => {
    if (running || stopped) return;
    running = purgeExpired(storage, clock.now())
      .then(
        () => {},
        (err) => opts.onError?.(err),
      )
      .finally(() => {
        running = undefined;
      });
  }, opts.intervalMs ?? PURGE_INTERVAL_MS);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

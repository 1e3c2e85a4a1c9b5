/**
 * When a dead worker is started again: 100 ms after its first death, twice as long after each
 * death that follows, at most 10 s; a worker that stayed up that long starts over at 100 ms.
 */
export const FIRST_RESTART_MS = 100;
export const MAX_RESTART_MS = 10_000;

export interface Backoff {
  /** The delay before the next start, given how long the worker that died was up. */
  next(upMs: number): number;
}

export function backoff(first = FIRST_RESTART_MS, max = MAX_RESTART_MS): Backoff {
  let delay = first;
  return {
    next(upMs) {
      if (upMs >= max) delay = first;
      const now = delay;
      delay = Math.min(delay * 2, max);
      return now;
    },
  };
}

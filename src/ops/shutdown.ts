/**
 * Graceful shutdown of `latchkey serve` on SIGTERM or SIGINT.
 *
 * The first signal stops accepting connections, closes idle keep-alive connections at once,
 * lets in-flight requests finish (every answer then closes its connection; a new request on an
 * open connection is refused 503 + Retry-After, see http/app.ts), closes the database and exits
 * 0. If requests are still running after the grace (LATCHKEY_SHUTDOWN_GRACE seconds), the
 * process exits 1 without them. A second signal exits 1 at once.
 */
import type { Server } from 'node:http';

export interface ShutdownTarget {
  /** The HTTP server (its idle connections are closed while it drains). */
  server: Pick<Server, 'closeIdleConnections' | 'closeAllConnections'>;
  /** Drains the HTTP server, stops timers and closes the database. */
  close(): Promise<void>;
}

export interface ShutdownOptions {
  graceSec: number;
  /** One line for the operator (stdout of `serve`). */
  log: (line: string) => void;
  /** process.exit unless a test replaces it. */
  exit?: (code: number) => void;
  signals?: NodeJS.Signals[];
}

/** How often connections that fell idle during the drain are closed. */
const IDLE_SWEEP_MS = 100;

export interface Shutdown {
  /** What a signal does; exposed for tests. */
  onSignal(signal: string): void;
  /** Removes the signal handlers. */
  uninstall(): void;
}

export function handleShutdownSignals(target: ShutdownTarget, opts: ShutdownOptions): Shutdown {
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const signals = opts.signals ?? ['SIGTERM', 'SIGINT'];
  let stopping = false;

  const onSignal = (signal: string) => {
    if (stopping) {
      opts.log(`${signal} again: exiting now`);
      exit(1);
      return;
    }
    stopping = true;
    opts.log(
      `${signal}: shutting down (in-flight requests get ${opts.graceSec} s; send the signal again to exit now)`,
    );
    drain(target, { ...opts, exit });
  };

  const handlers = signals.map((s) => {
    const h = () => onSignal(s);
    process.on(s, h);
    return [s, h] as const;
  });
  return {
    onSignal,
    uninstall() {
      for (const [s, h] of handlers) process.off(s, h);
    },
  };
}

/**
 * The drain itself, once: stop accepting, close idle connections as they fall idle, let
 * in-flight requests finish within the grace, close the database; then exit 0 (1 after the
 * grace or an error). A worker of `serve --workers` drains this way when the primary says so.
 */
export function drain(target: ShutdownTarget, opts: Omit<ShutdownOptions, 'signals'>): void {
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const started = Date.now();
  const sweep = setInterval(() => target.server.closeIdleConnections(), IDLE_SWEEP_MS);
  const force = setTimeout(() => {
    clearInterval(sweep);
    opts.log(`shutdown: requests still running after ${opts.graceSec} s (LATCHKEY_SHUTDOWN_GRACE); exiting`);
    target.server.closeAllConnections();
    exit(1);
  }, opts.graceSec * 1000);
  target.close().then(
    () => {
      clearInterval(sweep);
      clearTimeout(force);
      opts.log(`shutdown: done in ${Date.now() - started} ms`);
      exit(0);
    },
    (err: unknown) => {
      clearInterval(sweep);
      clearTimeout(force);
      opts.log(`shutdown: ${(err as Error).message ?? err}`);
      exit(1);
    },
  );
}

/**
 * The WAL checkpoint of a serving SQLite file, on a thread of its own.
 *
 * SQLite's automatic checkpoint runs inside the commit that pushes the WAL past 1,000 pages: that
 * request writes the WAL's pages back into the main file (scattered writes into a large file, and
 * an fsync) while every other request waits on the one event loop. Measured on a file grown to a
 * million rows, about 60 % of the extra cost of `insert into grants` was there (bench/README.md).
 *
 * So the serving connection turns the automatic checkpoint off (`wal_autocheckpoint = 0`) and a
 * worker thread with its own connection runs `PRAGMA wal_checkpoint(PASSIVE)` every
 * CHECKPOINT_INTERVAL_MS. PASSIVE never takes the write lock and never waits (sqlite.org/wal.html
 * §"Checkpointing", sqlite.org/pragma.html#pragma_wal_checkpoint): writers carry on while pages
 * are copied; a checkpoint that finds another one running (several processes on one file) just
 * reports `busy` and the next tick tries again. Once a checkpoint has copied every frame, the next
 * writer starts the WAL over from its beginning, and `journal_size_limit` truncates the file back
 * to WAL_SIZE_LIMIT_BYTES then, so the WAL stays bounded.
 *
 * If the thread cannot start or dies, the serving connection gets SQLite's automatic checkpoint
 * back (the default, 1,000 pages) and the failure is reported: slower commits, never an unbounded
 * WAL. The thread's code is a few lines of CommonJS evaluated in a worker (like the hashing
 * threads, src/auth/argon2-threads.ts), so it runs the same under tsc's output, tsx and bundles.
 */

import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';

/** How often the checkpoint thread runs a PASSIVE checkpoint. */
export const CHECKPOINT_INTERVAL_MS = 1000;
/** SQLite's own automatic checkpoint threshold (pages), restored when the thread fails. */
export const SQLITE_DEFAULT_AUTOCHECKPOINT = 1000;
/** The WAL file is truncated back to this size when it starts over after a full checkpoint. */
export const WAL_SIZE_LIMIT_BYTES = 64 * 2 ** 20;

/** One checkpoint's result, as `PRAGMA wal_checkpoint` reports it. */
export interface CheckpointResult {
  /** 1 when another checkpoint (another process's) held the lock: nothing was done. */
  busy: number;
  /** Frames in the WAL. */
  log: number;
  /** Frames copied back into the database file (all of them: `checkpointed === log`). */
  checkpointed: number;
  ms: number;
}

export interface Checkpointer {
  /** Ends the thread (its connection closed) and waits for that; safe to call twice. */
  stop(): Promise<void>;
  /** The latest checkpoint, once one ran. */
  readonly last: CheckpointResult | undefined;
  /** Resolves after the next checkpoint the thread reports (tests wait on it). */
  next(): Promise<CheckpointResult>;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const SQLite = require(workerData.driver);
const db = new SQLite(workerData.path, { fileMustExist: true });
// The same durability as the serving connection: a checkpoint fsyncs the file it writes.
db.pragma('synchronous = NORMAL');
db.pragma('journal_size_limit = ' + workerData.walSizeLimit);
let timer;
const tick = () => {
  const started = performance.now();
  try {
    const r = db.pragma('wal_checkpoint(PASSIVE)')[0];
    parentPort.postMessage({ busy: r.busy, log: r.log, checkpointed: r.checkpointed, ms: performance.now() - started });
  } catch (err) {
    // SQLITE_BUSY while a writer restarts the WAL: the next tick tries again.
    if (!err || err.code !== 'SQLITE_BUSY') throw err;
  }
  timer = setTimeout(tick, workerData.intervalMs);
};
parentPort.on('message', (m) => {
  if (m === 'stop') { clearTimeout(timer); db.close(); parentPort.close(); }
});
tick();
`;

/**
 * Starts the checkpoint thread for the file behind `sqlite` (already in WAL mode), and turns the
 * serving connection's automatic checkpoint off once the thread has started.
 */
export function startCheckpointer(
  sqlite: BetterSqlite3.Database,
  path: string,
  opts: {
    intervalMs?: number;
    onFailure?: (err: Error) => void;
    /** Tests: a smaller bound, and a driver that fails to load on the thread. */
    walSizeLimitBytes?: number;
    driver?: string;
  } = {},
): Checkpointer {
  let last: CheckpointResult | undefined;
  let waiters: ((r: CheckpointResult) => void)[] = [];
  let stopping = false;
  let failed = false;
  const fallBack = (err: Error) => {
    if (stopping || failed || !sqlite.open) return;
    failed = true;
    sqlite.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_AUTOCHECKPOINT}`);
    opts.onFailure?.(err);
  };
  const walSizeLimit = opts.walSizeLimitBytes ?? WAL_SIZE_LIMIT_BYTES;
  let worker: Worker;
  try {
    worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        driver: opts.driver ?? createRequire(import.meta.url).resolve('better-sqlite3'),
        path,
        intervalMs: opts.intervalMs ?? CHECKPOINT_INTERVAL_MS,
        walSizeLimit,
      },
      // A preloaded agent or loader of the parent has no business on this thread.
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
    });
  } catch (err) {
    // No thread: the automatic checkpoint stays on.
    opts.onFailure?.(err instanceof Error ? err : new Error(String(err)));
    return { last: undefined, next: () => new Promise(() => {}), stop: async () => {} };
  }
  sqlite.pragma(`journal_size_limit = ${walSizeLimit}`);
  sqlite.pragma('wal_autocheckpoint = 0');
  // It never keeps the process alive on its own: close() ends it, and so does exit.
  worker.unref();
  worker.on('message', (r: CheckpointResult) => {
    last = r;
    const ws = waiters;
    waiters = [];
    if (ws.length > 0 && !stopping) worker.unref();
    for (const w of ws) w(r);
  });
  worker.on('error', (err) => fallBack(err));
  const exited = new Promise<void>((resolve) =>
    worker.once('exit', (code) => {
      if (code !== 0) fallBack(new Error(`the WAL checkpoint thread exited with code ${code}`));
      else if (!stopping) fallBack(new Error('the WAL checkpoint thread ended'));
      resolve();
    }),
  );
  return {
    get last() {
      return last;
    },
    next: () =>
      new Promise((resolve) => {
        // Someone waits for it: the thread keeps the process alive until it answers.
        worker.ref();
        waiters.push(resolve);
      }),
    async stop() {
      if (!stopping) {
        stopping = true;
        // Until it has closed its connection: close() goes on with the serving one after that.
        worker.ref();
        worker.postMessage('stop');
      }
      await exited;
    },
  };
}

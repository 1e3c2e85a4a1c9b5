/**
 * Locks between processes that use one SQLite database, held on a companion file `<db>-lock`.
 *
 * Why a companion SQLite file: SQLite's file locks are POSIX advisory locks (fcntl) owned by the
 * process, so the kernel drops them when the process exits, however it exits — a crashed server
 * cannot leave one held. A lock file naming a pid could: pids are reused, and every container that
 * shares a volume has its own pid 1. The companion file is never written (it stays 0 bytes); only
 * the lock states of SQLite's rollback-journal locking are used
 * (https://www.sqlite.org/lockingv3.html §3):
 *
 * - SHARED, an open read transaction: "in use", held by every process that has the database
 *   open (a server, a `latchkey migrate`…) for as long as it is open;
 * - RESERVED (`BEGIN IMMEDIATE`): the start-up lock, one process at a time, compatible with
 *   SHARED: migrations and the first signing key are made under it (Kysely's SQLite adapter has
 *   no migration lock of its own: it assumes one process);
 * - EXCLUSIVE (`BEGIN EXCLUSIVE`): `latchkey restore`, granted only while nobody holds SHARED;
 *   held while it replaces the database, so no server opens the file halfway.
 *
 * The database's own locks cannot do this: in WAL mode readers never block, and an exclusive
 * transaction on it would stop every write of the running server.
 */
import { closeSync, openSync } from 'node:fs';
import type BetterSqlite3 from 'better-sqlite3';

export const lockPathOf = (dbPath: string): string => `${dbPath}-lock`;

/** How long a process waits for the start-up lock or for a restore to finish. */
export const LOCK_WAIT_MS = 120_000;
const POLL_MS = 15;

type SQLiteCtor = typeof BetterSqlite3;

const isBusy = (err: unknown) =>
  typeof (err as { code?: unknown })?.code === 'string' &&
  /^SQLITE_(BUSY|LOCKED)/.test((err as { code: string }).code);

/** Runs `attempt` until it does not fail with SQLITE_BUSY (polling: better-sqlite3 would block the event loop). */
async function retryBusy<T>(attempt: () => T, what: string, waitMs: number): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return attempt();
    } catch (err) {
      if (!isBusy(err)) throw err;
      if (Date.now() >= deadline)
        throw new Error(`${what}: still locked after ${Math.round(waitMs / 1000)} s`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function openLockFile(SQLite: SQLiteCtor, dbPath: string): BetterSqlite3.Database {
  const path = lockPathOf(dbPath);
  try {
    // Created empty if missing; an empty file is a valid (empty) SQLite database.
    closeSync(openSync(path, 'a'));
  } catch (err) {
    throw new Error(`cannot create the lock file ${path}: ${(err as Error).message}`);
  }
  // timeout 0: a busy lock is reported at once and retried here without blocking the event loop.
  return new SQLite(path, { timeout: 0, fileMustExist: true });
}

export class SqliteLocks {
  readonly #inUse: BetterSqlite3.Database;
  readonly #startup: BetterSqlite3.Database;

  private constructor(
    SQLite: SQLiteCtor,
    private readonly dbPath: string,
  ) {
    this.#inUse = openLockFile(SQLite, dbPath);
    try {
      this.#startup = new SQLite(lockPathOf(dbPath), { timeout: 0, fileMustExist: true });
    } catch (err) {
      this.#inUse.close();
      throw err;
    }
  }

  /**
   * Opens the lock file and takes the "in use" lock (SHARED), waiting while a restore replaces
   * the database. Released by close() or by the process's exit.
   */
  static async hold(SQLite: SQLiteCtor, dbPath: string): Promise<SqliteLocks> {
    const locks = new SqliteLocks(SQLite, dbPath);
    try {
      locks.#inUse.exec('BEGIN');
      await retryBusy(
        () => locks.#inUse.prepare('SELECT count(*) FROM sqlite_master').get(),
        `database ${dbPath} is being restored`,
        LOCK_WAIT_MS,
      );
    } catch (err) {
      locks.close();
      throw err;
    }
    return locks;
  }

  /** Runs `fn` holding the start-up lock: one process at a time, whatever `fn` awaits. */
  async serialized<T>(fn: () => Promise<T>): Promise<T> {
    await retryBusy(
      () => this.#startup.exec('BEGIN IMMEDIATE'),
      `the start-up lock of ${this.dbPath} (another process is migrating it)`,
      LOCK_WAIT_MS,
    );
    try {
      return await fn();
    } finally {
      this.#startup.exec('ROLLBACK');
    }
  }

  close(): void {
    for (const db of [this.#startup, this.#inUse]) {
      try {
        if (db.inTransaction) db.exec('ROLLBACK');
        db.close();
      } catch {
        // closing: nothing left to release
      }
    }
  }
}

/**
 * The restore lock (EXCLUSIVE): null when some process has the database open. Held until
 * release(); a crashed restore's lock goes with its process.
 */
export function tryExclusive(SQLite: SQLiteCtor, dbPath: string): { release(): void } | null {
  const db = openLockFile(SQLite, dbPath);
  try {
    db.exec('BEGIN EXCLUSIVE');
  } catch (err) {
    db.close();
    if (isBusy(err)) return null;
    throw err;
  }
  return {
    release() {
      try {
        db.exec('ROLLBACK');
      } finally {
        db.close();
      }
    },
  };
}

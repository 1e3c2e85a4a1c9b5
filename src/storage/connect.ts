/**
 * Opens the database named by a path (SQLite, the embedded default) or a postgres:// URL.
 * Callers only ever see Kysely<Database>; the dialect is chosen here and nowhere else.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, type SqliteDatabase, SqliteDialect } from 'kysely';
import { pgSerialized } from './pg-lock.js';
import type { Database } from './schema.js';
import { type Checkpointer, startCheckpointer } from './sqlite-checkpointer.js';
import { openSqliteFile, sqlitePathOf } from './sqlite-file.js';
import { guardDialect, StorageHealth } from './unavailable.js';

export type Dialect = 'sqlite' | 'postgres';

export interface OpenedDatabase {
  db: Kysely<Database>;
  dialect: Dialect;
  /** Human-readable location (no password). */
  location: string;
  /** Connection-pool usage (PostgreSQL only), for metrics. */
  poolStats?: () => { total: number; idle: number; waiting: number };
  /** Whether the database answered lately (unavailable.ts); /readyz reports it. */
  health: StorageHealth;
  /**
   * Runs `fn` holding the start-up lock, one process at a time across every process on this
   * database (sqlite-lock.ts, pg-lock.ts): migrations and the first signing key are made under it.
   */
  serialized<T>(fn: () => Promise<T>): Promise<T>;
  /** The WAL checkpoint thread (a SQLite file opened with backgroundCheckpoint). */
  checkpointer?: Checkpointer;
  close(): Promise<void>;
}

const INT8_OID = 20;

/** How long a request waits for a PostgreSQL connection before it is answered 503. */
export const PG_CONNECT_TIMEOUT_MS = 3000;

export const isPostgresUrl = (url: string): boolean => /^postgres(ql)?:\/\//i.test(url);

/** Prepared statements kept per connection: Kysely prepares on every query otherwise. */
const STATEMENT_CACHE_SIZE = 256;

/** better-sqlite3 behind Kysely's interface, reusing prepared statements (bounded, LRU). */
function cachingDatabase(sqlite: BetterSqlite3.Database): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => {
      cache.clear();
      sqlite.close();
    },
    prepare(sql: string) {
      let stmt = cache.get(sql);
      if (stmt) {
        cache.delete(sql);
      } else {
        stmt = sqlite.prepare(sql);
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
      }
      cache.set(sql, stmt);
      return stmt as unknown as ReturnType<SqliteDatabase['prepare']>;
    },
  };
}

/**
 * Drivers are loaded on demand: a SQLite server never loads pg (and start-up stays short).
 */
/**
 * SQLite page cache per connection: SQLite's own default, 2 MiB. better-sqlite3 raises it to
 * 16 MiB, which filled up under load (+14 MiB resident) and was slower on the flow benchmark;
 * the operating system caches the file anyway (bench/README.md).
 */
export const DEFAULT_SQLITE_CACHE_MIB = 2;

export interface OpenOptions {
  poolSize?: number;
  sqliteCacheMib?: number;
  /**
   * A SQLite file's WAL checkpoint on a thread of its own instead of inside commits
   * (sqlite-checkpointer.ts): what a serving process wants; a short CLI command keeps SQLite's
   * automatic checkpoint. `onFailure` hears when the thread fails (automatic checkpoint again).
   */
  backgroundCheckpoint?: Parameters<typeof startCheckpointer>[2];
}

export async function openDatabase(url: string, opts: OpenOptions = {}): Promise<OpenedDatabase> {
  if (isPostgresUrl(url)) {
    const { default: pg } = await import('pg');
    // PostgreSQL int8 (bigint) arrives as a string by default; our times fit in a double. Set
    // for this pool's connections only, not for every pg user in the process.
    const types = {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID && format !== 'binary'
          ? (v: string) => Number(v)
          : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    };
    // A bounded wait for a connection: with the database down, requests fail with 503 (and
    // /readyz says so) within PG_CONNECT_TIMEOUT_MS instead of hanging. TCP keep-alive finds a
    // connection whose peer vanished without a reset. (No client-side query timeout: a long
    // migration statement must not be cut.)
    const pool = new pg.Pool({
      connectionString: url,
      types,
      max: opts.poolSize ?? 10,
      connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    const health = new StorageHealth('any');
    // A dropped connection must not crash the process: pg emits 'error' on an idle client (the
    // pool's) and on a checked-out one (no listener while a query runs: the query itself fails).
    pool.on('error', (err) => health.noteFailure(err));
    pool.on('connect', (client) => client.on('error', (err) => health.noteFailure(err)));
    const db = new Kysely<Database>({ dialect: guardDialect(new PostgresDialect({ pool }), health) });
    const safe = url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
    return {
      db,
      dialect: 'postgres',
      location: safe,
      poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
      health,
      serialized: (fn) => pgSerialized(pg, url, fn),
      close: () => db.destroy(),
    };
  }
  const path = sqlitePathOf(url);
  const { default: SQLite } = await import('better-sqlite3');
  // A file: checked (folder, writable), opened under the start-up lock, "in use" while open.
  const file = path === ':memory:' ? undefined : await openSqliteFile(SQLite, path);
  const sqlite = file?.sqlite ?? new SQLite(path);
  const locks = file?.locks;
  sqlite.pragma('journal_mode = WAL');
  // NORMAL in WAL mode: a commit survives a process crash; see README "Backups and durability".
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  // Negative: a size in KiB rather than pages.
  sqlite.pragma(`cache_size = -${Math.round((opts.sqliteCacheMib ?? DEFAULT_SQLITE_CACHE_MIB) * 1024)}`);
  const checkpointer: Checkpointer | undefined =
    file && opts.backgroundCheckpoint
      ? startCheckpointer(sqlite, path, opts.backgroundCheckpoint)
      : undefined;
  const health = new StorageHealth('write');
  const dialect = guardDialect(new SqliteDialect({ database: cachingDatabase(sqlite) }), health);
  const db = new Kysely<Database>({ dialect });
  return {
    db,
    dialect: 'sqlite',
    location: path,
    health,
    serialized: (fn) => (locks ? locks.serialized(fn) : fn()),
    ...(checkpointer ? { checkpointer } : {}),
    async close() {
      try {
        // The thread's connection first: the serving connection, closing last, checkpoints
        // what is left and removes the -wal file.
        await checkpointer?.stop();
        await db.destroy();
      } finally {
        locks?.close();
      }
    },
  };
}

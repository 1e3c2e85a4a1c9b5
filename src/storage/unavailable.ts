/**
 * Database unavailability, recognised in one place. An error that means "the store cannot
 * answer right now" (PostgreSQL unreachable or restarting, a connection cut, SQLite's disk
 * full, an I/O error, a read-only file, a lock held past the busy timeout) is an outage, not a
 * bug: the HTTP layer answers it 503 with Retry-After, /readyz reports it, and it clears by
 * itself once the database answers again.
 *
 * Every query goes through `guardDialect`, which keeps a `StorageHealth` up to date and turns a
 * failure to get a connection into a StorageUnavailableError. Other query errors keep their
 * driver's own error (callers look at their codes, e.g. unique violations); `isStorageUnavailable`
 * classifies both.
 */
import { randomUUID } from 'node:crypto';
import type {
  CompiledQuery,
  DatabaseConnection,
  DatabaseIntrospector,
  Dialect,
  DialectAdapter,
  Driver,
  Kysely,
  QueryCompiler,
  QueryResult,
  TransactionSettings,
} from 'kysely';
import type { Database } from './schema.js';

export class StorageUnavailableError extends Error {
  override name = 'StorageUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * PostgreSQL SQLSTATE classes and codes that mean the server cannot serve now: 08 connection
 * exception, 53 insufficient resources (disk full, out of memory, too many connections), 57P01-03
 * shutdown / starting up, 58 system error (I/O), 25006 read-only transaction (a standby after a
 * failover), 57014 a statement cancelled by statement_timeout.
 */
const PG_CLASSES = ['08', '53', '58'];
const PG_CODES = new Set(['57P01', '57P02', '57P03', '57P04', '57P05', '25006', '57014']);

/** SQLite primary result codes (extended codes share the prefix, e.g. SQLITE_IOERR_WRITE). */
const SQLITE_CODES = [
  'SQLITE_FULL',
  'SQLITE_IOERR',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_READONLY',
  'SQLITE_CANTOPEN',
  'SQLITE_PROTOCOL',
];

/** Socket-level errors from the PostgreSQL driver. */
const NET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** Messages of pg and pg-pool errors that carry no code. */
const PG_MESSAGES = [
  /^Connection terminated/,
  /^timeout exceeded when trying to connect/,
  /^Client has encountered a connection error and is not queryable/,
  /^Client was closed and is not queryable/,
  /^Query read timeout/,
  /^connection timeout/i,
];

function classifyOne(err: unknown): boolean {
  if (err instanceof StorageUnavailableError) return true;
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (SQLITE_CODES.some((c) => code === c || code.startsWith(`${c}_`))) return true;
    if (NET_CODES.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code) && (PG_CODES.has(code) || PG_CLASSES.includes(code.slice(0, 2))))
      return true;
  }
  const message = (err as { message?: unknown }).message;
  return typeof message === 'string' && PG_MESSAGES.some((re) => re.test(message));
}

/** True when `err` (or an error it wraps) means the database cannot answer right now. */
export function isStorageUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    if (classifyOne(e)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Whether the store answered lately. Down after an unavailability error; up again after a
 * success that proves the failure is gone: any query for PostgreSQL (the server answers), a
 * write for SQLite (reads keep working on a full disk or a read-only file).
 */
export class StorageHealth {
  #downSince: number | undefined;
  #reason = '';
  constructor(private readonly clearOn: 'any' | 'write') {}

  get down(): boolean {
    return this.#downSince !== undefined;
  }
  get reason(): string {
    return this.#reason;
  }
  /** When the outage was first seen (ms since the epoch), or undefined. */
  get downSince(): number | undefined {
    return this.#downSince;
  }

  noteFailure(err: unknown): void {
    if (!isStorageUnavailable(err)) return;
    this.#downSince ??= Date.now();
    const code = (err as { code?: unknown }).code;
    this.#reason = typeof code === 'string' ? code : String((err as Error).message ?? err).slice(0, 100);
  }

  noteSuccess(write: boolean): void {
    if (this.#downSince === undefined) return;
    if (this.clearOn === 'write' && !write) return;
    this.#downSince = undefined;
    this.#reason = '';
  }
}

const WRITE_KINDS = new Set(['InsertQueryNode', 'UpdateQueryNode', 'DeleteQueryNode', 'MergeQueryNode']);
const isWrite = (q: CompiledQuery): boolean =>
  WRITE_KINDS.has(q.query.kind) || /^\s*(insert|update|delete|commit)\b/i.test(q.sql);

/** The same dialect, with every query's outcome reported to `health`. */
export function guardDialect(inner: Dialect, health: StorageHealth): Dialect {
  return {
    createAdapter: (): DialectAdapter => inner.createAdapter(),
    createQueryCompiler: (): QueryCompiler => inner.createQueryCompiler(),
    // biome-ignore lint/suspicious/noExplicitAny: Kysely's own signature
    createIntrospector: (db: Kysely<any>): DatabaseIntrospector => inner.createIntrospector(db),
    createDriver: (): Driver => new GuardedDriver(inner.createDriver(), health),
  };
}

class GuardedConnection implements DatabaseConnection {
  constructor(
    readonly inner: DatabaseConnection,
    private readonly health: StorageHealth,
  ) {}

  async executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
    try {
      const r = await this.inner.executeQuery<R>(q);
      this.health.noteSuccess(isWrite(q));
      return r;
    } catch (err) {
      this.health.noteFailure(err);
      throw err;
    }
  }

  async *streamQuery<R>(q: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    try {
      yield* this.inner.streamQuery<R>(q, chunkSize);
    } catch (err) {
      this.health.noteFailure(err);
      throw err;
    }
  }
}

class GuardedDriver implements Driver {
  readonly #wrapped = new WeakMap<DatabaseConnection, GuardedConnection>();
  constructor(
    private readonly inner: Driver,
    private readonly health: StorageHealth,
  ) {}

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    let c: DatabaseConnection;
    try {
      c = await this.inner.acquireConnection();
    } catch (err) {
      // No connection at all (refused, timed out, the server restarting): the store is down.
      const e =
        err instanceof StorageUnavailableError
          ? err
          : new StorageUnavailableError(`database connection failed: ${(err as Error).message ?? err}`, {
              cause: err,
            });
      this.health.noteFailure(e);
      throw e;
    }
    let g = this.#wrapped.get(c);
    if (!g) {
      g = new GuardedConnection(c, this.health);
      this.#wrapped.set(c, g);
    }
    return g;
  }

  #run<T>(op: () => Promise<T>, write: boolean): Promise<T> {
    return op().then(
      (r) => {
        this.health.noteSuccess(write);
        return r;
      },
      (err: unknown) => {
        this.health.noteFailure(err);
        throw err;
      },
    );
  }

  beginTransaction(c: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return this.#run(() => this.inner.beginTransaction(unwrap(c), settings), false);
  }
  commitTransaction(c: DatabaseConnection): Promise<void> {
    return this.#run(() => this.inner.commitTransaction(unwrap(c)), true);
  }
  rollbackTransaction(c: DatabaseConnection): Promise<void> {
    return this.#run(() => this.inner.rollbackTransaction(unwrap(c)), false);
  }
  async savepoint(
    c: DatabaseConnection,
    name: string,
    compile: QueryCompiler['compileQuery'],
  ): Promise<void> {
    if (!this.inner.savepoint) throw new Error('savepoints are not supported by this driver');
    await this.inner.savepoint(unwrap(c), name, compile);
  }
  async rollbackToSavepoint(
    c: DatabaseConnection,
    name: string,
    compile: QueryCompiler['compileQuery'],
  ): Promise<void> {
    if (!this.inner.rollbackToSavepoint) throw new Error('savepoints are not supported by this driver');
    await this.inner.rollbackToSavepoint(unwrap(c), name, compile);
  }
  async releaseSavepoint(
    c: DatabaseConnection,
    name: string,
    compile: QueryCompiler['compileQuery'],
  ): Promise<void> {
    if (!this.inner.releaseSavepoint) throw new Error('savepoints are not supported by this driver');
    await this.inner.releaseSavepoint(unwrap(c), name, compile);
  }
  releaseConnection(c: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection(unwrap(c));
  }
  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

const unwrap = (c: DatabaseConnection): DatabaseConnection => (c instanceof GuardedConnection ? c.inner : c);

/**
 * A write that needs room, undone in the same transaction: an interaction row (expired, so the
 * purge would take it even if the delete were lost) of a few pages. It fails while the disk or
 * SQLite's page limit is full, the file is read-only, or PostgreSQL is a read-only standby.
 * /readyz runs it only while the store is marked down, to see the failure clear.
 */
export async function probeWrite(db: Kysely<Database>): Promise<void> {
  const id = `readyz-probe-${randomUUID()}`;
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto('interactions')
      .values({
        id,
        client_id: '',
        request: 'x'.repeat(16 * 1024),
        csrf: '',
        user_id: null,
        session_hash: null,
        auth_time: null,
        created_at: 0,
        expires_at: 0,
        completed_at: null,
      })
      .execute();
    await trx.deleteFrom('interactions').where('id', '=', id).execute();
  });
}

/** Opens a database, runs pending migrations and returns the stores. */
import { type Kysely, sql } from 'kysely';
import { type Dialect, type OpenOptions, openDatabase } from './connect.js';
import { migrate, pendingMigrations } from './migrations.js';
import type { Database } from './schema.js';
import { SqlApiStore } from './sql/apis.js';
import { SqlClientStore } from './sql/clients.js';
import { SqlDeviceCodeStore } from './sql/device-codes.js';
import { SqlFactorStore, SqlWebauthnChallengeStore } from './sql/factors.js';
import { SqlAccessTokenStore, SqlGrantStore } from './sql/grants.js';
import { SqlAuditStore, SqlConsentStore, SqlKeyStore } from './sql/misc.js';
import { SqlPushedRequestStore, SqlReplayStore } from './sql/one-time.js';
import { SqlOutboxStore } from './sql/outbox.js';
import { PURGE_PACE, type PurgeStore, SqlPurgeStore } from './sql/purge.js';
import { SqlRefreshTokenStore } from './sql/refresh-tokens.js';
import { SqlInitialAccessTokenStore } from './sql/registration-tokens.js';
import { SqlInteractionStore, SqlSessionStore } from './sql/sessions.js';
import { SqlThrottleStore } from './sql/throttle.js';
import { SqlUserStore } from './sql/users.js';
import type { Checkpointer } from './sqlite-checkpointer.js';
import type { Stores } from './types.js';
import { probeWrite, type StorageHealth } from './unavailable.js';

export interface Storage extends Stores {
  dialect: Dialect;
  location: string;
  /** Connection-pool usage (PostgreSQL only), for metrics. */
  poolStats?: () => { total: number; idle: number; waiting: number };
  /** Whether the database answered lately (unavailable.ts). */
  health: StorageHealth;
  /** Deletes expired rows in batches (the purge timer, ops/cleanup.ts). */
  purge: PurgeStore;
  /** A round trip to the database (`select 1`); rejects while it cannot answer. */
  ping(): Promise<void>;
  /** How many migrations of this version have not run on the database yet. */
  pendingMigrations(): Promise<number>;
  /**
   * A write that needs room, undone at once: fails while the disk is full, the file read-only or
   * PostgreSQL a read-only standby (/readyz after a failure, unavailable.ts).
   */
  probeWrite(): Promise<void>;
  /**
   * Runs `fn` under the start-up lock, one process at a time on this database (a SQLite lock
   * file's lock, a PostgreSQL advisory lock; storage/sqlite-lock.ts, storage/pg-lock.ts): the
   * first signing key is made under it, as the migrations are.
   */
  serialized<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Runs `fn` in one database transaction with stores bound to it: everything it writes through
   * them commits together, or nothing does (it rejects). Keep it short: on SQLite it holds the
   * one connection.
   */
  transaction<T>(fn: (stores: Stores) => Promise<T>): Promise<T>;
  /** The WAL checkpoint thread of a SQLite file opened with backgroundCheckpoint (tests). */
  checkpointer?: Checkpointer;
  close(): Promise<void>;
}

/** Each open Storage's database handle: only storage/ and tests reach it (databaseForTests). */
const handles = new WeakMap<Storage, Kysely<Database>>();

/**
 * The Kysely handle behind a Storage, for tests that inspect or damage the database directly.
 * The server's code goes through the stores; nothing outside storage/ runs SQL.
 */
export function databaseForTests(storage: Storage): Kysely<Database> {
  const db = handles.get(storage);
  if (!db) throw new Error('not a Storage opened by openStorage');
  return db;
}

export function storesFor(db: Kysely<Database>): Stores {
  return {
    clients: new SqlClientStore(db),
    apis: new SqlApiStore(db),
    users: new SqlUserStore(db),
    sessions: new SqlSessionStore(db),
    interactions: new SqlInteractionStore(db),
    grants: new SqlGrantStore(db),
    accessTokens: new SqlAccessTokenStore(db),
    refreshTokens: new SqlRefreshTokenStore(db),
    consents: new SqlConsentStore(db),
    keys: new SqlKeyStore(db),
    audit: new SqlAuditStore(db),
    throttle: new SqlThrottleStore(db),
    pushedRequests: new SqlPushedRequestStore(db),
    replays: new SqlReplayStore(db),
    factors: new SqlFactorStore(db),
    webauthnChallenges: new SqlWebauthnChallengeStore(db),
    deviceCodes: new SqlDeviceCodeStore(db),
    registrationTokens: new SqlInitialAccessTokenStore(db),
    outbox: new SqlOutboxStore(db),
  };
}

/**
 * Opens the database and runs pending migrations first (every command does), under the start-up
 * lock: a process that waited for it finds the schema migrated and nothing left to do.
 */
export async function openStorage(url: string, opts: OpenOptions = {}): Promise<Storage> {
  const opened = await openDatabase(url, opts);
  try {
    await opened.serialized(() => migrate(opened.db));
  } catch (err) {
    await opened.close().catch(() => {});
    throw err;
  }
  const storage: Storage = {
    ...storesFor(opened.db),
    dialect: opened.dialect,
    location: opened.location,
    ...(opened.poolStats ? { poolStats: opened.poolStats } : {}),
    health: opened.health,
    purge: new SqlPurgeStore(opened.db, PURGE_PACE[opened.dialect]),
    ping: async () => {
      await sql`select 1`.execute(opened.db);
    },
    pendingMigrations: () => pendingMigrations(opened.db),
    probeWrite: () => probeWrite(opened.db),
    serialized: opened.serialized,
    transaction: (fn) => opened.db.transaction().execute((trx) => fn(storesFor(trx))),
    ...(opened.checkpointer ? { checkpointer: opened.checkpointer } : {}),
    close: opened.close,
  };
  handles.set(storage, opened.db);
  return storage;
}

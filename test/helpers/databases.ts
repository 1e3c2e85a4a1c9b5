/**
 * Test databases: a SQLite file in a temp directory, or a fresh PostgreSQL database per caller,
 * dropped afterwards. `LATCHKEY_TEST_POSTGRES` names the PostgreSQL server (e.g.
 * postgres://postgres@127.0.0.1:5432/test); when it is set the PostgreSQL suites are mandatory
 * and FAIL when the server is unreachable; when it is unset they skip with PG_SKIP_REASON.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { openStorage, type Storage } from '../../src/storage/index.js';
import { type MemoryStorage, openMemoryStorage } from '../../src/storage/memory/index.js';
import { tempDir } from './server.js';

export const PG_URL = process.env.LATCHKEY_TEST_POSTGRES ?? '';

export const PG_SKIP_REASON =
  'PostgreSQL NOT tested: set LATCHKEY_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test to run it';

/** The `skip` option of a PostgreSQL-only suite: run when LATCHKEY_TEST_POSTGRES is set. */
export const PG_SKIP: string | false = PG_URL ? false : PG_SKIP_REASON;

export interface TempPgDatabase {
  /** Connection URL of the fresh, empty database. */
  url: string;
  name: string;
  drop(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Creates `latchkey_test_<random>` on the server named by LATCHKEY_TEST_POSTGRES. */
export async function createTempDatabase(prefix = 'latchkey_test'): Promise<TempPgDatabase> {
  if (!PG_URL) throw new Error('LATCHKEY_TEST_POSTGRES is not set');
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000 });
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(`cannot connect to PostgreSQL at ${PG_URL}: ${(err as Error).message}`);
  }
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(PG_URL, name),
    name,
    async drop() {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Runs one query on a database URL with a short-lived client. */
export async function pgQuery<R extends pg.QueryResultRow = pg.QueryResultRow>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<R>(text, values)).rows;
  } finally {
    await c.end();
  }
}

/** One back end a storage suite runs against; `skip` is the describe() option. */
export interface StorageBackend {
  name: 'sqlite' | 'postgres';
  skip: string | false;
  /** Opens a fresh, migrated store; `done` closes it and removes the database. */
  open(): Promise<{ storage: Storage; done(): Promise<void> }>;
}

/**
 * SQLite always (a file `sqliteFile` in a new temp directory named `tempPrefix`…), PostgreSQL
 * when LATCHKEY_TEST_POSTGRES is set (a fresh database, `pgPoolSize` connections if given).
 */
export function storageBackends(opts: {
  sqliteFile: string;
  tempPrefix?: string;
  pgPoolSize?: number;
}): StorageBackend[] {
  return [
    {
      name: 'sqlite',
      skip: false,
      async open() {
        const dir = tempDir(opts.tempPrefix);
        const storage = await openStorage(join(dir, opts.sqliteFile));
        return {
          storage,
          async done() {
            await storage.close();
            rmSync(dir, { recursive: true, force: true });
          },
        };
      },
    },
    {
      name: 'postgres',
      skip: PG_SKIP,
      async open() {
        const tmp = await createTempDatabase();
        const storage = await openStorage(
          tmp.url,
          opts.pgPoolSize === undefined ? undefined : { poolSize: opts.pgPoolSize },
        );
        return {
          storage,
          async done() {
            await storage.close();
            await tmp.drop();
          },
        };
      },
    },
  ];
}

/**
 * The in-memory stores (src/storage/memory/, for tests only) as a back end of the store contract.
 * Not in storageBackends(): suites that need a database (purge, migrations, locks) have none here.
 */
export interface MemoryBackend {
  name: 'memory';
  skip: false;
  open(): Promise<{ storage: MemoryStorage; done(): Promise<void> }>;
}

export function memoryBackend(): MemoryBackend {
  return {
    name: 'memory',
    skip: false,
    async open() {
      const storage = openMemoryStorage();
      return { storage, done: () => storage.close() };
    },
  };
}

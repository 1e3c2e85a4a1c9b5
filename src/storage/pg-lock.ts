/**
 * The start-up lock on PostgreSQL: a session-level advisory lock on a connection of its own
 * (outside the pool, so the locked work may use every pooled connection, even with a pool of
 * one). PostgreSQL drops it when the session ends, so a crashed node cannot leave it held
 * (https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS). Kysely's
 * migrator takes a transaction-level advisory lock of its own key inside it.
 */
import type pg from 'pg';
import { LOCK_WAIT_MS } from './sqlite-lock.js';

/** "Latch" in ASCII. */
const PG_STARTUP_LOCK = '327596385128';

export async function pgSerialized<T>(driver: typeof pg, url: string, fn: () => Promise<T>): Promise<T> {
  const client = new driver.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on('error', () => {}); // a dropped lock connection must not crash the process
  await client.connect();
  try {
    await client.query(`SET lock_timeout = ${LOCK_WAIT_MS}`);
    await client.query('SELECT pg_advisory_lock($1::bigint)', [PG_STARTUP_LOCK]);
    return await fn();
  } finally {
    await client.end().catch(() => {}); // ending the session releases the lock
  }
}

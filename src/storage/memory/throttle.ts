import { randomToken } from '../../crypto.js';
import type { ThrottleCounts, ThrottleStore } from '../types.js';
import type { LoginFailureRow, MemoryDb } from './db.js';

type Key = { key: string; limit: number };
type At = { now: number; since: number };

/** SQL LIMIT: a negative one is none (SQLite). */
const limited = <T>(rows: T[], limit: number): T[] => (limit < 0 ? rows : rows.slice(0, limit));

/** Newest first, by time then id, as the SQL `order by at desc, id desc`. */
const newestFirst = (a: LoginFailureRow, b: LoginFailureRow) =>
  b.at - a.at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

/**
 * Sign-in failures and reservations, mirroring storage/sql/throttle.ts: a failure is a row
 * without expiresAt, a reservation one with it (counting while `expiresAt > now`). Every method
 * reads and writes without an await in between, so a reservation is atomic as the SQL one is.
 */
export class MemoryThrottleStore implements ThrottleStore {
  constructor(private readonly db: MemoryDb) {}

  #under(key: string, since: number): LoginFailureRow[] {
    return [...this.db.rows('loginFailures').values()].filter((r) => r.key === key && r.at > since);
  }

  #counts(keys: readonly Key[], at: At): ThrottleCounts[] {
    return keys.map((k) => {
      const rows = this.#under(k.key, at.since);
      const failed = rows.filter((r) => r.expiresAt === null);
      return {
        // At most the key's limit (the SQL counts a subquery limited to it).
        failures: limited(failed, k.limit).length,
        latestFailureAt: failed.reduce<number | null>((m, r) => (m === null || r.at > m ? r.at : m), null),
        pending: rows.filter((r) => r.expiresAt !== null && r.expiresAt > at.now).length,
      };
    });
  }

  #insert(rows: LoginFailureRow[]): void {
    for (const r of rows) this.db.put('loginFailures', r.id, r);
  }

  async recordFailure(keys: readonly string[], at: number): Promise<string[]> {
    if (keys.length === 0) return [];
    const rows = keys.map((key) => ({ id: randomToken(12), key, at, expiresAt: null }));
    this.#insert(rows);
    return rows.map((r) => r.id);
  }

  async recentFailures(key: string, since: number, limit: number): Promise<{ id: string; at: number }[]> {
    const failed = this.#under(key, since).filter((r) => r.expiresAt === null);
    return limited(failed.sort(newestFirst), limit).map((r) => ({ id: r.id, at: r.at }));
  }

  async reserve(
    keys: readonly Key[],
    opts: { now: number; since: number; leaseUntil: number },
    admit: (counts: ThrottleCounts[]) => boolean,
  ): Promise<{ ids: string[] | undefined; counts: ThrottleCounts[] }> {
    if (keys.length === 0) return { ids: admit([]) ? [] : undefined, counts: [] };
    // Counted before its own rows are written: a reservation does not count itself.
    const counts = this.#counts(keys, opts);
    if (!admit(counts)) return { ids: undefined, counts };
    const rows = keys.map(({ key }) => ({
      id: randomToken(12),
      key,
      at: opts.now,
      expiresAt: opts.leaseUntil,
    }));
    this.#insert(rows);
    return { ids: rows.map((r) => r.id), counts };
  }

  async fail(ids: readonly string[], at: number): Promise<void> {
    for (const id of ids) {
      const r = this.db.rows('loginFailures').get(id);
      if (r) this.db.put('loginFailures', id, { ...r, at, expiresAt: null });
    }
  }

  async forget(ids: readonly string[]): Promise<void> {
    for (const id of ids) this.db.delete('loginFailures', id);
  }

  /** The failures only: reservations of attempts in progress stay. */
  async clear(key: string): Promise<void> {
    for (const r of [...this.db.rows('loginFailures').values()]) {
      if (r.key === key && r.expiresAt === null) this.db.delete('loginFailures', r.id);
    }
  }
}

import type { Kysely } from 'kysely';
import { randomToken } from '../../crypto.js';
import type { Database } from '../schema.js';
import type { ThrottleStore } from '../types.js';

export class SqlThrottleStore implements ThrottleStore {
  constructor(private readonly db: Kysely<Database>) {}

  async recordFailure(keys: readonly string[], at: number): Promise<string[]> {
    if (keys.length === 0) return [];
    const rows = keys.map((key) => ({ id: randomToken(12), key, at }));
    await this.db.insertInto('login_failures').values(rows).execute();
    return rows.map((r) => r.id);
  }

  async recentFailures(key: string, since: number, limit: number): Promise<{ id: string; at: number }[]> {
    return this.db
      .selectFrom('login_failures')
      .select(['id', 'at'])
      .where('key', '=', key)
      .where('at', '>', since)
      .orderBy('at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
  }

  async forget(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db
      .deleteFrom('login_failures')
      .where('id', 'in', [...ids])
      .execute();
  }

  async clear(key: string): Promise<void> {
    await this.db.deleteFrom('login_failures').where('key', '=', key).execute();
  }
}

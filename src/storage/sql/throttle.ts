import type { Kysely } from 'kysely';
import { randomToken } from '../../crypto.js';
import type { Database } from '../schema.js';
import type { ThrottleStore } from '../types.js';

export class SqlThrottleStore implements ThrottleStore {
  constructor(private readonly db: Kysely<Database>) {}

  async recordFailure(keys: readonly string[], at: number): Promise<void> {
    if (keys.length === 0) return;
    await this.db
      .insertInto('login_failures')
      .values(keys.map((key) => ({ id: randomToken(12), key, at })))
      .execute();
  }

  async failuresSince(key: string, since: number, limit: number): Promise<number[]> {
    const rows = await this.db
      .selectFrom('login_failures')
      .select('at')
      .where('key', '=', key)
      .where('at', '>', since)
      .orderBy('at', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => r.at);
  }

  async clear(key: string): Promise<void> {
    await this.db.deleteFrom('login_failures').where('key', '=', key).execute();
  }
}

/** Device authorization requests (RFC 8628): every change of state is one conditional statement. */
import { type Kysely, type Selectable, sql } from 'kysely';
import type { Database, DeviceCodesTable } from '../schema.js';
import type { DeviceCode, DeviceCodeStatus, DeviceCodeStore } from '../types.js';
import { mapDuplicate } from './errors.js';

const toDeviceCode = (r: Selectable<DeviceCodesTable>): DeviceCode => ({
  hash: r.hash,
  userCodeHash: r.user_code_hash,
  clientId: r.client_id,
  scope: r.scope,
  interval: r.poll_interval,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  lastPolledAt: r.last_polled_at,
  status: r.status as DeviceCodeStatus,
  grantId: r.grant_id,
  consumedAt: r.consumed_at,
  ...(r.resources ? { resources: JSON.parse(r.resources) as string[] } : {}),
});

export class SqlDeviceCodeStore implements DeviceCodeStore {
  constructor(private readonly db: Kysely<Database>) {}

  async create(c: DeviceCode): Promise<void> {
    await mapDuplicate('the device code or user code exists', () =>
      this.db
        .insertInto('device_codes')
        .values({
          hash: c.hash,
          user_code_hash: c.userCodeHash,
          client_id: c.clientId,
          scope: c.scope,
          poll_interval: c.interval,
          created_at: c.createdAt,
          expires_at: c.expiresAt,
          last_polled_at: c.lastPolledAt,
          status: c.status,
          grant_id: c.grantId,
          consumed_at: c.consumedAt,
          resources: c.resources && c.resources.length > 0 ? JSON.stringify(c.resources) : null,
        })
        .execute(),
    );
  }

  async get(hash: string): Promise<DeviceCode | undefined> {
    const r = await this.db
      .selectFrom('device_codes')
      .selectAll()
      .where('hash', '=', hash)
      .executeTakeFirst();
    return r && toDeviceCode(r);
  }

  async getByUserCode(userCodeHash: string): Promise<DeviceCode | undefined> {
    const r = await this.db
      .selectFrom('device_codes')
      .selectAll()
      .where('user_code_hash', '=', userCodeHash)
      .executeTakeFirst();
    return r && toDeviceCode(r);
  }

  async #decide(userCodeHash: string, set: { status: DeviceCodeStatus; grant_id?: string }, now: number) {
    const r = await this.db
      .updateTable('device_codes')
      .set(set)
      .where('user_code_hash', '=', userCodeHash)
      .where('status', '=', 'pending')
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  approve(userCodeHash: string, grantId: string, now: number): Promise<boolean> {
    return this.#decide(userCodeHash, { status: 'approved', grant_id: grantId }, now);
  }

  deny(userCodeHash: string, now: number): Promise<boolean> {
    return this.#decide(userCodeHash, { status: 'denied' }, now);
  }

  async poll(hash: string, now: number): Promise<boolean> {
    // One statement: of two polls at once, at most one is counted as on time.
    const r = await this.db
      .updateTable('device_codes')
      .set({ last_polled_at: now })
      .where('hash', '=', hash)
      .where((eb) =>
        eb.or([
          eb('last_polled_at', 'is', null),
          eb(sql<number>`last_polled_at + poll_interval * 1000`, '<=', now),
        ]),
      )
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async slowDown(hash: string, bySec: number, now: number): Promise<void> {
    await this.db
      .updateTable('device_codes')
      .set((eb) => ({ poll_interval: eb('poll_interval', '+', bySec), last_polled_at: now }))
      .where('hash', '=', hash)
      .execute();
  }

  async consume(hash: string, at: number): Promise<DeviceCode | undefined> {
    // The single atomic step, as for authorization codes: one caller flips consumed_at from NULL.
    const r = await this.db
      .updateTable('device_codes')
      .set({ consumed_at: at })
      .where('hash', '=', hash)
      .where('status', '=', 'approved')
      .where('consumed_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
    return r && toDeviceCode(r);
  }
}

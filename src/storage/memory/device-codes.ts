import { type DeviceCode, type DeviceCodeStatus, type DeviceCodeStore, DuplicateError } from '../types.js';
import { copy, type MemoryDb } from './db.js';

/** Each change checks and writes with no await between: one winner, as the SQL statements. */
export class MemoryDeviceCodeStore implements DeviceCodeStore {
  constructor(private readonly db: MemoryDb) {}

  #byUserCode(userCodeHash: string): DeviceCode | undefined {
    for (const c of this.db.rows('deviceCodes').values()) if (c.userCodeHash === userCodeHash) return c;
    return undefined;
  }

  async create(c: DeviceCode): Promise<void> {
    if (this.db.rows('deviceCodes').has(c.hash) || this.#byUserCode(c.userCodeHash))
      throw new DuplicateError('the device code or user code exists');
    this.db.put('deviceCodes', c.hash, copy(c));
  }

  async get(hash: string): Promise<DeviceCode | undefined> {
    const c = this.db.rows('deviceCodes').get(hash);
    return c && copy(c);
  }

  async getByUserCode(userCodeHash: string): Promise<DeviceCode | undefined> {
    const c = this.#byUserCode(userCodeHash);
    return c && copy(c);
  }

  #decide(userCodeHash: string, status: DeviceCodeStatus, grantId: string | null, now: number): boolean {
    const c = this.#byUserCode(userCodeHash);
    if (c?.status !== 'pending' || c.expiresAt <= now) return false;
    this.db.put('deviceCodes', c.hash, { ...c, status, grantId: grantId ?? c.grantId });
    return true;
  }

  async approve(userCodeHash: string, grantId: string, now: number): Promise<boolean> {
    return this.#decide(userCodeHash, 'approved', grantId, now);
  }

  async deny(userCodeHash: string, now: number): Promise<boolean> {
    return this.#decide(userCodeHash, 'denied', null, now);
  }

  async poll(hash: string, now: number): Promise<boolean> {
    const c = this.db.rows('deviceCodes').get(hash);
    if (!c) return false;
    if (c.lastPolledAt !== null && c.lastPolledAt + c.interval * 1000 > now) return false;
    this.db.put('deviceCodes', hash, { ...c, lastPolledAt: now });
    return true;
  }

  async slowDown(hash: string, bySec: number, now: number): Promise<void> {
    const c = this.db.rows('deviceCodes').get(hash);
    if (c) this.db.put('deviceCodes', hash, { ...c, interval: c.interval + bySec, lastPolledAt: now });
  }

  async consume(hash: string, at: number): Promise<DeviceCode | undefined> {
    const c = this.db.rows('deviceCodes').get(hash);
    if (c?.status !== 'approved' || c.consumedAt !== null) return undefined;
    const won = { ...c, consumedAt: at };
    this.db.put('deviceCodes', hash, won);
    return copy(won);
  }
}

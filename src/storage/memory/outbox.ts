import type { NewOutboxMessage, OutboxMessage, OutboxStore } from '../types.js';
import { DuplicateError } from '../types.js';
import { copy, type MemoryDb } from './db.js';

const isDue = (m: OutboxMessage, now: number) =>
  m.nextAttemptAt <= now &&
  m.sentAt === null &&
  m.failedAt === null &&
  (m.claimedUntil === null || m.claimedUntil <= now);

export class MemoryOutboxStore implements OutboxStore {
  constructor(private readonly db: MemoryDb) {}

  async add(m: NewOutboxMessage): Promise<void> {
    if (this.db.rows('outbox').has(m.id)) throw new DuplicateError(`outbox message ${m.id} exists`);
    this.db.put('outbox', m.id, {
      ...m,
      attempts: 0,
      nextAttemptAt: m.createdAt,
      claimedBy: null,
      claimedUntil: null,
      sentAt: null,
      failedAt: null,
      lastError: null,
      purgeAfter: null,
    });
  }

  async due(now: number, limit: number): Promise<string[]> {
    return [...this.db.rows('outbox').values()]
      .filter((m) => isDue(m, now))
      .sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, limit)
      .map((m) => m.id);
  }

  async claim(
    id: string,
    owner: string,
    now: number,
    leaseUntil: number,
  ): Promise<OutboxMessage | undefined> {
    // Nothing awaits between the check and the write: one winner, as the SQL UPDATE.
    const m = this.db.rows('outbox').get(id);
    if (!m || !isDue(m, now)) return undefined;
    const next = { ...m, claimedBy: owner, claimedUntil: leaseUntil, attempts: m.attempts + 1 };
    this.db.put('outbox', id, next);
    return copy(next);
  }

  async sent(id: string, owner: string, at: number, purgeAfter: number): Promise<boolean> {
    return this.end(id, owner, { sentAt: at, purgeAfter, text: '', html: '' });
  }

  async retry(id: string, owner: string, error: string, nextAttemptAt: number): Promise<boolean> {
    return this.end(id, owner, { lastError: error, nextAttemptAt });
  }

  async failed(id: string, owner: string, error: string, at: number, purgeAfter: number): Promise<boolean> {
    return this.end(id, owner, { failedAt: at, lastError: error, purgeAfter, text: '', html: '' });
  }

  private end(id: string, owner: string, set: Partial<OutboxMessage>): boolean {
    const m = this.db.rows('outbox').get(id);
    if (!m || m.claimedBy !== owner || m.sentAt !== null || m.failedAt !== null) return false;
    this.db.put('outbox', id, { ...m, ...set, claimedBy: null, claimedUntil: null });
    return true;
  }

  async get(id: string): Promise<OutboxMessage | undefined> {
    const m = this.db.rows('outbox').get(id);
    return m && copy(m);
  }
}

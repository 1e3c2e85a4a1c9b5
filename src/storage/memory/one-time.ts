import { DuplicateError, type PushedRequest, type PushedRequestStore, type ReplayStore } from '../types.js';
import { copy, type MemoryDb } from './db.js';

export class MemoryPushedRequestStore implements PushedRequestStore {
  constructor(private readonly db: MemoryDb) {}

  async save(r: PushedRequest): Promise<void> {
    if (this.db.rows('pushedRequests').has(r.uriHash)) throw new DuplicateError('request_uri exists');
    this.db.put('pushedRequests', r.uriHash, copy(r));
  }

  /** Checked and deleted without an await between: one winner. */
  async consume(
    uriHash: string,
    clientId: string,
    now: number,
  ): Promise<Record<string, string | string[]> | undefined> {
    const r = this.db.rows('pushedRequests').get(uriHash);
    if (!r || r.clientId !== clientId || r.expiresAt <= now) return undefined;
    this.db.delete('pushedRequests', uriHash);
    return copy(r.params);
  }
}

export class MemoryReplayStore implements ReplayStore {
  constructor(private readonly db: MemoryDb) {}

  async use(key: string, expiresAt: number, now: number): Promise<boolean> {
    const prior = this.db.rows('replays').get(key);
    if (prior && prior.expiresAt > now) return false;
    this.db.put('replays', key, { key, expiresAt });
    return true;
  }
}

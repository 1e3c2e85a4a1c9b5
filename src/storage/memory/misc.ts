import type { AuditEvent, AuditStore, Consent, ConsentStore, KeyStore, SigningKey } from '../types.js';
import { DuplicateError } from '../types.js';
import { copy, type MemoryDb, viaJson } from './db.js';

const consentKey = (userId: string, clientId: string): string => JSON.stringify([userId, clientId]);

export class MemoryConsentStore implements ConsentStore {
  constructor(private readonly db: MemoryDb) {}

  async get(userId: string, clientId: string): Promise<Consent | undefined> {
    const c = this.db.rows('consents').get(consentKey(userId, clientId));
    return c && copy(c);
  }

  /** The union of the scopes before and now (read and write without an await between: no lost save). */
  async save(c: Consent): Promise<void> {
    const key = consentKey(c.userId, c.clientId);
    const prior = this.db.rows('consents').get(key);
    const scopes = new Set([...(prior?.scope.split(' ') ?? []), ...c.scope.split(' ')].filter(Boolean));
    this.db.put('consents', key, {
      userId: c.userId,
      clientId: c.clientId,
      scope: [...scopes].join(' '),
      createdAt: c.createdAt,
    });
  }

  async listForUser(userId: string): Promise<Consent[]> {
    return [...this.db.rows('consents').values()]
      .filter((c) => c.userId === userId)
      .sort((a, b) => b.createdAt - a.createdAt || (a.clientId < b.clientId ? -1 : 1))
      .map(copy);
  }

  async delete(userId: string, clientId: string): Promise<boolean> {
    return this.db.delete('consents', consentKey(userId, clientId));
  }
}

const newestFirst = (a: SigningKey, b: SigningKey) => b.generation - a.generation;

export class MemoryKeyStore implements KeyStore {
  constructor(private readonly db: MemoryDb) {}

  async listPublished(at: number): Promise<SigningKey[]> {
    return [...this.db.rows('keys').values()]
      .filter((k) => k.expiresAt === null || k.expiresAt > at)
      .sort(newestFirst)
      .map(copy);
  }

  async listAll(): Promise<SigningKey[]> {
    return [...this.db.rows('keys').values()].sort(newestFirst).map(copy);
  }

  /** Unique generation and kid, checked and written without an await between: one winner. */
  async insertIfGenerationFree(k: SigningKey): Promise<boolean> {
    const keys = this.db.rows('keys');
    if (keys.has(k.kid) || [...keys.values()].some((x) => x.generation === k.generation)) return false;
    this.db.put('keys', k.kid, {
      kid: k.kid,
      generation: k.generation,
      alg: k.alg,
      privatePem: k.privatePem,
      publicJwk: viaJson(k.publicJwk),
      ec: k.ec ? { kid: k.ec.kid, privatePem: k.ec.privatePem, publicJwk: viaJson(k.ec.publicJwk) } : null,
      createdAt: k.createdAt,
      activeAt: k.activeAt,
      retiredAt: k.retiredAt,
      expiresAt: k.expiresAt,
    });
    return true;
  }

  async retireBefore(generation: number, at: number, expiresAt: number): Promise<void> {
    for (const k of [...this.db.rows('keys').values()]) {
      if (k.generation < generation && k.retiredAt === null)
        this.db.put('keys', k.kid, { ...k, retiredAt: at, expiresAt });
    }
  }

  /** The private parts only; a generation without an ES256 key gets none (its ES256 part is ignored). */
  async replacePrivateParts(key: SigningKey): Promise<void> {
    const k = this.db.rows('keys').get(key.kid);
    if (!k) return;
    this.db.put('keys', k.kid, {
      ...k,
      privatePem: key.privatePem,
      ec: k.ec && key.ec ? { ...k.ec, privatePem: key.ec.privatePem } : k.ec,
    });
  }
}

/** Newest first: by time, then by id (both descending), as the SQL `order by at desc, id desc`. */
const newestEventFirst = (a: AuditEvent, b: AuditEvent) =>
  b.at - a.at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

export class MemoryAuditStore implements AuditStore {
  constructor(private readonly db: MemoryDb) {}

  async record(e: AuditEvent): Promise<void> {
    if (this.db.rows('audit').has(e.id)) throw new DuplicateError(`audit event ${e.id} exists`);
    this.db.put('audit', e.id, {
      id: e.id,
      at: e.at,
      type: e.type,
      clientId: e.clientId,
      userId: e.userId,
      ip: e.ip,
      detail: e.detail === null ? null : viaJson(e.detail),
    });
  }

  async list(opts: Parameters<AuditStore['list']>[0] = {}): Promise<AuditEvent[]> {
    // Empty strings filter nothing, as in the SQL store (`if (opts.type)`).
    const limit = Math.min(Math.max(opts.limit ?? 100, 1), 1000);
    return [...this.db.rows('audit').values()]
      .filter(
        (e) =>
          (!opts.type || e.type === opts.type) &&
          (!opts.userId || e.userId === opts.userId) &&
          (!opts.clientId || e.clientId === opts.clientId) &&
          (opts.since === undefined || e.at >= opts.since),
      )
      .sort(newestEventFirst)
      .slice(0, limit)
      .map(copy);
  }

  async page(opts: Parameters<AuditStore['page']>[0]): Promise<AuditEvent[]> {
    const after = opts.after;
    return [...this.db.rows('audit').values()]
      .filter(
        (e) =>
          (opts.from === undefined || e.at >= opts.from) &&
          (opts.to === undefined || e.at < opts.to) &&
          (!after || e.at > after.at || (e.at === after.at && e.id > after.id)),
      )
      .sort((a, b) => newestEventFirst(b, a))
      .slice(0, opts.limit)
      .map(copy);
  }
}

import type { AuthMethods, Interaction, InteractionStore, Session, SessionStore, User } from '../types.js';
import { DuplicateError } from '../types.js';
import { copy, type MemoryDb } from './db.js';

const sessionRow = (s: Session): Session => ({
  idHash: s.idHash,
  userId: s.userId,
  authTime: s.authTime,
  createdAt: s.createdAt,
  lastSeenAt: s.lastSeenAt,
  expiresAt: s.expiresAt,
  endedAt: s.endedAt,
  ...(s.authMethods ? { authMethods: copy(s.authMethods) } : {}),
  ...(s.ip !== undefined ? { ip: s.ip } : {}),
  ...(s.userAgent !== undefined ? { userAgent: s.userAgent } : {}),
});

export class MemorySessionStore implements SessionStore {
  constructor(private readonly db: MemoryDb) {}

  async create(s: Session): Promise<void> {
    if (this.db.rows('sessions').has(s.idHash)) throw new DuplicateError(`session ${s.idHash} exists`);
    this.db.put('sessions', s.idHash, sessionRow(s));
  }

  async get(idHash: string): Promise<Session | undefined> {
    const s = this.db.rows('sessions').get(idHash);
    return s && copy(s);
  }

  async getWithUser(idHash: string): Promise<{ session: Session; user: User } | undefined> {
    const session = this.db.rows('sessions').get(idHash);
    // An inner join in SQL: a session whose user is gone is none.
    const user = session && this.db.rows('users').get(session.userId);
    return session && user ? { session: copy(session), user: copy(user) } : undefined;
  }

  async touch(idHash: string, at: number): Promise<void> {
    const s = this.db.rows('sessions').get(idHash);
    if (s) this.db.put('sessions', idHash, { ...s, lastSeenAt: at });
  }

  async end(idHash: string, at: number): Promise<void> {
    const s = this.db.rows('sessions').get(idHash);
    if (s && s.endedAt === null) this.db.put('sessions', idHash, { ...s, endedAt: at });
  }

  async endAllForUser(userId: string, at: number): Promise<number> {
    let n = 0;
    for (const s of [...this.db.rows('sessions').values()]) {
      if (s.userId !== userId || s.endedAt !== null) continue;
      this.db.put('sessions', s.idHash, { ...s, endedAt: at });
      n++;
    }
    return n;
  }

  async setAuthMethods(idHash: string, methods: AuthMethods, authTime: number): Promise<void> {
    const s = this.db.rows('sessions').get(idHash);
    if (s) this.db.put('sessions', idHash, { ...s, authMethods: copy(methods), authTime });
  }

  async listForUser(userId: string, now: number): Promise<Session[]> {
    return [...this.db.rows('sessions').values()]
      .filter((s) => s.userId === userId && s.endedAt === null && s.expiresAt > now)
      .sort((a, b) => b.lastSeenAt - a.lastSeenAt)
      .map(copy);
  }
}

const interactionRow = (i: Interaction): Interaction => ({
  id: i.id,
  clientId: i.clientId,
  request: i.request,
  csrf: i.csrf,
  userId: i.userId,
  sessionHash: i.sessionHash,
  authTime: i.authTime,
  createdAt: i.createdAt,
  expiresAt: i.expiresAt,
  completedAt: i.completedAt,
  ...(i.authMethods ? { authMethods: copy(i.authMethods) } : {}),
});

export class MemoryInteractionStore implements InteractionStore {
  constructor(private readonly db: MemoryDb) {}

  async create(i: Interaction): Promise<void> {
    if (this.db.rows('interactions').has(i.id)) throw new DuplicateError(`interaction ${i.id} exists`);
    this.db.put('interactions', i.id, interactionRow(i));
  }

  async get(id: string): Promise<Interaction | undefined> {
    const i = this.db.rows('interactions').get(id);
    return i && copy(i);
  }

  async setUser(id: string, userId: string, sessionHash: string, authTime: number): Promise<void> {
    const i = this.db.rows('interactions').get(id);
    if (i) this.db.put('interactions', id, { ...i, userId, sessionHash, authTime });
  }

  async setPartial(id: string, userId: string, methods: AuthMethods): Promise<void> {
    const i = this.db.rows('interactions').get(id);
    if (i) this.db.put('interactions', id, { ...i, userId, authMethods: copy(methods) });
  }

  async complete(id: string, at: number): Promise<boolean> {
    // No await between the check and the write: exactly one caller completes it.
    const i = this.db.rows('interactions').get(id);
    if (!i || i.completedAt !== null) return false;
    this.db.put('interactions', id, { ...i, completedAt: at });
    return true;
  }
}

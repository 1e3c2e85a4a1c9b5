import type { Kysely, Selectable } from 'kysely';
import type { Database, InteractionsTable, SessionsTable } from '../schema.js';
import type { AuthMethods, Interaction, InteractionStore, Session, SessionStore, User } from '../types.js';
import { toUser } from './users.js';

const toSession = (r: Selectable<SessionsTable>): Session => ({
  idHash: r.id_hash,
  userId: r.user_id,
  authTime: r.auth_time,
  createdAt: r.created_at,
  lastSeenAt: r.last_seen_at,
  expiresAt: r.expires_at,
  endedAt: r.ended_at,
  ...(r.auth_methods ? { authMethods: JSON.parse(r.auth_methods) as AuthMethods } : {}),
  ...(r.ip !== null ? { ip: r.ip } : {}),
  ...(r.user_agent !== null ? { userAgent: r.user_agent } : {}),
});

const methodsText = (m: AuthMethods | undefined): string | null => (m ? JSON.stringify(m) : null);

export class SqlSessionStore implements SessionStore {
  constructor(private readonly db: Kysely<Database>) {}

  async create(s: Session): Promise<void> {
    await this.db
      .insertInto('sessions')
      .values({
        id_hash: s.idHash,
        user_id: s.userId,
        auth_time: s.authTime,
        created_at: s.createdAt,
        last_seen_at: s.lastSeenAt,
        expires_at: s.expiresAt,
        ended_at: s.endedAt,
        auth_methods: methodsText(s.authMethods),
        ip: s.ip ?? null,
        user_agent: s.userAgent ?? null,
      })
      .execute();
  }

  async get(idHash: string): Promise<Session | undefined> {
    const r = await this.db
      .selectFrom('sessions')
      .selectAll()
      .where('id_hash', '=', idHash)
      .executeTakeFirst();
    return r && toSession(r);
  }

  async getWithUser(idHash: string): Promise<{ session: Session; user: User } | undefined> {
    const r = await this.db
      .selectFrom('sessions as s')
      .innerJoin('users as u', 'u.id', 's.user_id')
      .selectAll('s')
      .select([
        'u.username',
        'u.email',
        'u.name',
        'u.password_hash',
        'u.disabled',
        'u.is_admin',
        'u.mfa_enrol_required',
        'u.created_at as user_created_at',
        'u.updated_at as user_updated_at',
      ])
      .where('s.id_hash', '=', idHash)
      .executeTakeFirst();
    if (!r) return undefined;
    const user = toUser({
      id: r.user_id,
      username: r.username,
      email: r.email,
      name: r.name,
      password_hash: r.password_hash,
      disabled: r.disabled,
      is_admin: r.is_admin,
      mfa_enrol_required: r.mfa_enrol_required,
      created_at: r.user_created_at,
      updated_at: r.user_updated_at,
    });
    return { session: toSession(r), user };
  }

  async touch(idHash: string, at: number): Promise<void> {
    await this.db.updateTable('sessions').set({ last_seen_at: at }).where('id_hash', '=', idHash).execute();
  }

  async end(idHash: string, at: number): Promise<void> {
    await this.db
      .updateTable('sessions')
      .set({ ended_at: at })
      .where('id_hash', '=', idHash)
      .where('ended_at', 'is', null)
      .execute();
  }

  async endAllForUser(userId: string, at: number): Promise<number> {
    const r = await this.db
      .updateTable('sessions')
      .set({ ended_at: at })
      .where('user_id', '=', userId)
      .where('ended_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  async setAuthMethods(idHash: string, methods: AuthMethods, authTime: number): Promise<void> {
    await this.db
      .updateTable('sessions')
      .set({ auth_methods: methodsText(methods), auth_time: authTime })
      .where('id_hash', '=', idHash)
      .execute();
  }

  async listForUser(userId: string, now: number): Promise<Session[]> {
    const rows = await this.db
      .selectFrom('sessions')
      .selectAll()
      .where('user_id', '=', userId)
      .where('ended_at', 'is', null)
      .where('expires_at', '>', now)
      .orderBy('last_seen_at', 'desc')
      .execute();
    return rows.map(toSession);
  }
}

const toInteraction = (r: Selectable<InteractionsTable>): Interaction => ({
  id: r.id,
  clientId: r.client_id,
  request: r.request,
  csrf: r.csrf,
  userId: r.user_id,
  sessionHash: r.session_hash,
  authTime: r.auth_time,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  completedAt: r.completed_at,
  ...(r.auth_methods ? { authMethods: JSON.parse(r.auth_methods) as AuthMethods } : {}),
});

export class SqlInteractionStore implements InteractionStore {
  constructor(private readonly db: Kysely<Database>) {}

  async create(i: Interaction): Promise<void> {
    await this.db
      .insertInto('interactions')
      .values({
        id: i.id,
        client_id: i.clientId,
        request: i.request,
        csrf: i.csrf,
        user_id: i.userId,
        session_hash: i.sessionHash,
        auth_time: i.authTime,
        created_at: i.createdAt,
        expires_at: i.expiresAt,
        completed_at: i.completedAt,
        auth_methods: methodsText(i.authMethods),
      })
      .execute();
  }

  async get(id: string): Promise<Interaction | undefined> {
    const r = await this.db.selectFrom('interactions').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toInteraction(r);
  }

  async setUser(id: string, userId: string, sessionHash: string, authTime: number): Promise<void> {
    await this.db
      .updateTable('interactions')
      .set({ user_id: userId, session_hash: sessionHash, auth_time: authTime })
      .where('id', '=', id)
      .execute();
  }

  async setPartial(id: string, userId: string, methods: AuthMethods): Promise<void> {
    await this.db
      .updateTable('interactions')
      .set({ user_id: userId, auth_methods: methodsText(methods) })
      .where('id', '=', id)
      .execute();
  }

  async complete(id: string, at: number): Promise<boolean> {
    const r = await this.db
      .updateTable('interactions')
      .set({ completed_at: at })
      .where('id', '=', id)
      .where('completed_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
}

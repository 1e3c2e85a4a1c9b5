import type { Kysely, Selectable } from 'kysely';
import type { AuditEventsTable, Database, SigningKeysTable } from '../schema.js';
import type { AuditEvent, AuditStore, Consent, ConsentStore, KeyStore, SigningKey } from '../types.js';
import { isUniqueViolation } from './errors.js';

export class SqlConsentStore implements ConsentStore {
  constructor(private readonly db: Kysely<Database>) {}

  async get(userId: string, clientId: string): Promise<Consent | undefined> {
    const r = await this.db
      .selectFrom('consents')
      .selectAll()
      .where('user_id', '=', userId)
      .where('client_id', '=', clientId)
      .executeTakeFirst();
    return r && { userId: r.user_id, clientId: r.client_id, scope: r.scope, createdAt: r.created_at };
  }

  /**
   * Compare-and-set, so two concurrent saves (two nodes, two tabs) cannot lose each other's
   * scopes: insert when absent, else update only if the row still holds the scope we read.
   */
  async save(c: Consent): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const prior = await this.get(c.userId, c.clientId);
      const scopes = new Set([...(prior?.scope.split(' ') ?? []), ...c.scope.split(' ')].filter(Boolean));
      const scope = [...scopes].join(' ');
      if (!prior) {
        const r = await this.db
          .insertInto('consents')
          .values({ user_id: c.userId, client_id: c.clientId, scope, created_at: c.createdAt })
          .onConflict((oc) => oc.columns(['user_id', 'client_id']).doNothing())
          .executeTakeFirst();
        if (Number(r.numInsertedOrUpdatedRows ?? 0) === 1) return;
        continue;
      }
      const r = await this.db
        .updateTable('consents')
        .set({ scope, created_at: c.createdAt })
        .where('user_id', '=', c.userId)
        .where('client_id', '=', c.clientId)
        .where('scope', '=', prior.scope)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 1) return;
    }
    throw new Error('consent could not be saved: too many concurrent updates');
  }

  async listForUser(userId: string): Promise<Consent[]> {
    const rows = await this.db
      .selectFrom('consents')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('created_at', 'desc')
      .orderBy('client_id')
      .execute();
    return rows.map((r) => ({
      userId: r.user_id,
      clientId: r.client_id,
      scope: r.scope,
      createdAt: r.created_at,
    }));
  }

  async delete(userId: string, clientId: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('consents')
      .where('user_id', '=', userId)
      .where('client_id', '=', clientId)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}

const toKey = (r: Selectable<SigningKeysTable>): SigningKey => ({
  kid: r.kid,
  generation: r.generation,
  alg: r.alg,
  privatePem: r.private_pem,
  publicJwk: JSON.parse(r.public_jwk),
  ec:
    r.ec_kid !== null && r.ec_private_pem !== null && r.ec_public_jwk !== null
      ? { kid: r.ec_kid, privatePem: r.ec_private_pem, publicJwk: JSON.parse(r.ec_public_jwk) }
      : null,
  createdAt: r.created_at,
  activeAt: r.active_at,
  retiredAt: r.retired_at,
  expiresAt: r.expires_at,
});

export class SqlKeyStore implements KeyStore {
  constructor(private readonly db: Kysely<Database>) {}

  async listPublished(at: number): Promise<SigningKey[]> {
    const rows = await this.db
      .selectFrom('signing_keys')
      .selectAll()
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', at)]))
      .orderBy('generation', 'desc')
      .execute();
    return rows.map(toKey);
  }

  async listAll(): Promise<SigningKey[]> {
    const rows = await this.db.selectFrom('signing_keys').selectAll().orderBy('generation', 'desc').execute();
    return rows.map(toKey);
  }

  async insertIfGenerationFree(k: SigningKey): Promise<boolean> {
    try {
      const r = await this.db
        .insertInto('signing_keys')
        .values({
          kid: k.kid,
          generation: k.generation,
          alg: k.alg,
          private_pem: k.privatePem,
          public_jwk: JSON.stringify(k.publicJwk),
          ec_kid: k.ec?.kid ?? null,
          ec_private_pem: k.ec?.privatePem ?? null,
          ec_public_jwk: k.ec ? JSON.stringify(k.ec.publicJwk) : null,
          created_at: k.createdAt,
          active_at: k.activeAt,
          retired_at: k.retiredAt,
          expires_at: k.expiresAt,
        })
        .onConflict((oc) => oc.column('generation').doNothing())
        .executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  async retireBefore(generation: number, at: number, expiresAt: number): Promise<void> {
    await this.db
      .updateTable('signing_keys')
      .set({ retired_at: at, expires_at: expiresAt })
      .where('generation', '<', generation)
      .where('retired_at', 'is', null)
      .execute();
  }

  async replacePrivateParts(key: SigningKey): Promise<void> {
    await this.db
      .updateTable('signing_keys')
      .set(
        key.ec
          ? { private_pem: key.privatePem, ec_private_pem: key.ec.privatePem }
          : { private_pem: key.privatePem },
      )
      .where('kid', '=', key.kid)
      .execute();
  }
}

const toEvent = (r: Selectable<AuditEventsTable>): AuditEvent => ({
  id: r.id,
  at: r.at,
  type: r.type,
  clientId: r.client_id,
  userId: r.user_id,
  ip: r.ip,
  detail: r.detail === null ? null : JSON.parse(r.detail),
});

export class SqlAuditStore implements AuditStore {
  constructor(private readonly db: Kysely<Database>) {}

  async record(e: AuditEvent): Promise<void> {
    await this.db
      .insertInto('audit_events')
      .values({
        id: e.id,
        at: e.at,
        type: e.type,
        client_id: e.clientId,
        user_id: e.userId,
        ip: e.ip,
        detail: e.detail === null ? null : JSON.stringify(e.detail),
      })
      .execute();
  }

  async list(opts: Parameters<AuditStore['list']>[0] = {}): Promise<AuditEvent[]> {
    let q = this.db.selectFrom('audit_events').selectAll();
    if (opts.type) q = q.where('type', '=', opts.type);
    if (opts.userId) q = q.where('user_id', '=', opts.userId);
    if (opts.clientId) q = q.where('client_id', '=', opts.clientId);
    if (opts.since !== undefined) q = q.where('at', '>=', opts.since);
    const rows = await q
      .orderBy('at', 'desc')
      .orderBy('id', 'desc')
      .limit(Math.min(Math.max(opts.limit ?? 100, 1), 1000))
      .execute();
    return rows.map(toEvent);
  }

  async page(opts: Parameters<AuditStore['page']>[0]): Promise<AuditEvent[]> {
    let q = this.db.selectFrom('audit_events').selectAll();
    if (opts.from !== undefined) q = q.where('at', '>=', opts.from);
    if (opts.to !== undefined) q = q.where('at', '<', opts.to);
    const after = opts.after;
    if (after)
      q = q.where((eb) =>
        eb.or([eb('at', '>', after.at), eb.and([eb('at', '=', after.at), eb('id', '>', after.id)])]),
      );
    const rows = await q.orderBy('at', 'asc').orderBy('id', 'asc').limit(opts.limit).execute();
    return rows.map(toEvent);
  }
}

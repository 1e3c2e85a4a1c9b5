import type { Kysely, Selectable, Updateable } from 'kysely';
import type { ApisTable, Database } from '../schema.js';
import type { Api, ApiPatch, ApiStore, ApiTokenAlg } from '../types.js';
import { mapDuplicate } from './errors.js';

const toApi = (r: Selectable<ApisTable>): Api => ({
  identifier: r.identifier,
  name: r.name,
  scopes: JSON.parse(r.scopes),
  accessTokenTtl: r.access_token_ttl === null ? null : Number(r.access_token_ttl),
  tokenAlg: r.token_alg as ApiTokenAlg | null,
  allowDynamicClients: r.allow_dynamic_clients === 1,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

function toRow(a: ApiPatch & Partial<Pick<Api, 'identifier' | 'createdAt'>>): Updateable<ApisTable> {
  const row: Updateable<ApisTable> = {};
  if (a.identifier !== undefined) row.identifier = a.identifier;
  if (a.name !== undefined) row.name = a.name;
  if (a.scopes !== undefined) row.scopes = JSON.stringify(a.scopes);
  if (a.accessTokenTtl !== undefined) row.access_token_ttl = a.accessTokenTtl;
  if (a.tokenAlg !== undefined) row.token_alg = a.tokenAlg;
  if (a.allowDynamicClients !== undefined) row.allow_dynamic_clients = a.allowDynamicClients ? 1 : 0;
  if (a.createdAt !== undefined) row.created_at = a.createdAt;
  if (a.updatedAt !== undefined) row.updated_at = a.updatedAt;
  return row;
}

export class SqlApiStore implements ApiStore {
  constructor(private readonly db: Kysely<Database>) {}

  async create(api: Api): Promise<void> {
    await mapDuplicate(`API ${api.identifier} exists`, () =>
      this.db
        .insertInto('apis')
        .values(toRow(api) as Selectable<ApisTable>)
        .execute(),
    );
  }

  async get(identifier: string): Promise<Api | undefined> {
    const r = await this.db
      .selectFrom('apis')
      .selectAll()
      .where('identifier', '=', identifier)
      .executeTakeFirst();
    return r && toApi(r);
  }

  async list(): Promise<Api[]> {
    const rows = await this.db
      .selectFrom('apis')
      .selectAll()
      .orderBy('created_at')
      .orderBy('identifier')
      .execute();
    return rows.map(toApi);
  }

  async update(identifier: string, patch: ApiPatch): Promise<Api | undefined> {
    const row = toRow(patch);
    if (Object.keys(row).length > 0)
      await this.db.updateTable('apis').set(row).where('identifier', '=', identifier).execute();
    return this.get(identifier);
  }

  async delete(identifier: string): Promise<boolean> {
    const r = await this.db.deleteFrom('apis').where('identifier', '=', identifier).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}

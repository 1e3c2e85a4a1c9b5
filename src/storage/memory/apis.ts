import type { Api, ApiPatch, ApiStore } from '../types.js';
import { DuplicateError } from '../types.js';
import { copy, type MemoryDb, viaJson } from './db.js';

/** An API as its SQL row keeps it: the known fields only, the scopes through JSON. */
const normalized = (a: Api): Api => ({
  identifier: a.identifier,
  name: a.name,
  scopes: viaJson(a.scopes),
  accessTokenTtl: a.accessTokenTtl,
  tokenAlg: a.tokenAlg,
  allowDynamicClients: a.allowDynamicClients,
  createdAt: a.createdAt,
  updatedAt: a.updatedAt,
});

const byCreation = (a: Api, b: Api) =>
  a.createdAt - b.createdAt || (a.identifier < b.identifier ? -1 : a.identifier > b.identifier ? 1 : 0);

export class MemoryApiStore implements ApiStore {
  constructor(private readonly db: MemoryDb) {}

  async create(api: Api): Promise<void> {
    if (this.db.rows('apis').has(api.identifier)) throw new DuplicateError(`API ${api.identifier} exists`);
    this.db.put('apis', api.identifier, normalized(api));
  }

  async get(identifier: string): Promise<Api | undefined> {
    const a = this.db.rows('apis').get(identifier);
    return a && copy(a);
  }

  async list(): Promise<Api[]> {
    return [...this.db.rows('apis').values()].sort(byCreation).map(copy);
  }

  async update(identifier: string, patch: ApiPatch): Promise<Api | undefined> {
    const prior = this.db.rows('apis').get(identifier);
    if (!prior) return undefined;
    const defined = Object.fromEntries(
      Object.entries(patch).filter(([k, v]) => v !== undefined && k !== 'identifier' && k !== 'createdAt'),
    );
    if (Object.keys(defined).length > 0)
      this.db.put('apis', identifier, normalized({ ...prior, ...defined } as Api));
    return this.get(identifier);
  }

  async delete(identifier: string): Promise<boolean> {
    return this.db.delete('apis', identifier);
  }
}

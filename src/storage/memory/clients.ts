import type { Client, ClientStore } from '../types.js';
import { DuplicateError } from '../types.js';
import { copy, type MemoryDb, viaJson } from './db.js';

/**
 * A client as its SQL row keeps it: the known fields only, `allowedScopes` present only when
 * not empty (the column is a space-separated string, '' by default) and
 * `requirePushedAuthorizationRequests` only when true.
 */
function normalized(c: Client): Client {
  const { allowedScopes, ...rest } = c;
  const row: Client = {
    clientId: rest.clientId,
    name: rest.name,
    type: rest.type,
    redirectUris: viaJson(rest.redirectUris),
    postLogoutRedirectUris: viaJson(rest.postLogoutRedirectUris),
    grantTypes: viaJson(rest.grantTypes),
    tokenEndpointAuthMethod: rest.tokenEndpointAuthMethod,
    secretHash: rest.secretHash,
    consent: rest.consent,
    requirePkce: rest.requirePkce,
    accessTokenTtl: rest.accessTokenTtl,
    refreshTokenTtl: rest.refreshTokenTtl,
    refreshIdleTtl: rest.refreshIdleTtl,
    refreshGrace: rest.refreshGrace,
    rotateRefreshTokens: rest.rotateRefreshTokens,
    createdAt: rest.createdAt,
    updatedAt: rest.updatedAt,
  };
  const scopes = allowedScopes?.join(' ') ?? '';
  if (scopes) row.allowedScopes = scopes.split(' ');
  if (c.requirePushedAuthorizationRequests) row.requirePushedAuthorizationRequests = true;
  return row;
}

const byCreation = (a: Client, b: Client) =>
  a.createdAt - b.createdAt || (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : 0);

export class MemoryClientStore implements ClientStore {
  constructor(private readonly db: MemoryDb) {}

  async create(client: Client): Promise<void> {
    if (this.db.rows('clients').has(client.clientId))
      throw new DuplicateError(`client ${client.clientId} exists`);
    this.db.put('clients', client.clientId, normalized(client));
  }

  async get(clientId: string): Promise<Client | undefined> {
    const c = this.db.rows('clients').get(clientId);
    return c && copy(c);
  }

  async list(): Promise<Client[]> {
    return [...this.db.rows('clients').values()].sort(byCreation).map(copy);
  }

  async update(
    clientId: string,
    patch: Partial<Omit<Client, 'clientId' | 'createdAt'>>,
  ): Promise<Client | undefined> {
    const prior = this.db.rows('clients').get(clientId);
    if (!prior) return undefined;
    // As the SQL store: fields given as undefined are left alone; the client_id never changes.
    const defined = Object.fromEntries(
      Object.entries(patch).filter(([k, v]) => v !== undefined && k !== 'clientId'),
    ) as Partial<Client>;
    if (Object.keys(defined).length > 0) {
      this.db.put('clients', clientId, normalized({ ...prior, ...defined }));
    }
    return this.get(clientId);
  }

  async delete(clientId: string): Promise<boolean> {
    return this.db.delete('clients', clientId);
  }
}

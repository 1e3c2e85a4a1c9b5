import type { Client, ClientPatch, ClientStore } from '../types.js';
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
  if (c.jwks) row.jwks = viaJson(c.jwks);
  if (c.jwksUri) row.jwksUri = c.jwksUri;
  if (c.secretSealed) row.secretSealed = c.secretSealed;
  if (c.dpopBoundAccessTokens) row.dpopBoundAccessTokens = true;
  if (c.profile) row.profile = c.profile;
  if (c.mfa) row.mfa = c.mfa;
  if (c.allowedApis && c.allowedApis.length > 0) row.allowedApis = viaJson(c.allowedApis);
  if (c.registration) row.registration = c.registration;
  if (c.registrationTokenHash) row.registrationTokenHash = c.registrationTokenHash;
  return row;
}

/** The optional fields a patch clears with null. */
const OPTIONAL = { jwks: 1, jwksUri: 1, secretSealed: 1, profile: 1, mfa: 1, registrationTokenHash: 1 };

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

  async replaceRegistrationTokenHash(
    clientId: string,
    current: string,
    next: string,
    at: number,
  ): Promise<boolean> {
    const prior = this.db.rows('clients').get(clientId);
    if (prior?.registrationTokenHash !== current) return false;
    this.db.put('clients', clientId, { ...prior, registrationTokenHash: next, updatedAt: at });
    return true;
  }

  async update(clientId: string, patch: ClientPatch): Promise<Client | undefined> {
    const prior = this.db.rows('clients').get(clientId);
    if (!prior) return undefined;
    // As the SQL store: fields given as undefined are left alone, null clears an optional one;
    // the client_id never changes.
    const defined = Object.fromEntries(
      Object.entries(patch).filter(([k, v]) => v !== undefined && k !== 'clientId'),
    );
    if (Object.keys(defined).length > 0) {
      const next = { ...prior, ...defined } as Record<string, unknown>;
      for (const [k, v] of Object.entries(next)) if (v === null && k in OPTIONAL) delete next[k];
      this.db.put('clients', clientId, normalized(next as unknown as Client));
    }
    return this.get(clientId);
  }

  async delete(clientId: string): Promise<boolean> {
    return this.db.delete('clients', clientId);
  }
}

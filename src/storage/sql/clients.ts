import type { Kysely, Selectable, Updateable } from 'kysely';
import type { ClientsTable, Database } from '../schema.js';
import type {
  AllowedApi,
  Client,
  ClientPatch,
  ClientProfile,
  ClientRegistration,
  ClientStore,
  MfaPolicy,
} from '../types.js';
import { mapDuplicate } from './errors.js';

const toClient = (r: Selectable<ClientsTable>): Client => ({
  clientId: r.client_id,
  name: r.name,
  type: r.type as Client['type'],
  redirectUris: JSON.parse(r.redirect_uris),
  postLogoutRedirectUris: JSON.parse(r.post_logout_redirect_uris),
  grantTypes: JSON.parse(r.grant_types),
  tokenEndpointAuthMethod: r.token_endpoint_auth_method as Client['tokenEndpointAuthMethod'],
  secretHash: r.secret_hash,
  consent: r.consent as Client['consent'],
  requirePkce: r.require_pkce === 1,
  accessTokenTtl: r.access_token_ttl,
  refreshTokenTtl: r.refresh_token_ttl,
  refreshIdleTtl: r.refresh_idle_ttl,
  refreshGrace: r.refresh_grace,
  rotateRefreshTokens: r.rotate_refresh_tokens === 1,
  ...(r.allowed_scopes ? { allowedScopes: r.allowed_scopes.split(' ') } : {}),
  ...(r.require_par === 1 ? { requirePushedAuthorizationRequests: true } : {}),
  ...(r.jwks ? { jwks: JSON.parse(r.jwks) } : {}),
  ...(r.jwks_uri ? { jwksUri: r.jwks_uri } : {}),
  ...(r.secret_sealed ? { secretSealed: r.secret_sealed } : {}),
  ...(r.dpop_bound === 1 ? { dpopBoundAccessTokens: true } : {}),
  ...(r.profile ? { profile: r.profile as ClientProfile } : {}),
  ...(r.mfa ? { mfa: r.mfa as MfaPolicy } : {}),
  ...(r.allowed_apis ? { allowedApis: JSON.parse(r.allowed_apis) as AllowedApi[] } : {}),
  ...(r.registration ? { registration: r.registration as ClientRegistration } : {}),
  ...(r.registration_token_hash ? { registrationTokenHash: r.registration_token_hash } : {}),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

function toRow(c: ClientPatch & Partial<Pick<Client, 'clientId' | 'createdAt'>>): Updateable<ClientsTable> {
  const row: Updateable<ClientsTable> = {};
  if (c.clientId !== undefined) row.client_id = c.clientId;
  if (c.name !== undefined) row.name = c.name;
  if (c.type !== undefined) row.type = c.type;
  if (c.redirectUris !== undefined) row.redirect_uris = JSON.stringify(c.redirectUris);
  if (c.postLogoutRedirectUris !== undefined)
    row.post_logout_redirect_uris = JSON.stringify(c.postLogoutRedirectUris);
  if (c.grantTypes !== undefined) row.grant_types = JSON.stringify(c.grantTypes);
  if (c.tokenEndpointAuthMethod !== undefined) row.token_endpoint_auth_method = c.tokenEndpointAuthMethod;
  if (c.secretHash !== undefined) row.secret_hash = c.secretHash;
  if (c.consent !== undefined) row.consent = c.consent;
  if (c.requirePkce !== undefined) row.require_pkce = c.requirePkce ? 1 : 0;
  if (c.accessTokenTtl !== undefined) row.access_token_ttl = c.accessTokenTtl;
  if (c.refreshTokenTtl !== undefined) row.refresh_token_ttl = c.refreshTokenTtl;
  if (c.refreshIdleTtl !== undefined) row.refresh_idle_ttl = c.refreshIdleTtl;
  if (c.refreshGrace !== undefined) row.refresh_grace = c.refreshGrace;
  if (c.rotateRefreshTokens !== undefined) row.rotate_refresh_tokens = c.rotateRefreshTokens ? 1 : 0;
  if (c.allowedScopes !== undefined) row.allowed_scopes = c.allowedScopes.join(' ');
  if (c.requirePushedAuthorizationRequests !== undefined)
    row.require_par = c.requirePushedAuthorizationRequests ? 1 : 0;
  if (c.jwks !== undefined) row.jwks = c.jwks === null ? null : JSON.stringify(c.jwks);
  if (c.jwksUri !== undefined) row.jwks_uri = c.jwksUri;
  if (c.secretSealed !== undefined) row.secret_sealed = c.secretSealed;
  if (c.dpopBoundAccessTokens !== undefined) row.dpop_bound = c.dpopBoundAccessTokens ? 1 : 0;
  if (c.profile !== undefined) row.profile = c.profile;
  if (c.mfa !== undefined) row.mfa = c.mfa;
  if (c.allowedApis !== undefined)
    row.allowed_apis = c.allowedApis.length > 0 ? JSON.stringify(c.allowedApis) : null;
  if (c.registration !== undefined) row.registration = c.registration;
  if (c.registrationTokenHash !== undefined) row.registration_token_hash = c.registrationTokenHash;
  if (c.createdAt !== undefined) row.created_at = c.createdAt;
  if (c.updatedAt !== undefined) row.updated_at = c.updatedAt;
  return row;
}

export class SqlClientStore implements ClientStore {
  constructor(private readonly db: Kysely<Database>) {}

  async create(client: Client): Promise<void> {
    await mapDuplicate(`client ${client.clientId} exists`, () =>
      this.db
        .insertInto('clients')
        .values(toRow(client) as Selectable<ClientsTable>)
        .execute(),
    );
  }

  async get(clientId: string): Promise<Client | undefined> {
    const r = await this.db
      .selectFrom('clients')
      .selectAll()
      .where('client_id', '=', clientId)
      .executeTakeFirst();
    return r && toClient(r);
  }

  async list(): Promise<Client[]> {
    const rows = await this.db
      .selectFrom('clients')
      .selectAll()
      .orderBy('created_at')
      .orderBy('client_id')
      .execute();
    return rows.map(toClient);
  }

  async update(clientId: string, patch: ClientPatch): Promise<Client | undefined> {
    const row = toRow(patch);
    if (Object.keys(row).length > 0) {
      await this.db.updateTable('clients').set(row).where('client_id', '=', clientId).execute();
    }
    return this.get(clientId);
  }

  async replaceRegistrationTokenHash(
    clientId: string,
    current: string,
    next: string,
    at: number,
  ): Promise<boolean> {
    const r = await this.db
      .updateTable('clients')
      .set({ registration_token_hash: next, updated_at: at })
      .where('client_id', '=', clientId)
      .where('registration_token_hash', '=', current)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async delete(clientId: string): Promise<boolean> {
    const r = await this.db.deleteFrom('clients').where('client_id', '=', clientId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}

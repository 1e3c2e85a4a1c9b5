/**
 * The audited admin operations shared by the CLI, the JSON API and the console. Validation stays
 * in ClientAdmin / UserAdmin; this layer adds lookups by id and the audit event, with
 * `detail.via` naming the door ('cli', 'api' or 'console') and `detail.admin` the person.
 */

import type { Clock } from '../clock.js';
import type { AuditInput, AuditType } from '../ops/audit-log.js';
import type {
  Api,
  Client,
  ClientStore,
  FactorStore,
  GrantStore,
  SessionStore,
  User,
  UserStore,
} from '../storage/types.js';
import type { ApiAdmin, ApiSettingsPatch, NewApiInput } from './apis.js';
import type { ClientAdmin, ClientSettingsPatch, NewClientInput } from './clients.js';
import { type UserFactor, UserFactorAdmin } from './user-factors.js';
import { type UserAdmin, UserInputError } from './users.js';

/** What the admin operations use (the server context has all of it). */
export interface AdminDeps {
  clients: ClientAdmin;
  apis: ApiAdmin;
  users: UserAdmin;
  audit: { record(type: AuditType, input?: AuditInput): Promise<void> };
  clock: Clock;
  storage: {
    clients: ClientStore;
    users: UserStore;
    grants: GrantStore;
    sessions: SessionStore;
    factors: FactorStore;
  };
}

export interface Actor {
  via: 'cli' | 'api' | 'console';
  ip: string | null;
  /** The signed-in admin's username; absent for the bearer token. */
  admin?: string;
}

const who = (a: Actor) => ({ via: a.via, ...(a.admin !== undefined ? { admin: a.admin } : {}) });

export class AdminActions {
  readonly #factors: UserFactorAdmin;
  constructor(private readonly ctx: AdminDeps) {
    this.#factors = new UserFactorAdmin(ctx.storage.factors);
  }

  async createClient(actor: Actor, input: NewClientInput): Promise<{ client: Client; secret?: string }> {
    const r = await this.ctx.clients.create(input);
    await this.ctx.audit.record('client_created', {
      clientId: r.client.clientId,
      ip: actor.ip,
      detail: { ...who(actor), type: r.client.type, name: r.client.name },
    });
    return r;
  }

  async updateClient(
    actor: Actor,
    clientId: string,
    patch: ClientSettingsPatch,
  ): Promise<{ client: Client; secret?: string } | undefined> {
    const r = await this.ctx.clients.update(clientId, patch);
    if (r) {
      await this.ctx.audit.record('client_updated', {
        clientId,
        ip: actor.ip,
        detail: { ...who(actor), fields: Object.keys(patch), ...(r.secret ? { secret_issued: true } : {}) },
      });
    }
    return r;
  }

  async rotateSecret(
    actor: Actor,
    clientId: string,
  ): Promise<{ client: Client; secret: string } | undefined> {
    const r = await this.ctx.clients.rotateSecret(clientId);
    if (r)
      await this.ctx.audit.record('client_secret_rotated', { clientId, ip: actor.ip, detail: who(actor) });
    return r;
  }

  /** Deleting an application also revokes every grant and access token it holds. */
  async deleteClient(actor: Actor, clientId: string): Promise<boolean> {
    const deleted = await this.ctx.storage.clients.delete(clientId);
    if (deleted) {
      const revoked = await this.ctx.storage.grants.revokeAllForClient(clientId, this.ctx.clock.now());
      await this.ctx.audit.record('client_deleted', {
        clientId,
        ip: actor.ip,
        detail: { ...who(actor), grants_revoked: revoked },
      });
    }
    return deleted;
  }

  async createApi(actor: Actor, input: NewApiInput): Promise<Api> {
    const api = await this.ctx.apis.create(input);
    await this.ctx.audit.record('api_created', {
      ip: actor.ip,
      detail: {
        ...who(actor),
        identifier: api.identifier,
        name: api.name,
        scopes: api.scopes.map((s) => s.value),
      },
    });
    return api;
  }

  async updateApi(actor: Actor, identifier: string, patch: ApiSettingsPatch): Promise<Api | undefined> {
    const api = await this.ctx.apis.update(identifier, patch);
    if (api)
      await this.ctx.audit.record('api_updated', {
        ip: actor.ip,
        detail: { ...who(actor), identifier, fields: Object.keys(patch) },
      });
    return api;
  }

  async deleteApi(actor: Actor, identifier: string): Promise<boolean> {
    const deleted = await this.ctx.apis.delete(identifier);
    if (deleted)
      await this.ctx.audit.record('api_deleted', { ip: actor.ip, detail: { ...who(actor), identifier } });
    return deleted;
  }

  async createUser(
    actor: Actor,
    input: {
      username: string;
      email?: string | null;
      name?: string | null;
      password: string;
      isAdmin?: boolean;
    },
  ): Promise<User> {
    const user = await this.ctx.users.create(input);
    await this.ctx.audit.record('user_created', {
      userId: user.id,
      ip: actor.ip,
      detail: { ...who(actor), username: user.username, ...(user.isAdmin ? { admin: true } : {}) },
    });
    if (user.isAdmin) {
      await this.ctx.audit.record('user_admin_granted', {
        userId: user.id,
        ip: actor.ip,
        detail: who(actor),
      });
    }
    return user;
  }

  /** Disabling ends the user's sessions and revokes their grants (and so their refresh tokens). */
  async setUserDisabled(
    actor: Actor,
    userId: string,
    disabled: boolean,
  ): Promise<{ user: User; sessionsEnded: number; grantsRevoked: number } | undefined> {
    const existing = await this.ctx.storage.users.getById(userId);
    if (!existing) return undefined;
    if (disabled && actor.admin === existing.username)
      throw new UserInputError('you cannot disable your own account');
    const r = await this.ctx.users.setDisabled(existing.username, disabled);
    if (!r) return undefined;
    await this.ctx.audit.record(disabled ? 'user_disabled' : 'user_enabled', {
      userId,
      ip: actor.ip,
      detail: { ...who(actor), sessions: r.sessionsEnded, grants: r.grantsRevoked },
    });
    return r;
  }

  /** Grants or withdraws the admin role; an admin cannot withdraw their own. */
  async setUserAdmin(actor: Actor, userId: string, isAdmin: boolean): Promise<User | undefined> {
    const existing = await this.ctx.storage.users.getById(userId);
    if (!existing) return undefined;
    if (!isAdmin && actor.admin === existing.username)
      throw new UserInputError('you cannot withdraw your own administrator role');
    const user = await this.ctx.users.setAdmin(existing.username, isAdmin);
    if (user) {
      await this.ctx.audit.record(isAdmin ? 'user_admin_granted' : 'user_admin_revoked', {
        userId,
        ip: actor.ip,
        detail: who(actor),
      });
    }
    return user;
  }

  async setUserPassword(actor: Actor, userId: string, password: string): Promise<User | undefined> {
    const existing = await this.ctx.storage.users.getById(userId);
    if (!existing) return undefined;
    const user = await this.ctx.users.setPassword(existing.username, password);
    if (user) await this.ctx.audit.record('user_password_set', { userId, ip: actor.ip, detail: who(actor) });
    return user;
  }

  /** The person's factors (passkeys, confirmed TOTP factors, recovery codes); undefined: no such user. */
  async listUserFactors(userId: string): Promise<{ user: User; factors: UserFactor[] } | undefined> {
    const user = await this.ctx.storage.users.getById(userId);
    if (!user) return undefined;
    return { user, factors: await this.#factors.list(userId) };
  }

  /**
   * Removes one factor of the person (a lost phone or security key), whatever its type; the
   * recovery codes go as one set. Throws UserInputError when the person has no factor with this id.
   */
  async removeUserFactor(
    actor: Actor,
    userId: string,
    factorId: string,
  ): Promise<{ user: User; factor: UserFactor } | undefined> {
    const user = await this.ctx.storage.users.getById(userId);
    if (!user) return undefined;
    const factor = await this.#factors.remove(userId, factorId);
    if (!factor)
      throw new FactorNotFoundError(`${user.username} has no factor with id ${factorId.slice(0, 80)}`);
    await this.ctx.audit.record('user_factor_removed', {
      userId,
      ip: actor.ip,
      detail: { ...who(actor), type: factor.type, id: factor.id, name: factor.name },
    });
    return { user, factor };
  }

  /**
   * Asks for a second factor at the person's next sign-in: one who has none enrols a passkey or an
   * authenticator app then (whatever the application's MFA policy), one who has a factor uses it.
   * The flag clears itself once the person has a passkey or a TOTP factor and has signed in.
   */
  async requireMfaEnrolment(actor: Actor, userId: string): Promise<User | undefined> {
    const existing = await this.ctx.storage.users.getById(userId);
    if (!existing) return undefined;
    await this.ctx.storage.users.setMfaEnrolRequired(userId, true, this.ctx.clock.now());
    await this.ctx.audit.record('user_mfa_enrolment_required', {
      userId,
      ip: actor.ip,
      detail: who(actor),
    });
    return this.ctx.storage.users.getById(userId);
  }

  /**
   * Signs the person out everywhere: every session ends and every grant is revoked (with it each
   * refresh-token family and the access tokens issued under it). The account stays enabled: they
   * can sign in again at once.
   */
  async logoutUser(
    actor: Actor,
    userId: string,
  ): Promise<{ user: User; sessionsEnded: number; grantsRevoked: number } | undefined> {
    const user = await this.ctx.storage.users.getById(userId);
    if (!user) return undefined;
    const now = this.ctx.clock.now();
    const sessionsEnded = await this.ctx.storage.sessions.endAllForUser(userId, now);
    const grantsRevoked = await this.ctx.storage.grants.revokeAllForUser(userId, now);
    await this.ctx.audit.record('user_logged_out', {
      userId,
      ip: actor.ip,
      detail: { ...who(actor), sessions: sessionsEnded, grants: grantsRevoked },
    });
    return { user, sessionsEnded, grantsRevoked };
  }
}

/** No factor with the given id for this person: a "not found" of its own kind (CLI exit 2, API 404). */
export class FactorNotFoundError extends Error {
  override name = 'FactorNotFoundError';
}

/** Users: creation with validation, passwords (argon2id), enable/disable. */

import { MAX_PASSWORD_LENGTH, type PasswordHasher, passwordHasher } from '../auth/passwords.js';
import type { Clock } from '../clock.js';
import { newId } from '../crypto.js';
import type { GrantStore, SessionStore, User, UserStore } from '../storage/types.js';

export class UserInputError extends Error {
  override name = 'UserInputError';
}

export function checkPassword(password: string): void {
  if (password.length < 8) throw new UserInputError('password must be at least 8 characters');
  if (password.length > MAX_PASSWORD_LENGTH)
    throw new UserInputError(`password must be at most ${MAX_PASSWORD_LENGTH} characters`);
}

export function describeUser(u: User): Record<string, unknown> {
  return {
    id: u.id,
    sub: u.id,
    username: u.username,
    email: u.email,
    name: u.name,
    disabled: u.disabled,
    is_admin: u.isAdmin === true,
    mfa_enrolment_required: u.mfaEnrolRequired === true,
    created_at: new Date(u.createdAt).toISOString(),
  };
}

export class UserAdmin {
  constructor(
    private readonly store: UserStore,
    private readonly clock: Clock,
    private readonly related: { sessions: SessionStore; grants: GrantStore },
    private readonly hasher: Pick<PasswordHasher, 'hash'> = passwordHasher,
  ) {}

  /**
   * Disabling ends the user's sessions and revokes every grant (refresh-token families and the
   * access tokens issued under them); enabling only lifts the flag.
   */
  async setDisabled(
    username: string,
    disabled: boolean,
  ): Promise<{ user: User; sessionsEnded: number; grantsRevoked: number } | undefined> {
    const u = await this.store.getByUsername(username);
    if (!u) return undefined;
    const now = this.clock.now();
    await this.store.setDisabled(u.id, disabled, now);
    const sessionsEnded = disabled ? await this.related.sessions.endAllForUser(u.id, now) : 0;
    const grantsRevoked = disabled ? await this.related.grants.revokeAllForUser(u.id, now) : 0;
    return { user: (await this.store.getById(u.id))!, sessionsEnded, grantsRevoked };
  }

  async create(input: {
    username: string;
    email?: string | null;
    name?: string | null;
    password: string;
    isAdmin?: boolean;
  }): Promise<User> {
    const username = input.username.trim();
    if (username.length === 0 || username.length > 128 || /[\s\u0000-\u001f\u007f]/.test(username)) {
      throw new UserInputError('username must be 1 to 128 characters without spaces or control characters');
    }
    const email = input.email?.trim() || null;
    if (email !== null && (email.length > 254 || !/^[^\s@]+@[^\s@]+$/.test(email))) {
      throw new UserInputError('email is not a valid address');
    }
    const name = input.name?.trim() || null;
    if (name !== null && (name.length > 200 || /[\u0000-\u001f\u007f]/.test(name))) {
      throw new UserInputError('name must be at most 200 printable characters');
    }
    checkPassword(input.password);
    const now = this.clock.now();
    const user: User = {
      id: newId(),
      username,
      email,
      name,
      passwordHash: await this.hasher.hash(input.password),
      disabled: false,
      ...(input.isAdmin === true ? { isAdmin: true } : {}),
      createdAt: now,
      updatedAt: now,
    };
    await this.store.create(user);
    return user;
  }

  /** Grants or withdraws the admin console role. */
  async setAdmin(username: string, isAdmin: boolean): Promise<User | undefined> {
    const u = await this.store.getByUsername(username);
    if (!u) return undefined;
    await this.store.setAdmin(u.id, isAdmin, this.clock.now());
    return this.store.getById(u.id);
  }

  /**
   * A new password also ends the user's sessions and revokes their grants: a reset is how an
   * administrator locks out whoever had the old one.
   */
  async setPassword(username: string, password: string): Promise<User | undefined> {
    checkPassword(password);
    const u = await this.store.getByUsername(username);
    if (!u) return undefined;
    const now = this.clock.now();
    await this.store.setPasswordHash(u.id, await this.hasher.hash(password), now);
    await this.related.sessions.endAllForUser(u.id, now);
    await this.related.grants.revokeAllForUser(u.id, now);
    return this.store.getById(u.id);
  }
}

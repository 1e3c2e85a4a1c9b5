import type { User, UserStore } from '../types.js';
import { DuplicateError } from '../types.js';
import { copy, type MemoryDb } from './db.js';

/** A user as its SQL row keeps it: the known fields, `isAdmin` present only when true. */
function normalized(u: User): User {
  return {
    id: u.id,
    username: u.username,
    email: u.email,
    name: u.name,
    passwordHash: u.passwordHash,
    disabled: u.disabled,
    ...(u.isAdmin === true ? { isAdmin: true } : {}),
    ...(u.mfaEnrolRequired === true ? { mfaEnrolRequired: true } : {}),
    createdAt: u.createdAt,
    updatedAt: u.updatedAt,
  };
}

const byCreation = (a: User, b: User) =>
  a.createdAt - b.createdAt || (a.username < b.username ? -1 : a.username > b.username ? 1 : 0);

export class MemoryUserStore implements UserStore {
  constructor(private readonly db: MemoryDb) {}

  async create(u: User): Promise<void> {
    const users = this.db.rows('users');
    // Both the primary key and the unique username; the SQL store maps either to this message.
    if (users.has(u.id) || [...users.values()].some((x) => x.username === u.username)) {
      throw new DuplicateError(`username ${u.username} is taken`);
    }
    this.db.put('users', u.id, normalized(u));
  }

  async getById(id: string): Promise<User | undefined> {
    const u = this.db.rows('users').get(id);
    return u && copy(u);
  }

  async getByUsername(username: string): Promise<User | undefined> {
    for (const u of this.db.rows('users').values()) if (u.username === username) return copy(u);
    return undefined;
  }

  async list(): Promise<User[]> {
    return [...this.db.rows('users').values()].sort(byCreation).map(copy);
  }

  #update(id: string, change: (u: User) => User): boolean {
    const prior = this.db.rows('users').get(id);
    if (!prior) return false;
    this.db.put('users', id, normalized(change(prior)));
    return true;
  }

  async setPasswordHash(id: string, hash: string, at: number): Promise<boolean> {
    return this.#update(id, (u) => ({ ...u, passwordHash: hash, updatedAt: at }));
  }

  async setDisabled(id: string, disabled: boolean, at: number): Promise<boolean> {
    return this.#update(id, (u) => ({ ...u, disabled, updatedAt: at }));
  }

  async setAdmin(id: string, isAdmin: boolean, at: number): Promise<boolean> {
    return this.#update(id, (u) => ({ ...u, isAdmin, updatedAt: at }));
  }

  async setMfaEnrolRequired(id: string, required: boolean, at: number): Promise<boolean> {
    return this.#update(id, (u) => {
      const { mfaEnrolRequired: _, ...rest } = u;
      return { ...rest, ...(required ? { mfaEnrolRequired: true } : {}), updatedAt: at };
    });
  }
}

import type { Kysely, Selectable } from 'kysely';
import type { Database, UsersTable } from '../schema.js';
import type { User, UserStore } from '../types.js';
import { mapDuplicate } from './errors.js';

export const toUser = (r: Selectable<UsersTable>): User => ({
  id: r.id,
  username: r.username,
  email: r.email,
  name: r.name,
  passwordHash: r.password_hash,
  disabled: r.disabled === 1,
  ...(r.is_admin === 1 ? { isAdmin: true } : {}),
  ...(r.mfa_enrol_required === 1 ? { mfaEnrolRequired: true } : {}),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export class SqlUserStore implements UserStore {
  constructor(private readonly db: Kysely<Database>) {}

  async create(u: User): Promise<void> {
    await mapDuplicate(`username ${u.username} is taken`, () =>
      this.db
        .insertInto('users')
        .values({
          id: u.id,
          username: u.username,
          email: u.email,
          name: u.name,
          password_hash: u.passwordHash,
          disabled: u.disabled ? 1 : 0,
          is_admin: u.isAdmin === true ? 1 : 0,
          mfa_enrol_required: u.mfaEnrolRequired === true ? 1 : 0,
          created_at: u.createdAt,
          updated_at: u.updatedAt,
        })
        .execute(),
    );
  }

  async getById(id: string): Promise<User | undefined> {
    const r = await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toUser(r);
  }

  async getByUsername(username: string): Promise<User | undefined> {
    const r = await this.db
      .selectFrom('users')
      .selectAll()
      .where('username', '=', username)
      .executeTakeFirst();
    return r && toUser(r);
  }

  async list(): Promise<User[]> {
    const rows = await this.db
      .selectFrom('users')
      .selectAll()
      .orderBy('created_at')
      .orderBy('username')
      .execute();
    return rows.map(toUser);
  }

  async setPasswordHash(id: string, hash: string, at: number): Promise<boolean> {
    const r = await this.db
      .updateTable('users')
      .set({ password_hash: hash, updated_at: at })
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async setDisabled(id: string, disabled: boolean, at: number): Promise<boolean> {
    const r = await this.db
      .updateTable('users')
      .set({ disabled: disabled ? 1 : 0, updated_at: at })
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async setMfaEnrolRequired(id: string, required: boolean, at: number): Promise<boolean> {
    const r = await this.db
      .updateTable('users')
      .set({ mfa_enrol_required: required ? 1 : 0, updated_at: at })
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async setAdmin(id: string, isAdmin: boolean, at: number): Promise<boolean> {
    const r = await this.db
      .updateTable('users')
      .set({ is_admin: isAdmin ? 1 : 0, updated_at: at })
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
}

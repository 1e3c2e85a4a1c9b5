/** The admin role in storage (migration 0002_admin_role) on SQLite and, when configured, PostgreSQL. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { User } from '../../src/storage/types.js';
import { storageBackends } from '../helpers/databases.js';

const backends = storageBackends({ sqliteFile: 'role.db' });

const user = (over: Partial<User>): User => ({
  id: `u-${Math.random().toString(36).slice(2)}`,
  username: `n-${Math.random().toString(36).slice(2)}`,
  email: null,
  name: null,
  passwordHash: 'hash',
  disabled: false,
  createdAt: 1,
  updatedAt: 1,
  ...over,
});

for (const backend of backends) {
  describe(`admin role storage: ${backend.name}`, { skip: backend.skip }, () => {
    it('is off by default, stored on create, and switched by setAdmin', async () => {
      const { storage: s, done } = await backend.open();
      try {
        const plain = user({});
        await s.users.create(plain);
        assert.equal((await s.users.getById(plain.id))?.isAdmin, undefined);
        const boss = user({ isAdmin: true });
        await s.users.create(boss);
        assert.equal((await s.users.getByUsername(boss.username))?.isAdmin, true);
        assert.equal(await s.users.setAdmin(plain.id, true, 5), true);
        const promoted = await s.users.getById(plain.id);
        assert.equal(promoted?.isAdmin, true);
        assert.equal(promoted?.updatedAt, 5);
        assert.equal(await s.users.setAdmin(boss.id, false, 6), true);
        assert.equal((await s.users.getById(boss.id))?.isAdmin, undefined);
        assert.equal(await s.users.setAdmin('missing', true, 7), false);
        const listed = await s.users.list();
        assert.deepEqual(
          listed.filter((u) => u.isAdmin).map((u) => u.id),
          [plain.id],
        );
      } finally {
        await done();
      }
    });
  });
}

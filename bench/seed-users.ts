/**
 * Writes the benchmark's people (bench-0 … bench-N-1, password PASSWORD) into a Latchkey
 * database through the project's own user service, with the password hashed once at the
 * server's cost (argon2id m=19 MiB, t=2) and that hash given to every one: creating 200 users
 * through `latchkey users create` would start 200 processes and hash 200 times.
 *
 * Usage: tsx bench/seed-users.ts '{"db": "…", "count": 200}'
 */
import { UserAdmin } from '../src/admin/users.js';
import { hashPassword } from '../src/auth/passwords.js';
import { systemClock } from '../src/clock.js';
import { openStorage } from '../src/storage/index.js';
import { PASSWORD, userName } from './lib.js';

const { db, count } = JSON.parse(process.argv[2] ?? '{}') as { db: string; count: number };
const storage = await openStorage(db);
try {
  const hash = await hashPassword(PASSWORD);
  const users = new UserAdmin(
    storage.users,
    systemClock,
    { sessions: storage.sessions, grants: storage.grants },
    { hash: async () => hash },
  );
  for (let i = 0; i < count; i++) {
    // A database used for several rounds already has them.
    if (await storage.users.getByUsername(userName(i))) continue;
    await users.create({
      username: userName(i),
      password: PASSWORD,
      email: `${userName(i)}@example.com`,
      name: null,
    });
  }
} finally {
  await storage.close();
}

/** `latchkey users …` */
import { describeUser } from '../admin/users.js';
import { dbOption, jsonOption, parse, print, readStdin, UsageError } from './args.js';
import { withContext } from './db.js';

export async function usersCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'create': {
      const { values } = parse(rest, {
        ...dbOption,
        ...jsonOption,
        username: { type: 'string' },
        email: { type: 'string' },
        name: { type: 'string' },
        'password-stdin': { type: 'boolean', default: false },
        admin: { type: 'boolean', default: false },
      });
      if (!values.username) throw new UsageError('--username is required');
      if (!values['password-stdin'])
        throw new UsageError('--password-stdin is required (the password is read from standard input)');
      const password = await readStdin();
      await withContext(values.db, async (ctx) => {
        const user = await ctx.users.create({
          username: values.username!,
          email: values.email ?? null,
          name: values.name ?? null,
          password,
          ...(values.admin ? { isAdmin: true } : {}),
        });
        await ctx.audit.record('user_created', {
          userId: user.id,
          detail: { via: 'cli', username: user.username, ...(user.isAdmin ? { admin: true } : {}) },
        });
        print(
          values.json!,
          describeUser(user),
          () => `Created ${user.isAdmin ? 'admin ' : ''}user ${user.username} (id ${user.id})`,
        );
      });
      return;
    }
    case 'list': {
      const { values } = parse(rest, { ...dbOption, ...jsonOption });
      await withContext(values.db, async (ctx) => {
        const users = await ctx.storage.users.list();
        print(values.json!, users.map(describeUser), () =>
          users.length === 0
            ? 'No users.'
            : users
                .map(
                  (u) =>
                    `${u.id}  ${u.username}${u.isAdmin ? '  (admin)' : ''}${u.disabled ? '  (disabled)' : ''}`,
                )
                .join('\n'),
        );
      });
      return;
    }
    case 'set-password': {
      const { values, positionals } = parse(
        rest,
        { ...dbOption, ...jsonOption, 'password-stdin': { type: 'boolean', default: false } },
        1,
      );
      const username = positionals[0];
      if (!username) throw new UsageError('usage: latchkey users set-password USERNAME --password-stdin');
      if (!values['password-stdin']) throw new UsageError('--password-stdin is required');
      const password = await readStdin();
      await withContext(values.db, async (ctx) => {
        const user = await ctx.users.setPassword(username, password);
        if (!user) throw new UsageError(`no user named ${username}`);
        await ctx.audit.record('user_password_set', { userId: user.id, detail: { via: 'cli' } });
        print(values.json!, describeUser(user), () => `Password set for ${user.username}`);
      });
      return;
    }
    case 'disable':
    case 'enable': {
      const { values, positionals } = parse(rest, { ...dbOption, ...jsonOption }, 1);
      const username = positionals[0];
      if (!username) throw new UsageError(`usage: latchkey users ${sub} USERNAME`);
      await withContext(values.db, async (ctx) => {
        const r = await ctx.users.setDisabled(username, sub === 'disable');
        if (!r) throw new UsageError(`no user named ${username}`);
        await ctx.audit.record(sub === 'disable' ? 'user_disabled' : 'user_enabled', {
          userId: r.user.id,
          detail: { via: 'cli', sessions: r.sessionsEnded, grants: r.grantsRevoked },
        });
        print(
          values.json!,
          { ...describeUser(r.user), sessions_ended: r.sessionsEnded, grants_revoked: r.grantsRevoked },
          () =>
            sub === 'disable'
              ? `Disabled ${username}: ${r.sessionsEnded} session(s) ended, ${r.grantsRevoked} grant(s) revoked`
              : `Enabled ${username}`,
        );
      });
      return;
    }
    case 'grant-admin':
    case 'revoke-admin': {
      const { values, positionals } = parse(rest, { ...dbOption, ...jsonOption }, 1);
      const username = positionals[0];
      if (!username) throw new UsageError(`usage: latchkey users ${sub} USERNAME`);
      const grant = sub === 'grant-admin';
      await withContext(values.db, async (ctx) => {
        const user = await ctx.users.setAdmin(username, grant);
        if (!user) throw new UsageError(`no user named ${username}`);
        await ctx.audit.record(grant ? 'user_admin_granted' : 'user_admin_revoked', {
          userId: user.id,
          detail: { via: 'cli' },
        });
        print(values.json!, describeUser(user), () =>
          grant ? `${username} is now an admin` : `${username} is no longer an admin`,
        );
      });
      return;
    }
    default:
      throw new UsageError(
        'usage: latchkey users create|list|set-password|disable|enable|grant-admin|revoke-admin …',
      );
  }
}

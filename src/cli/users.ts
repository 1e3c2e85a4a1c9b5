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
        });
        await ctx.audit.record('user_created', {
          userId: user.id,
          detail: { via: 'cli', username: user.username },
        });
        print(values.json!, describeUser(user), () => `Created user ${user.username} (id ${user.id})`);
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
            : users.map((u) => `${u.id}  ${u.username}${u.disabled ? '  (disabled)' : ''}`).join('\n'),
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
        const user = await ctx.storage.users.getByUsername(username);
        if (!user) throw new UsageError(`no user named ${username}`);
        const now = ctx.clock.now();
        await ctx.storage.users.setDisabled(user.id, sub === 'disable', now);
        let sessions = 0;
        let grants = 0;
        if (sub === 'disable') {
          // Ends the user's sessions and revokes every grant (refresh-token families and their access tokens).
          sessions = await ctx.storage.sessions.endAllForUser(user.id, now);
          grants = await ctx.storage.grants.revokeAllForUser(user.id, now);
        }
        await ctx.audit.record(sub === 'disable' ? 'user_disabled' : 'user_enabled', {
          userId: user.id,
          detail: { via: 'cli', sessions, grants },
        });
        const after = (await ctx.storage.users.getById(user.id))!;
        print(
          values.json!,
          { ...describeUser(after), sessions_ended: sessions, grants_revoked: grants },
          () =>
            sub === 'disable'
              ? `Disabled ${username}: ${sessions} session(s) ended, ${grants} grant(s) revoked`
              : `Enabled ${username}`,
        );
      });
      return;
    }
    default:
      throw new UsageError('usage: latchkey users create|list|set-password|disable|enable …');
  }
}

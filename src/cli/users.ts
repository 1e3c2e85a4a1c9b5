/** `latchkey users …` */
import { AdminActions, FactorNotFoundError } from '../admin/actions.js';
import { describeFactor } from '../admin/user-factors.js';
import { describeUser } from '../admin/users.js';
import type { ServerContext } from '../context.js';
import { dbOption, jsonOption, parse, print, readStdin, UsageError } from './args.js';
import { commandGroup } from './command-table.js';
import { CLI_ACTOR, withContext } from './db.js';
import type { Io } from './io.js';

async function userIdOf(ctx: ServerContext, username: string): Promise<string> {
  const u = await ctx.storage.users.getByUsername(username);
  if (!u) throw new UsageError(`no user named ${username}`);
  return u.id;
}

async function createCommand(argv: string[], io: Io): Promise<void> {
  const { values } = parse(argv, {
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
  const password = await readStdin(io);
  await withContext(io, values.db, async (ctx) => {
    const user = await new AdminActions(ctx).createUser(CLI_ACTOR, {
      username: values.username!,
      email: values.email ?? null,
      name: values.name ?? null,
      password,
      ...(values.admin ? { isAdmin: true } : {}),
    });
    print(
      io,
      values.json!,
      describeUser(user),
      () => `Created ${user.isAdmin ? 'admin ' : ''}user ${user.username} (id ${user.id})`,
    );
  });
}

async function listCommand(argv: string[], io: Io): Promise<void> {
  const { values } = parse(argv, { ...dbOption, ...jsonOption });
  await withContext(io, values.db, async (ctx) => {
    const users = await ctx.storage.users.list();
    print(io, values.json!, users.map(describeUser), () =>
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
}

async function setPasswordCommand(argv: string[], io: Io): Promise<void> {
  const { values, positionals } = parse(
    argv,
    { ...dbOption, ...jsonOption, 'password-stdin': { type: 'boolean', default: false } },
    1,
  );
  const username = positionals[0];
  if (!username) throw new UsageError('usage: latchkey users set-password USERNAME --password-stdin');
  if (!values['password-stdin']) throw new UsageError('--password-stdin is required');
  const password = await readStdin(io);
  await withContext(io, values.db, async (ctx) => {
    const user = await new AdminActions(ctx).setUserPassword(
      CLI_ACTOR,
      await userIdOf(ctx, username),
      password,
    );
    if (!user) throw new UsageError(`no user named ${username}`);
    print(io, values.json!, describeUser(user), () => `Password set for ${user.username}`);
  });
}

/** `users disable` and `users enable`. */
async function setDisabled(sub: 'disable' | 'enable', argv: string[], io: Io): Promise<void> {
  const { values, positionals } = parse(argv, { ...dbOption, ...jsonOption }, 1);
  const username = positionals[0];
  if (!username) throw new UsageError(`usage: latchkey users ${sub} USERNAME`);
  await withContext(io, values.db, async (ctx) => {
    const r = await new AdminActions(ctx).setUserDisabled(
      CLI_ACTOR,
      await userIdOf(ctx, username),
      sub === 'disable',
    );
    if (!r) throw new UsageError(`no user named ${username}`);
    print(
      io,
      values.json!,
      { ...describeUser(r.user), sessions_ended: r.sessionsEnded, grants_revoked: r.grantsRevoked },
      () =>
        sub === 'disable'
          ? `Disabled ${username}: ${r.sessionsEnded} session(s) ended, ${r.grantsRevoked} grant(s) revoked`
          : `Enabled ${username}`,
    );
  });
}

/** `users grant-admin` and `users revoke-admin`. */
async function setAdmin(sub: 'grant-admin' | 'revoke-admin', argv: string[], io: Io): Promise<void> {
  const { values, positionals } = parse(argv, { ...dbOption, ...jsonOption }, 1);
  const username = positionals[0];
  if (!username) throw new UsageError(`usage: latchkey users ${sub} USERNAME`);
  const grant = sub === 'grant-admin';
  await withContext(io, values.db, async (ctx) => {
    const user = await new AdminActions(ctx).setUserAdmin(CLI_ACTOR, await userIdOf(ctx, username), grant);
    if (!user) throw new UsageError(`no user named ${username}`);
    print(io, values.json!, describeUser(user), () =>
      grant ? `${username} is now an admin` : `${username} is no longer an admin`,
    );
  });
}

/** `users logout`: every session ends and every grant is revoked; the account stays enabled. */
async function logoutCommand(argv: string[], io: Io): Promise<void> {
  const { values, positionals } = parse(argv, { ...dbOption, ...jsonOption }, 1);
  const username = positionals[0];
  if (!username) throw new UsageError('usage: latchkey users logout USERNAME');
  await withContext(io, values.db, async (ctx) => {
    const r = await new AdminActions(ctx).logoutUser(CLI_ACTOR, await userIdOf(ctx, username));
    if (!r) throw new UsageError(`no user named ${username}`);
    print(
      io,
      values.json!,
      { ...describeUser(r.user), sessions_ended: r.sessionsEnded, grants_revoked: r.grantsRevoked },
      () =>
        `Signed ${username} out everywhere: ${r.sessionsEnded} session(s) ended, ${r.grantsRevoked} grant(s) revoked`,
    );
  });
}

/** `users factors list`: a JSON array of {id, type, name, created_at, last_used_at}. */
async function factorsListCommand(argv: string[], io: Io): Promise<void> {
  const { values, positionals } = parse(argv, { ...dbOption, ...jsonOption }, 1);
  const username = positionals[0];
  if (!username) throw new UsageError('usage: latchkey users factors list USERNAME');
  await withContext(io, values.db, async (ctx) => {
    const r = await new AdminActions(ctx).listUserFactors(await userIdOf(ctx, username));
    if (!r) throw new UsageError(`no user named ${username}`);
    const rows = r.factors.map(describeFactor);
    print(io, values.json!, rows, () =>
      rows.length === 0
        ? `${username} has no factors besides the password.`
        : rows
            .map(
              (f) =>
                `${f.id}  ${f.type.padEnd(14)}  ${f.name}  (created ${f.created_at}, last used ${f.last_used_at ?? 'never'})`,
            )
            .join('\n'),
    );
  });
}

/** `users factors remove USERNAME --id ID`. */
async function factorsRemoveCommand(argv: string[], io: Io): Promise<void> {
  const { values, positionals } = parse(argv, { ...dbOption, ...jsonOption, id: { type: 'string' } }, 1);
  const username = positionals[0];
  if (!username || !values.id) throw new UsageError('usage: latchkey users factors remove USERNAME --id ID');
  const id = values.id;
  await withContext(io, values.db, async (ctx) => {
    let r: Awaited<ReturnType<AdminActions['removeUserFactor']>>;
    try {
      r = await new AdminActions(ctx).removeUserFactor(CLI_ACTOR, await userIdOf(ctx, username), id);
    } catch (err) {
      // As an unknown user or application: a usage error (exit 2).
      if (err instanceof FactorNotFoundError) throw new UsageError(err.message);
      throw err;
    }
    if (!r) throw new UsageError(`no user named ${username}`);
    const f = describeFactor(r.factor);
    print(
      io,
      values.json!,
      { ...f, removed: true },
      () => `Removed ${f.type} factor "${f.name}" (id ${f.id}) of ${username}`,
    );
  });
}

/** `users factors require-enrolment USERNAME`: a second factor at the next sign-in. */
async function factorsRequireEnrolmentCommand(argv: string[], io: Io): Promise<void> {
  const { values, positionals } = parse(argv, { ...dbOption, ...jsonOption }, 1);
  const username = positionals[0];
  if (!username) throw new UsageError('usage: latchkey users factors require-enrolment USERNAME');
  await withContext(io, values.db, async (ctx) => {
    const user = await new AdminActions(ctx).requireMfaEnrolment(CLI_ACTOR, await userIdOf(ctx, username));
    if (!user) throw new UsageError(`no user named ${username}`);
    print(
      io,
      values.json!,
      describeUser(user),
      () =>
        `${username} must use a second factor at their next sign-in (or enrol one: a passkey or an authenticator app)`,
    );
  });
}

/** `latchkey users factors …`. */
export const userFactorsCommand = commandGroup('users factors', {
  list: factorsListCommand,
  remove: factorsRemoveCommand,
  'require-enrolment': factorsRequireEnrolmentCommand,
});

const disableCommand = (argv: string[], io: Io) => setDisabled('disable', argv, io);
const enableCommand = (argv: string[], io: Io) => setDisabled('enable', argv, io);
const grantAdminCommand = (argv: string[], io: Io) => setAdmin('grant-admin', argv, io);
const revokeAdminCommand = (argv: string[], io: Io) => setAdmin('revoke-admin', argv, io);

export const usersCommand = commandGroup('users', {
  create: createCommand,
  list: listCommand,
  'set-password': setPasswordCommand,
  disable: disableCommand,
  enable: enableCommand,
  'grant-admin': grantAdminCommand,
  'revoke-admin': revokeAdminCommand,
  logout: logoutCommand,
  factors: userFactorsCommand,
});

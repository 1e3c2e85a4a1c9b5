/**
 * `latchkey registration-tokens …`: initial access tokens for Dynamic Client Registration
 * (RFC 7591 §3, LATCHKEY_REGISTRATION=token). The policy is ClientRegistrar's
 * (admin/registration.ts); the token is shown once, only its hash is kept.
 */
import { ClientInputError } from '../admin/clients.js';
import { formatDuration, parseDuration } from '../duration.js';
import type { InitialAccessToken } from '../storage/types.js';
import { dbOption, jsonOption, parse, print, UsageError } from './args.js';
import { commandGroup } from './command-table.js';
import { withContext } from './db.js';
import type { Io } from './io.js';

const DEFAULT_EXPIRES_SEC = 86400;

type State = 'active' | 'used_up' | 'expired' | 'revoked';

function stateOf(t: InitialAccessToken, now: number): State {
  if (t.revokedAt !== null) return 'revoked';
  if (t.uses >= t.maxUses) return 'used_up';
  if (t.expiresAt <= now) return 'expired';
  return 'active';
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function describeToken(t: InitialAccessToken, now: number): Record<string, unknown> {
  return {
    id: t.id,
    created_at: iso(t.createdAt),
    expires_at: iso(t.expiresAt),
    max_uses: t.maxUses,
    uses: t.uses,
    revoked_at: iso(t.revokedAt),
    state: stateOf(t, now),
  };
}

const line = (t: InitialAccessToken, now: number) =>
  `${t.id}  ${stateOf(t, now)}  ${t.uses}/${t.maxUses} used  expires ${iso(t.expiresAt)}`;

async function createCommand(argv: string[], io: Io): Promise<void> {
  const { values } = parse(argv, {
    ...dbOption,
    ...jsonOption,
    'max-uses': { type: 'string' },
    'expires-in': { type: 'string' },
  });
  const rawUses = values['max-uses'];
  const maxUses = rawUses === undefined ? 1 : /^\d{1,9}$/.test(rawUses) ? Number(rawUses) : Number.NaN;
  const rawExpires = values['expires-in'];
  const expiresIn = rawExpires === undefined ? DEFAULT_EXPIRES_SEC : parseDuration(rawExpires);
  if (expiresIn === undefined)
    throw new UsageError(`--expires-in must be seconds or a duration such as 7d, not ${rawExpires}`);
  await withContext(io, values.db, async (ctx) => {
    let made: Awaited<ReturnType<typeof ctx.registrar.createInitialToken>>;
    try {
      made = await ctx.registrar.createInitialToken(expiresIn, maxUses);
    } catch (err) {
      if (err instanceof ClientInputError) throw new UsageError(err.message);
      throw err;
    }
    const now = ctx.clock.now();
    print(io, values.json!, { ...describeToken(made.record, now), token: made.token }, () =>
      [
        `Created initial access token ${made.record.id}: ${maxUses} registration(s) within ${formatDuration(expiresIn)}`,
        `  ${made.token}`,
        '  Shown once: clients send it as "Authorization: Bearer …" to POST /register.',
        ...(ctx.config.registration === 'token'
          ? []
          : [
              `  Note: LATCHKEY_REGISTRATION is ${ctx.config.registration}; tokens are used only with "token".`,
            ]),
      ].join('\n'),
    );
  });
}

async function listCommand(argv: string[], io: Io): Promise<void> {
  const { values } = parse(argv, { ...dbOption, ...jsonOption });
  await withContext(io, values.db, async (ctx) => {
    const tokens = await ctx.registrar.listInitialTokens();
    const now = ctx.clock.now();
    print(
      io,
      values.json!,
      tokens.map((t) => describeToken(t, now)),
      () => (tokens.length === 0 ? 'No initial access tokens.' : tokens.map((t) => line(t, now)).join('\n')),
    );
  });
}

async function revokeCommand(argv: string[], io: Io): Promise<void> {
  const { values, positionals } = parse(argv, { ...dbOption, ...jsonOption }, 1);
  const id = positionals[0];
  if (!id) throw new UsageError('usage: latchkey registration-tokens revoke ID');
  await withContext(io, values.db, async (ctx) => {
    if (!(await ctx.registrar.revokeInitialToken(id)))
      throw new UsageError(`no active initial access token with id ${id}`);
    print(io, values.json!, { id, revoked: true }, () => `Revoked initial access token ${id}`);
  });
}

export const registrationTokensCommand = commandGroup('registration-tokens', {
  create: createCommand,
  list: listCommand,
  revoke: revokeCommand,
});

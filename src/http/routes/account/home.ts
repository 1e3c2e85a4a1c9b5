/**
 * GET /account: the account page — passkeys, authenticator apps, recovery codes, password,
 * sessions and applications — and `renderAccount`, which the form handlers use to show it again
 * with a message in the section their input was wrong in.
 */
import type { FastifyReply, RouteHandlerMethod } from 'fastify';
import { passkeyMethod } from '../../../auth/passkeys.js';
import type { ServerContext } from '../../../context.js';
import { sha256 } from '../../../crypto.js';
import { consentApis, consentedApis } from '../../../protocol/resources.js';
import {
  type AccountApplication,
  type AccountSection,
  type AccountSessionRow,
  accountPage,
} from '../../../ui/account-pages.js';
import { sendHtml } from '../../respond.js';
import { isSessionActive } from '../../session.js';
import { factorsOf, mustKeepAFactor } from './factors.js';
import { type AccountRequest, accountRoute } from './page.js';
import { ACCOUNT_CLIENT_ID } from './sign-in.js';

/** What a `?done=` after a change says (only these words: the query names one, never supplies it). */
const NOTICES: Record<string, string> = {
  'passkey-added': 'Your passkey was added.',
  'passkey-renamed': 'The passkey was renamed.',
  'passkey-removed': 'The passkey was removed.',
  'totp-added': 'Your authenticator app is set up.',
  'totp-removed': 'The authenticator app was removed.',
  'totp-cancelled': 'The set-up of the authenticator app was cancelled.',
  'last-factor-removed':
    'That was your last passkey or authenticator app, so your recovery codes were removed too.',
  'password-changed': 'Your password was changed, and your other sessions were signed out.',
  'session-ended': 'That session was signed out.',
  'sessions-ended': 'Your other sessions were signed out.',
  'app-revoked': 'The application no longer has access to your account.',
};

/**
 * A session's name on the page, in place of its id: a digest of the id hash (the page never shows
 * the hash the database is keyed by; a handle leads only to a session of the same person).
 */
export const sessionHandle = (idHash: string): string =>
  sha256(`latchkey-session-handle\u0000${idHash}`).slice(0, 22);

/** The person's open sessions (active by the idle and absolute lifetimes), this one first. */
export async function openSessions(ctx: ServerContext, a: AccountRequest) {
  const now = ctx.clock.now();
  const current = a.signedIn.session.idHash;
  const all = (await ctx.storage.sessions.listForUser(a.signedIn.user.id, now)).filter((s) =>
    isSessionActive(ctx, s, now),
  );
  return [...all.filter((s) => s.idHash === current), ...all.filter((s) => s.idHash !== current)];
}

/**
 * The name of an application that is not stored: a metadata-document client (its client_id is
 * its URL; not fetched for this page) shows where it is, anything else is gone.
 */
function unstoredName(ctx: ServerContext, clientId: string): string {
  if (ctx.clientDocuments?.names(clientId)) return `An application at ${new URL(clientId).host}`;
  return 'An application that no longer exists';
}

/** The applications with access: consents given and grants not revoked (not the account page's own). */
export async function applicationsOf(ctx: ServerContext, userId: string): Promise<AccountApplication[]> {
  const consents = await ctx.storage.consents.listForUser(userId);
  const grants = await ctx.storage.grants.activeClientsOfUser(userId);
  const ids = [...new Set([...grants.map((g) => g.clientId), ...consents.map((c) => c.clientId)])];
  const out: AccountApplication[] = [];
  for (const clientId of ids) {
    if (clientId === ACCOUNT_CLIENT_ID) continue;
    const client = await ctx.storage.clients.get(clientId);
    const consent = consents.find((c) => c.clientId === clientId);
    const lastUsedAt = grants.find((g) => g.clientId === clientId)?.lastGrantAt;
    const items = consent ? consent.scope.split(' ').filter(Boolean) : [];
    out.push({
      clientId,
      name: client?.name ?? unstoredName(ctx, clientId),
      scopes: items,
      // RFC 8707: each API consented to, by its name, its scopes in words.
      apis: await consentApis(ctx.grants.apis, consentedApis(items, ctx.grants.apis.defaultIdentifier)),
      ...(consent ? { consentedAt: consent.createdAt } : {}),
      ...(lastUsedAt !== undefined ? { lastUsedAt } : {}),
    });
  }
  return out;
}

/** The account page, with a notice or a section's error. */
export async function renderAccount(
  ctx: ServerContext,
  reply: FastifyReply,
  a: AccountRequest,
  opts: { status?: number; notice?: string; error?: { section: AccountSection; message: string } } = {},
): Promise<FastifyReply> {
  const user = a.signedIn.user;
  const { passkeys, totp } = await factorsOf(ctx, user.id);
  const pending = (await ctx.storage.factors.totpOf(user.id)).some((t) => t.confirmedAt === null);
  const recovery = await ctx.storage.factors.recoveryCodesOf(user.id);
  const sessions: AccountSessionRow[] = (await openSessions(ctx, a)).map((s) => ({
    handle: sessionHandle(s.idHash),
    current: s.idHash === a.signedIn.session.idHash,
    ...(s.ip !== undefined ? { ip: s.ip } : {}),
    ...(s.userAgent !== undefined ? { userAgent: s.userAgent } : {}),
    createdAt: s.createdAt,
    lastSeenAt: s.lastSeenAt,
  }));
  return sendHtml(
    reply,
    opts.status ?? 200,
    accountPage({
      csrf: a.csrf,
      username: user.username,
      name: user.name,
      email: user.email,
      recent: a.recent,
      ...(opts.notice !== undefined ? { notice: opts.notice } : {}),
      ...(opts.error ? { error: opts.error } : {}),
      mustKeepFactor: await mustKeepAFactor(ctx, user.id),
      passkeys: passkeys.map((p) => ({
        id: p.id,
        name: p.name,
        synced: passkeyMethod(p) === 'swk',
        createdAt: p.createdAt,
        lastUsedAt: p.lastUsedAt,
      })),
      totp: totp.map((t) => ({ id: t.id, name: t.name, createdAt: t.createdAt, lastUsedAt: t.lastUsedAt })),
      totpPending: pending,
      recovery: recovery && recovery.left > 0 ? recovery : undefined,
      sessions,
      applications: await applicationsOf(ctx, user.id),
    }),
  );
}

export function getAccount(ctx: ServerContext): RouteHandlerMethod {
  return accountRoute(ctx, 'view', async (_req, reply, a) => {
    const done = a.params.get('done');
    const notice = done !== undefined && Object.hasOwn(NOTICES, done) ? NOTICES[done] : undefined;
    return renderAccount(ctx, reply, a, notice !== undefined ? { notice } : {});
  });
}

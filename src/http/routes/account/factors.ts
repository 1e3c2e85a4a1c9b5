/**
 * The rules of the account page's factors:
 * - A person must keep a factor (a passkey or a confirmed authenticator app; recovery codes only
 *   stand in for those) when multi-factor sign-in is required of them: the server's LATCHKEY_MFA
 *   is `required`, or an application they use requires it (its `mfa` is `required` and they have
 *   a consent or a live grant for it). Kept this simple on purpose: an application never used
 *   would ask for a factor at its first sign-in anyway, and the server-wide setting is the one
 *   most deployments use.
 * - Removing the last factor of anyone else is allowed, and their recovery codes go with it:
 *   left alone, codes with no factor would be asked for as a second step at every sign-in
 *   (sign-in-policy.ts counts them) until none were left.
 * - The first factor comes with recovery codes, shown once (as in the sign-in's enrolment).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../../../context.js';
import { accountRecoveryCodesPage } from '../../../ui/account-pages.js';
import { sendHtml } from '../../respond.js';
import { type AccountRequest, seeOther } from './page.js';

export const KEEP_A_FACTOR =
  'This is the last passkey or authenticator app on your account, and your account must keep one (multi-factor sign-in is required). Add another one first, then remove this one.';

/** Whether multi-factor sign-in is required of this person (see the top of this file). */
export async function mustKeepAFactor(ctx: ServerContext, userId: string): Promise<boolean> {
  if (ctx.config.mfa === 'required') return true;
  const used = new Set([
    ...(await ctx.storage.consents.listForUser(userId)).map((c) => c.clientId),
    ...(await ctx.storage.grants.activeClientsOfUser(userId)).map((g) => g.clientId),
  ]);
  for (const clientId of used) if ((await ctx.storage.clients.get(clientId))?.mfa === 'required') return true;
  return false;
}

/** The person's factors that count (recovery codes do not): their passkeys and confirmed apps. */
export async function factorsOf(ctx: ServerContext, userId: string) {
  const passkeys = await ctx.storage.factors.passkeysOf(userId);
  const totp = (await ctx.storage.factors.totpOf(userId)).filter((t) => t.confirmedAt !== null);
  return { passkeys, totp, count: passkeys.length + totp.length };
}

/**
 * After the last factor went: the recovery codes go too (see the top of this file). Returns
 * whether there were any.
 */
export async function dropRecoveryCodesIfNoFactor(
  ctx: ServerContext,
  req: FastifyRequest,
  userId: string,
): Promise<boolean> {
  if ((await factorsOf(ctx, userId)).count > 0) return false;
  const set = await ctx.storage.factors.recoveryCodesOf(userId);
  if (!set || !(await ctx.storage.factors.removeRecoveryCodes(userId, set.id))) return false;
  await ctx.audit.record('recovery_codes_removed', {
    userId,
    ip: req.ip,
    detail: { via: 'account', reason: 'last_factor_removed' },
  });
  return true;
}

/** After a factor was added: new recovery codes, shown once, if the person had none; else the page. */
export async function afterFactorAdded(
  ctx: ServerContext,
  req: FastifyRequest,
  reply: FastifyReply,
  a: AccountRequest,
  done: string,
): Promise<FastifyReply> {
  const made = await ctx.factors.recovery.regenerateIfNone(a.signedIn.user.id);
  if (!made) return seeOther(reply, `/account?done=${done}`);
  await ctx.audit.record('recovery_codes_generated', {
    userId: a.signedIn.user.id,
    ip: req.ip,
    detail: { via: 'account', first: true },
  });
  return sendHtml(reply, 200, accountRecoveryCodesPage({ codes: made.codes, first: true }));
}

/**
 * Authenticator apps (TOTP) on the account page:
 * - POST /account/totp: a new secret, waiting for its first code (it replaces an earlier
 *   unconfirmed one), then GET /account/totp shows it as a QR code and as text;
 * - POST /account/totp/confirm: the first code confirms it (a wrong one shows the page again,
 *   401; too many, 429) and counts as this session's one-time code; the first factor comes with
 *   recovery codes;
 * - POST /account/totp/cancel: drops the unconfirmed secret (no recent sign-in needed for that);
 * - POST /account/totp/:id/remove: only the person's own; the last factor of a person who must
 *   keep one stays (factors.ts).
 */
import type { FastifyReply, RouteHandlerMethod } from 'fastify';
import { lastAuthTime } from '../../../auth/sign-in-policy.js';
import type { TotpEnrolment } from '../../../auth/totp.js';
import type { ServerContext } from '../../../context.js';
import { totpSetupPage } from '../../../ui/sign-in-pages.js';
import { sendHtml } from '../../respond.js';
import { sessionMethods } from '../interaction/steps.js';
import {
  afterFactorAdded,
  dropRecoveryCodesIfNoFactor,
  factorsOf,
  KEEP_A_FACTOR,
  mustKeepAFactor,
} from './factors.js';
import { renderAccount } from './home.js';
import { type AccountRequest, accountRoute, idParam, seeOther } from './page.js';

const NOT_YOURS = 'That authenticator app is not on your account (it may have been removed already).';

function renderSetup(
  reply: FastifyReply,
  a: AccountRequest,
  e: TotpEnrolment,
  status: number,
  error?: string,
): FastifyReply {
  return sendHtml(
    reply,
    status,
    totpSetupPage({
      title: 'Set up your authenticator app',
      action: '/account/totp/confirm',
      csrf: a.csrf,
      factorId: e.factor.id,
      secret: e.secret,
      qrSvg: e.qrSvg,
      ...(error !== undefined ? { error } : {}),
      cancel: { action: '/account/totp/cancel', label: 'Cancel' },
    }),
  );
}

export function postTotpStart(ctx: ServerContext): RouteHandlerMethod {
  return accountRoute(ctx, 'change', async (_req, reply, a) => {
    await ctx.factors.totp.startEnrolment(a.signedIn.user);
    return seeOther(reply, '/account/totp');
  });
}

export function getTotpSetup(ctx: ServerContext): RouteHandlerMethod {
  return accountRoute(
    ctx,
    'change',
    async (_req, reply, a) => {
      const pending = await ctx.factors.totp.pendingEnrolment(a.signedIn.user);
      if (!pending) return seeOther(reply, '/account');
      return renderSetup(reply, a, pending, 200);
    },
    { returnTo: '/account/totp' },
  );
}

export function postTotpConfirm(ctx: ServerContext): RouteHandlerMethod {
  return accountRoute(ctx, 'change', async (req, reply, a) => {
    const pending = await ctx.factors.totp.pendingEnrolment(a.signedIn.user);
    if (!pending || pending.factor.id !== a.params.get('factor'))
      return renderAccount(ctx, reply, a, {
        status: 400,
        error: { section: 'totp', message: 'This set-up has expired or was replaced. Start it again.' },
      });
    const code = (a.params.get('code') ?? '').slice(0, 64);
    const check = await ctx.factors.totp.confirm(a.signedIn.user, pending.factor.id, code, req.ip);
    if (check.outcome === 'throttled') {
      reply.header('retry-after', String(check.retryAfterSec));
      return renderSetup(reply, a, pending, 429, 'Too many wrong codes. Wait a few minutes and try again.');
    }
    if (check.outcome === 'wrong')
      return renderSetup(
        reply,
        a,
        pending,
        401,
        'That code is not right. Check the time on your device and try again.',
      );
    await ctx.audit.record('totp_enrolled', {
      userId: a.signedIn.user.id,
      ip: req.ip,
      detail: { via: 'account', factor: pending.factor.id },
    });
    // The first code is a one-time code of this session, as in the sign-in's enrolment (else the
    // page would ask for one at once, sign-in-policy.ts: a person with a factor gives it).
    const methods = { ...sessionMethods(a.signedIn.session), otp: ctx.clock.now() };
    await ctx.storage.sessions.setAuthMethods(a.signedIn.session.idHash, methods, lastAuthTime(methods));
    return afterFactorAdded(ctx, req, reply, a, 'totp-added');
  });
}

export function postTotpCancel(ctx: ServerContext): RouteHandlerMethod {
  return accountRoute(ctx, 'post', async (_req, reply, a) => {
    const userId = a.signedIn.user.id;
    for (const t of await ctx.storage.factors.totpOf(userId))
      if (t.confirmedAt === null) await ctx.storage.factors.removeTotp(userId, t.id);
    return seeOther(reply, '/account?done=totp-cancelled');
  });
}

export function postTotpRemove(ctx: ServerContext): RouteHandlerMethod {
  return accountRoute(ctx, 'change', async (req, reply, a) => {
    const id = idParam(req);
    const userId = a.signedIn.user.id;
    const factors = await factorsOf(ctx, userId);
    if (!factors.totp.some((t) => t.id === id))
      return renderAccount(ctx, reply, a, { status: 404, error: { section: 'totp', message: NOT_YOURS } });
    if (factors.count === 1 && (await mustKeepAFactor(ctx, userId)))
      return renderAccount(ctx, reply, a, {
        status: 409,
        error: { section: 'totp', message: KEEP_A_FACTOR },
      });
    if (!(await ctx.storage.factors.removeTotp(userId, id)))
      return renderAccount(ctx, reply, a, { status: 404, error: { section: 'totp', message: NOT_YOURS } });
    await ctx.audit.record('totp_removed', { userId, ip: req.ip, detail: { via: 'account', factor: id } });
    const last = await dropRecoveryCodesIfNoFactor(ctx, req, userId);
    return seeOther(reply, `/account?done=${last ? 'last-factor-removed' : 'totp-removed'}`);
  });
}

/**
 * POST /interaction/:id/otp and /interaction/:id/recovery: a second factor by code — six digits
 * from the person's authenticator app (auth/totp.ts), or one of their recovery codes
 * (auth/recovery-codes.ts). A wrong code re-renders the page (401), too many wrong ones answer
 * 429 with Retry-After; each code works once. A recovery code shows how many are left before
 * the sign-in goes on (POST /interaction/:id/continue).
 */
import type { FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import type { ServerContext } from '../../../context.js';
import { noticePage } from '../../../ui/sign-in-pages.js';
import { sendHtml } from '../../respond.js';
import { checkPost, expired, type Loaded, load, paths } from './load.js';
import { advance, recordMethods, renderCurrentStep, type SignInState, signInState } from './steps.js';

const WRONG_CODE = 'That code is not right. Check the time on your device and try again.';
const WRONG_RECOVERY = 'That recovery code is not right, or it was used already.';
const throttledMessage = (sec: number) =>
  `Too many wrong codes. Try again in ${Math.max(1, Math.ceil(sec / 60))} minute${sec > 60 ? 's' : ''}.`;

/** The interaction's person, who must have done a first step already. */
async function loadStarted(
  ctx: ServerContext,
  req: FastifyRequest,
): Promise<{ l: Loaded; code: string; state: SignInState }> {
  const l = await load(ctx, req);
  const params = checkPost(req, l);
  const state = await signInState(ctx, req, l);
  if (!state) throw expired();
  return { l, code: (params.get('code') ?? '').slice(0, 64), state };
}

async function refused(
  ctx: ServerContext,
  req: FastifyRequest,
  reply: FastifyReply,
  l: Loaded,
  state: SignInState,
  outcome: { outcome: 'wrong' } | { outcome: 'throttled'; retryAfterSec: number },
  message: string,
  via: 'totp' | 'recovery_code',
): Promise<FastifyReply> {
  await ctx.audit.record('second_factor_failure', {
    clientId: l.client.clientId,
    userId: state.user.id,
    ip: req.ip,
    detail: { via, reason: outcome.outcome },
  });
  if (outcome.outcome === 'throttled') {
    reply.header('retry-after', String(outcome.retryAfterSec));
    return renderCurrentStep(ctx, req, reply, l, state, 429, throttledMessage(outcome.retryAfterSec));
  }
  return renderCurrentStep(ctx, req, reply, l, state, 401, message);
}

export function postOtp(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    const { l, code, state } = await loadStarted(ctx, req);
    const check = await ctx.factors.totp.verify(state.user, code, req.ip);
    if (check.outcome !== 'ok') return refused(ctx, req, reply, l, state, check, WRONG_CODE, 'totp');
    await ctx.audit.record('second_factor_success', {
      clientId: l.client.clientId,
      userId: state.user.id,
      ip: req.ip,
      detail: { via: 'totp' },
    });
    return advance(ctx, req, reply, l, state, { otp: ctx.clock.now() });
  };
}

export function postRecovery(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    const { l, code, state } = await loadStarted(ctx, req);
    const check = await ctx.factors.recovery.use(state.user.id, code, req.ip);
    if (check.outcome !== 'ok')
      return refused(ctx, req, reply, l, state, check, WRONG_RECOVERY, 'recovery_code');
    await ctx.audit.record('recovery_code_used', {
      clientId: l.client.clientId,
      userId: state.user.id,
      ip: req.ip,
      detail: { left: check.left },
    });
    // Recorded now; the person reads how many are left, then goes on (postContinue).
    await recordMethods(ctx, l, state, { ...state.methods, otp: ctx.clock.now() });
    const left = check.left;
    return sendHtml(
      reply,
      200,
      noticePage({
        title: 'Recovery code accepted',
        message:
          left === 0
            ? 'That was your last recovery code. Make new ones on your account page.'
            : `You have ${left} recovery code${left === 1 ? '' : 's'} left. Make new ones on your account page when you run low.`,
        action: paths(l.interaction.id).continue,
        csrf: l.interaction.csrf,
        label: 'Continue',
      }),
    );
  };
}

/** POST /interaction/:id/continue: on from a page that only informed (recovery codes, a notice). */
export function postContinue(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    const l = await load(ctx, req);
    checkPost(req, l);
    const state = await signInState(ctx, req, l);
    if (!state) throw expired();
    return advance(ctx, req, reply, l, state, {});
  };
}

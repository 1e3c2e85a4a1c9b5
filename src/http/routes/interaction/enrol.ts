/**
 * Enrolment during a sign-in, only where the policy's step is `enrol` (auth/sign-in-policy.ts:
 * a person with no factor yet whose application requires one, an administrator's request, or the
 * passkey suggestion after a password):
 * - POST /interaction/:id/enrol/totp: a new authenticator-app secret, shown as a QR code;
 * - POST /interaction/:id/enrol/totp/confirm: its first code confirms it (and counts as the
 *   one-time code of this sign-in);
 * - POST /interaction/:id/enrol/passkey: a passkey registration (the browser's WebAuthn JSON);
 * - POST /interaction/:id/enrol/skip: "Not now" to the passkey suggestion.
 * A person's first factor comes with ten recovery codes, shown once before the sign-in goes on.
 */
import type { FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import { credentialField, PasskeyError } from '../../../auth/passkeys.js';
import type { Step } from '../../../auth/sign-in-policy.js';
import type { ServerContext } from '../../../context.js';
import { invalidRequest } from '../../../protocol/errors.js';
import type { Params } from '../../../protocol/params.js';
import type { AuthMethods } from '../../../storage/types.js';
import { recoveryCodesPage, totpSetupPage } from '../../../ui/sign-in-pages.js';
import { sendHtml } from '../../respond.js';
import { checkPost, expired, type Loaded, load, paths } from './load.js';
import {
  advance,
  recordMethods,
  rememberSkip,
  renderStep,
  type SignInState,
  signInState,
  skipped,
  stepFor,
} from './steps.js';

type EnrolStep = Extract<Step, { step: 'enrol' }>;

/** The interaction, its person and their `enrol` step; any other step: nothing to enrol here. */
async function loadEnrol(
  ctx: ServerContext,
  req: FastifyRequest,
  kind?: 'totp' | 'passkey',
): Promise<{ l: Loaded; params: Params; state: SignInState; step: EnrolStep }> {
  const l = await load(ctx, req);
  const params = checkPost(req, l);
  const state = await signInState(ctx, req, l);
  if (!state) throw expired();
  const step = await stepFor(ctx, l, state.user, state.methods, skipped(req, l));
  if (step.step !== 'enrol' || (kind !== undefined && !step.kinds.includes(kind)))
    throw invalidRequest('There is nothing to set up at this step of the sign-in.');
  return { l, params, state, step };
}

/** Records what the enrolment proved, and shows new recovery codes if the person had none. */
async function afterEnrolment(
  ctx: ServerContext,
  req: FastifyRequest,
  reply: FastifyReply,
  l: Loaded,
  state: SignInState,
  added: AuthMethods,
): Promise<FastifyReply> {
  const existing = await ctx.factors.recovery.regenerateIfNone(state.user.id);
  if (!existing) return advance(ctx, req, reply, l, state, added);
  await ctx.audit.record('recovery_codes_generated', {
    userId: state.user.id,
    ip: req.ip,
    detail: { via: 'sign-in' },
  });
  await recordMethods(ctx, l, state, { ...state.methods, ...added });
  return sendHtml(
    reply,
    200,
    recoveryCodesPage({
      codes: existing.codes,
      continueAction: paths(l.interaction.id).continue,
      csrf: l.interaction.csrf,
      continueLabel: 'I saved them, continue',
    }),
  );
}

function renderTotpSetup(
  reply: FastifyReply,
  l: Loaded,
  e: { factor: { id: string }; secret: string; qrSvg: string },
  status: number,
  error?: string,
): FastifyReply {
  return sendHtml(
    reply,
    status,
    totpSetupPage({
      title: 'Set up your authenticator app',
      action: paths(l.interaction.id).enrolTotpConfirm,
      csrf: l.interaction.csrf,
      factorId: e.factor.id,
      secret: e.secret,
      qrSvg: e.qrSvg,
      ...(error ? { error } : {}),
      cancel: { action: paths(l.interaction.id).cancel, label: 'Cancel' },
    }),
  );
}

export function postEnrolTotp(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    const { l, state } = await loadEnrol(ctx, req, 'totp');
    return renderTotpSetup(reply, l, await ctx.factors.totp.startEnrolment(state.user), 200);
  };
}

export function postEnrolTotpConfirm(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    const { l, params, state } = await loadEnrol(ctx, req, 'totp');
    const pending = await ctx.factors.totp.pendingEnrolment(state.user);
    if (!pending || pending.factor.id !== params.get('factor'))
      throw invalidRequest('This set-up has expired. Start it again.');
    const check = await ctx.factors.totp.confirm(
      state.user,
      pending.factor.id,
      params.get('code') ?? '',
      req.ip,
    );
    if (check.outcome === 'throttled') {
      reply.header('retry-after', String(check.retryAfterSec));
      return renderTotpSetup(
        reply,
        l,
        pending,
        429,
        'Too many wrong codes. Wait a few minutes and try again.',
      );
    }
    if (check.outcome === 'wrong')
      return renderTotpSetup(
        reply,
        l,
        pending,
        401,
        'That code is not right. Check the time on your device and try again.',
      );
    await ctx.audit.record('totp_enrolled', {
      userId: state.user.id,
      ip: req.ip,
      detail: { via: 'sign-in', factor: pending.factor.id },
    });
    return afterEnrolment(ctx, req, reply, l, state, { otp: ctx.clock.now() });
  };
}

export function postEnrolPasskey(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    const { l, params, state, step } = await loadEnrol(ctx, req, 'passkey');
    try {
      await ctx.factors.passkeys.register(
        state.user,
        l.interaction.id,
        credentialField(req.body),
        params.get('name'),
      );
    } catch (err) {
      if (!(err instanceof PasskeyError)) throw err;
      return renderStep(ctx, reply, l, state, step, { status: 400, error: err.message });
    }
    // A new passkey proves nothing about this sign-in yet: the policy asks for it to be used if it must.
    return afterEnrolment(ctx, req, reply, l, state, {});
  };
}

export function postEnrolSkip(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    const { l, step } = await loadEnrol(ctx, req);
    if (!step.skippable) throw invalidRequest('This step cannot be skipped.');
    rememberSkip(ctx, reply, l);
    return reply.code(303).header('location', paths(l.interaction.id).show).send();
  };
}

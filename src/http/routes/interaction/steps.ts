/**
 * Where a sign-in stands and what comes next, for every interaction handler: who the person is
 * (no one yet, a first step done with no session yet, or the browser's session for a step-up),
 * what they did, and the policy's next step (auth/sign-in-policy.ts). Each factor's handler adds
 * what the person just did and calls `advance`, which records it and either shows the next step,
 * starts the session, asks for consent or answers the client (the account page: its page).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { lastAuthTime, nextStep, type Step } from '../../../auth/sign-in-policy.js';
import type { ServerContext } from '../../../context.js';
import { isDeviceRequest } from '../../../protocol/device.js';
import { OAuthError } from '../../../protocol/errors.js';
import type { AuthMethods, Session, User } from '../../../storage/types.js';
import { enrolPage, secondFactorPage } from '../../../ui/sign-in-pages.js';
import { needsConsent } from '../../authorize-flow.js';
import { sendAuthorizationError, sendHtml } from '../../respond.js';
import { type ActiveSession, secureCookies, startSession } from '../../session.js';
import { finishSignIn } from '../account/sign-in.js';
import { endDeviceSignIn } from '../device.js';
import { complete, expired, interactionSession, type Loaded, passkeyForm, paths } from './load.js';

/** Where the person stands: who, what they did, and the session when there is one. */
export interface SignInState {
  user: User;
  methods: AuthMethods;
  session?: Session;
}

/** The methods of a session (a session older than strong sign-in stands for a password). */
export const sessionMethods = (s: Session): AuthMethods => s.authMethods ?? { pwd: s.authTime };

/** The cookie that remembers "Not now" to the passkey suggestion, for this interaction only. */
const SKIP_COOKIE = 'latchkey_passkey_skip';

/** The person of the interaction, or undefined before a first step. */
export async function signInState(
  ctx: ServerContext,
  req: FastifyRequest,
  l: Loaded,
): Promise<SignInState | undefined> {
  const i = l.interaction;
  if (i.userId === null) return undefined;
  if (i.sessionHash !== null) {
    const s = await interactionSession(ctx, req, l);
    if (!s) throw expired();
    return { user: s.user, methods: sessionMethods(s.session), session: s.session };
  }
  const user = await ctx.storage.users.getById(i.userId);
  if (!user || user.disabled) throw expired();
  return { user, methods: i.authMethods ?? {} };
}

export function skipped(req: FastifyRequest, l: Loaded): boolean {
  return req.cookies[SKIP_COOKIE] === l.interaction.id;
}

export function rememberSkip(ctx: ServerContext, reply: FastifyReply, l: Loaded): void {
  reply.setCookie(SKIP_COOKIE, l.interaction.id, {
    path: `/interaction/${l.interaction.id}`,
    httpOnly: true,
    sameSite: 'lax',
    secure: secureCookies(ctx),
    maxAge: ctx.config.interactionTtlSec,
  });
}

/** The policy's next step for this person with these methods. */
export async function stepFor(
  ctx: ServerContext,
  l: Loaded,
  user: User,
  methods: AuthMethods,
  suggestionSkipped: boolean,
): Promise<Step> {
  return nextStep({
    mfa: l.client.mfa ?? ctx.config.mfa,
    acrValues: l.request.acrValues ?? [],
    methods,
    factors: await ctx.storage.factors.summary(user.id),
    enrolRequired: user.mfaEnrolRequired === true,
    passkeyEnrolment: ctx.config.passkeyEnrolment,
    suggestionSkipped,
    passkeysAvailable: ctx.factors.passkeys.available,
  });
}

/** OpenID Connect Unmet Authentication Requirements 1.0 §2: the client learns it could not be met. */
export async function sendUnmet(ctx: ServerContext, reply: FastifyReply, l: Loaded, reason: string) {
  await complete(ctx, l);
  if (isDeviceRequest(l.request)) return endDeviceSignIn(ctx, reply, l, reason);
  return sendAuthorizationError(
    ctx,
    reply,
    l.request,
    new OAuthError('unmet_authentication_requirements', reason),
  );
}

/**
 * Records the methods the person now has: on the session of a step-up (with the auth_time they
 * make, OIDC Core §2: the time of the latest authentication), else on the interaction until the
 * sign-in is done and the session starts.
 */
export async function recordMethods(
  ctx: ServerContext,
  l: Loaded,
  state: SignInState,
  methods: AuthMethods,
): Promise<void> {
  if (!state.session) return ctx.storage.interactions.setPartial(l.interaction.id, state.user.id, methods);
  const authTime = lastAuthTime(methods);
  await ctx.storage.sessions.setAuthMethods(state.session.idHash, methods, authTime);
  state.session.authMethods = methods;
  state.session.authTime = authTime;
}

/**
 * Records what the person just did and moves on. The sign-in is finished only when the policy
 * says `done`: then the session starts (or, for a step-up, the session learns the new methods),
 * and consent or the code follow. Until then nothing but the interaction knows the person.
 */
export async function advance(
  ctx: ServerContext,
  req: FastifyRequest,
  reply: FastifyReply,
  l: Loaded,
  state: SignInState,
  added: AuthMethods,
): Promise<FastifyReply> {
  const methods: AuthMethods = { ...state.methods, ...added };
  const step = await stepFor(ctx, l, state.user, methods, skipped(req, l));
  // A step-up's session learns what was added; a first sign-in's interaction keeps what was done
  // until the session starts with it.
  if (state.session ? Object.keys(added).length > 0 : step.step !== 'done')
    await recordMethods(ctx, l, state, methods);
  if (step.step === 'unmet') return sendUnmet(ctx, reply, l, step.reason);
  if (step.step !== 'done') return reply.code(303).header('location', paths(l.interaction.id).show).send();
  let signedIn: ActiveSession;
  if (state.session) {
    signedIn = { session: state.session, user: state.user };
  } else {
    signedIn = await startSession(ctx, reply, state.user, methods);
    await ctx.storage.interactions.setUser(
      l.interaction.id,
      state.user.id,
      signedIn.session.idHash,
      signedIn.session.authTime,
    );
  }
  if (state.user.mfaEnrolRequired === true) {
    const summary = await ctx.storage.factors.summary(state.user.id);
    if (summary.passkeys > 0 || summary.totp)
      await ctx.storage.users.setMfaEnrolRequired(state.user.id, false, ctx.clock.now());
  }
  if (await needsConsent(ctx, l.client, l.request, state.user.id))
    return reply.code(303).header('location', paths(l.interaction.id).show).send();
  await complete(ctx, l);
  return finishSignIn(ctx, req, reply, l.request, signedIn);
}

/** Renders a step that is a page of its own (second factor, enrolment). */
export async function renderStep(
  ctx: ServerContext,
  reply: FastifyReply,
  l: Loaded,
  state: SignInState,
  step: Extract<Step, { step: 'second' } | { step: 'enrol' }>,
  opts: { status?: number; error?: string } = {},
): Promise<FastifyReply> {
  const p = paths(l.interaction.id);
  const base = {
    csrf: l.interaction.csrf,
    clientName: l.client.name,
    username: state.user.username,
    cancelAction: p.cancel,
    ...(opts.error ? { error: opts.error } : {}),
  };
  if (step.step === 'second') {
    const summary = await ctx.storage.factors.summary(state.user.id);
    const phr = step.level === 'phr';
    const passkey = summary.passkeys > 0 ? await passkeyForm(ctx, l, 'second', state.user) : undefined;
    if (phr && !passkey) return sendUnmet(ctx, reply, l, 'A passkey is required and none can be used here.');
    if (passkey) reply.header('x-latchkey-script-nonce', passkey.nonce);
    return sendHtml(
      reply,
      opts.status ?? 200,
      secondFactorPage({
        ...base,
        passkeyOnly: phr,
        ...(passkey ? { passkey } : {}),
        ...(!phr && summary.totp ? { totpAction: p.otp } : {}),
        ...(!phr && summary.recoveryCodesLeft > 0 ? { recoveryAction: p.recovery } : {}),
      }),
    );
  }
  const passkey = step.kinds.includes('passkey')
    ? await passkeyForm(ctx, l, 'register', state.user)
    : undefined;
  if (passkey) reply.header('x-latchkey-script-nonce', passkey.nonce);
  return sendHtml(
    reply,
    opts.status ?? 200,
    enrolPage({
      ...base,
      kinds: step.kinds,
      skippable: step.skippable,
      totpAction: p.enrolTotp,
      skipAction: p.skip,
      ...(passkey ? { passkey } : {}),
    }),
  );
}

/** Re-renders the current step with an error (a wrong code, a failed passkey). */
export async function renderCurrentStep(
  ctx: ServerContext,
  req: FastifyRequest,
  reply: FastifyReply,
  l: Loaded,
  state: SignInState,
  status: number,
  error: string,
): Promise<FastifyReply> {
  const step = await stepFor(ctx, l, state.user, state.methods, skipped(req, l));
  if (step.step === 'second' || step.step === 'enrol')
    return renderStep(ctx, reply, l, state, step, { status, error });
  return reply.code(303).header('location', paths(l.interaction.id).show).send();
}

/**
 * POST /interaction/:id/passkey: a passkey assertion (the browser's WebAuthn JSON in
 * `credential`). Before a first step it is the sign-in itself (a discoverable credential: no
 * username; user verification required); after one it is a second factor of the same person.
 * Anything wrong with it re-renders the page with the reason (400), and nothing is recorded.
 */
import type { RouteHandlerMethod } from 'fastify';
import { credentialField, PasskeyError, passkeyMethod } from '../../../auth/passkeys.js';
import type { ServerContext } from '../../../context.js';
import type { AuthMethods } from '../../../storage/types.js';
import { checkPost, load, renderLogin } from './load.js';
import { advance, renderCurrentStep, signInState, skipped, stepFor } from './steps.js';

export function postPasskey(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    const l = await load(ctx, req);
    checkPost(req, l);
    const state = await signInState(ctx, req, l);
    const step = state ? await stepFor(ctx, l, state.user, state.methods, skipped(req, l)) : undefined;
    const phr = step?.step === 'second' && step.level === 'phr';
    try {
      const signIn = await ctx.factors.passkeys.signIn(l.interaction.id, credentialField(req.body), {
        // Passwordless, or a phishing-resistant step: the authenticator must verify the person.
        requireUserVerification: !state || phr,
        ...(state ? { userId: state.user.id } : {}),
        ip: req.ip,
        clientId: l.client.clientId,
      });
      const now = ctx.clock.now();
      const added: AuthMethods = { [passkeyMethod(signIn.passkey)]: now };
      if (signIn.userVerified) added.uv = now;
      await ctx.audit.record(state ? 'second_factor_success' : 'login_success', {
        clientId: l.client.clientId,
        userId: signIn.user.id,
        ip: req.ip,
        detail: { via: 'passkey', passkey: signIn.passkey.id, user_verified: signIn.userVerified },
      });
      return advance(ctx, req, reply, l, state ?? { user: signIn.user, methods: {} }, added);
    } catch (err) {
      if (!(err instanceof PasskeyError)) throw err;
      if (!state) return renderLogin(ctx, reply, l, 400, { error: err.message });
      return renderCurrentStep(ctx, req, reply, l, state, 400, err.message);
    }
  };
}

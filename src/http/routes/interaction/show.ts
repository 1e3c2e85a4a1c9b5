/**
 * GET /interaction/:id: the page for where the sign-in stands — the sign-in page before a first
 * step, then the policy's next step (a second factor, an enrolment), then consent when the
 * application needs it; an unmet requirement goes back to the client.
 */
import type { RouteHandlerMethod } from 'fastify';
import type { ServerContext } from '../../../context.js';
import { isDeviceRequest } from '../../../protocol/device.js';
import { needsConsent } from '../../authorize-flow.js';
import { finishSignIn } from '../account/sign-in.js';
import { renderDeviceConsent } from '../device.js';
import { complete, load, renderConsent, renderLogin } from './load.js';
import { advance, renderStep, sendUnmet, signInState, skipped, stepFor } from './steps.js';

export function showInteraction(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    const l = await load(ctx, req);
    const state = await signInState(ctx, req, l);
    if (!state) return renderLogin(ctx, reply, l, 200);
    const step = await stepFor(ctx, l, state.user, state.methods, skipped(req, l));
    if (step.step === 'first') return renderLogin(ctx, reply, l, 200);
    if (step.step === 'unmet') return sendUnmet(ctx, reply, l, step.reason);
    if (step.step !== 'done') return renderStep(ctx, reply, l, state, step);
    // Done: advance started the session; if the policy changed meanwhile, it starts now.
    if (!state.session) return advance(ctx, req, reply, l, state, {});
    // Consent, or (a step-up just finished) the code.
    if (!(await needsConsent(ctx, l.client, l.request, state.user.id))) {
      await complete(ctx, l);
      return finishSignIn(ctx, req, reply, l.request, { session: state.session, user: state.user });
    }
    // A device's approval (RFC 8628 §5.4): the confirmation page, with the user code.
    if (isDeviceRequest(l.request)) return renderDeviceConsent(ctx, reply, l, state.user.username);
    return renderConsent(ctx, reply, l, state.user.username);
  };
}

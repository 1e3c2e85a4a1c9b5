/**
 * POST /interaction/:id/consent: the user's Allow or Deny for the signed-in interaction. Deny
 * answers the client with access_denied; Allow saves the consent and answers with a code. Both
 * complete the interaction first, so that of two racing posts only one takes effect. A device's
 * approval (RFC 8628) is decided by decideDevice (routes/device.ts) instead.
 */
import type { RouteHandlerMethod } from 'fastify';
import type { ServerContext } from '../../../context.js';
import { isDeviceRequest } from '../../../protocol/device.js';
import { invalidRequest, OAuthError } from '../../../protocol/errors.js';
import { consentOf } from '../../authorize-flow.js';
import { sendAuthorizationError } from '../../respond.js';
import { finishSignIn } from '../account/sign-in.js';
import { decideDevice } from '../device.js';
import { checkPost, complete, expired, interactionSession, load } from './load.js';
import { sessionMethods, skipped, stepFor } from './steps.js';

export function postConsent(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    const l = await load(ctx, req);
    const params = checkPost(req, l);
    const s = await interactionSession(ctx, req, l);
    if (!s) throw expired();
    // Consent counts only once the sign-in is finished (a step-up still waiting is not).
    const step = await stepFor(ctx, l, s.user, sessionMethods(s.session), skipped(req, l));
    if (step.step !== 'done')
      return reply.code(303).header('location', `/interaction/${l.interaction.id}`).send();
    const decision = params.get('decision');
    if (decision !== 'allow' && decision !== 'deny') throw invalidRequest('Choose Allow or Deny.');
    if (isDeviceRequest(l.request)) {
      // Completed first, as below: of a racing Approve and Deny only one decides.
      await complete(ctx, l);
      return decideDevice(ctx, req, reply, l, s, decision);
    }
    if (decision === 'deny') {
      await complete(ctx, l);
      await ctx.audit.record('consent_denied', {
        clientId: l.client.clientId,
        userId: s.user.id,
        ip: req.ip,
      });
      return sendAuthorizationError(
        ctx,
        reply,
        l.request,
        new OAuthError('access_denied', 'The user denied the request.'),
      );
    }
    // Completed first: a racing Deny that won leaves no consent behind.
    await complete(ctx, l);
    // What was consented to before stays (another API's scopes, asked another time).
    const prior = await ctx.storage.consents.get(s.user.id, l.client.clientId);
    const items = new Set([...(prior?.scope.split(' ').filter(Boolean) ?? []), ...consentOf(ctx, l.request)]);
    await ctx.storage.consents.save({
      userId: s.user.id,
      clientId: l.client.clientId,
      scope: [...items].join(' '),
      createdAt: ctx.clock.now(),
    });
    await ctx.audit.record('consent_granted', {
      clientId: l.client.clientId,
      userId: s.user.id,
      ip: req.ip,
      detail: {
        scope: l.request.scopes.join(' '),
        ...(l.request.apis ? { resources: l.request.apis.map((a) => a.identifier) } : {}),
      },
    });
    return finishSignIn(ctx, req, reply, l.request, s);
  };
}

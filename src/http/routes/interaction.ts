/**
 * Sign-in and consent pages for a pending authorization request. A POST must carry the
 * page's CSRF token and come from the browser that started the request (a SameSite=Lax
 * cookie); each interaction completes once, so a replayed form post gets an error page.
 * This file only registers the routes; the handlers are in interaction/ (show.ts; login.ts the
 * password, passkey.ts passkeys, codes.ts one-time and recovery codes, enrol.ts enrolment;
 * consent.ts, cancel.ts), the sign-in's steps in interaction/steps.ts.
 */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../../context.js';
import { postCancel } from './interaction/cancel.js';
import { postContinue, postOtp, postRecovery } from './interaction/codes.js';
import { postConsent } from './interaction/consent.js';
import { postEnrolPasskey, postEnrolSkip, postEnrolTotp, postEnrolTotpConfirm } from './interaction/enrol.js';
import { postLogin } from './interaction/login.js';
import { postPasskey } from './interaction/passkey.js';
import { showInteraction } from './interaction/show.js';

export function interactionRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const config = { html: true };
  app.get('/interaction/:id', { config }, showInteraction(ctx));
  app.post('/interaction/:id/login', { config }, postLogin(ctx));
  app.post('/interaction/:id/passkey', { config }, postPasskey(ctx));
  app.post('/interaction/:id/otp', { config }, postOtp(ctx));
  app.post('/interaction/:id/recovery', { config }, postRecovery(ctx));
  app.post('/interaction/:id/continue', { config }, postContinue(ctx));
  app.post('/interaction/:id/enrol/totp', { config }, postEnrolTotp(ctx));
  app.post('/interaction/:id/enrol/totp/confirm', { config }, postEnrolTotpConfirm(ctx));
  app.post('/interaction/:id/enrol/passkey', { config }, postEnrolPasskey(ctx));
  app.post('/interaction/:id/enrol/skip', { config }, postEnrolSkip(ctx));
  app.post('/interaction/:id/consent', { config }, postConsent(ctx));
  app.post('/interaction/:id/cancel', { config }, postCancel(ctx));
}

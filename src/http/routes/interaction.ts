/**
 * Sign-in and consent pages for a pending authorization request. A POST must carry the
 * page's CSRF token and come from the browser that started the request (a SameSite=Lax
 * cookie); each interaction completes once, so a replayed form post gets an error page.
 * This file only registers the routes; the handlers are in interaction/ (show.ts, login.ts,
 * consent.ts, cancel.ts), what they share in interaction/load.ts.
 */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../../context.js';
import { postCancel } from './interaction/cancel.js';
import { postConsent } from './interaction/consent.js';
import { postLogin } from './interaction/login.js';
import { showInteraction } from './interaction/show.js';

export function interactionRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const config = { html: true };
  app.get('/interaction/:id', { config }, showInteraction(ctx));
  app.post('/interaction/:id/login', { config }, postLogin(ctx));
  app.post('/interaction/:id/consent', { config }, postConsent(ctx));
  app.post('/interaction/:id/cancel', { config }, postCancel(ctx));
}

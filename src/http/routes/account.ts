/**
 * The account page (/account): signed-in people manage their passkeys, authenticator apps,
 * recovery codes, password, sessions and the applications with access to their account. Every
 * page needs the browser's session (else the sign-in, the same steps as an application's:
 * account/sign-in.ts), every POST the session's CSRF token, and every change a sign-in within
 * the last five minutes (account/page.ts); every change is audited. This file only registers the
 * routes; the handlers are in account/ (home.ts the page, passkeys.ts, totp.ts, recovery.ts,
 * password.ts, sessions.ts, applications.ts), the pages in ui/account-pages.tsx.
 */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../../context.js';
import { postApplicationRevoke } from './account/applications.js';
import { getAccount } from './account/home.js';
import { getNewPasskey, postPasskey, postPasskeyRemove, postPasskeyRename } from './account/passkeys.js';
import { postPassword } from './account/password.js';
import { postRecoveryCodes } from './account/recovery.js';
import { postOtherSessionsEnd, postSessionEnd, postSignOut } from './account/sessions.js';
import {
  getTotpSetup,
  postTotpCancel,
  postTotpConfirm,
  postTotpRemove,
  postTotpStart,
} from './account/totp.js';

export function accountRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const config = { html: true };
  app.get('/account', { config }, getAccount(ctx));

  app.get('/account/passkeys/new', { config }, getNewPasskey(ctx));
  app.post('/account/passkeys', { config }, postPasskey(ctx));
  app.post('/account/passkeys/:id/rename', { config }, postPasskeyRename(ctx));
  app.post('/account/passkeys/:id/remove', { config }, postPasskeyRemove(ctx));

  app.post('/account/totp', { config }, postTotpStart(ctx));
  app.get('/account/totp', { config }, getTotpSetup(ctx));
  app.post('/account/totp/confirm', { config }, postTotpConfirm(ctx));
  app.post('/account/totp/cancel', { config }, postTotpCancel(ctx));
  app.post('/account/totp/:id/remove', { config }, postTotpRemove(ctx));

  app.post('/account/recovery-codes', { config }, postRecoveryCodes(ctx));
  app.post('/account/password', { config }, postPassword(ctx));

  app.post('/account/sessions/:id/end', { config }, postSessionEnd(ctx));
  app.post('/account/sessions/end-others', { config }, postOtherSessionsEnd(ctx));
  app.post('/account/sign-out', { config }, postSignOut(ctx));

  app.post('/account/applications/revoke', { config }, postApplicationRevoke(ctx));
}

/**
 * The admin console (HTML): sign-in for administrators, applications, APIs, users, audit log.
 * Every page needs a signed-in admin (the browser session with `user.isAdmin`); every POST
 * carries the session-bound CSRF token; bad input re-renders the form with a 400 and a message.
 * This file only registers the routes: the handlers live in one file per page (sign-in.ts,
 * home.ts, applications.ts, apis.ts, users.ts, audit.ts), the admin/CSRF wrapper `page` in page.ts.
 */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../../../context.js';
import { getApi, getApis, getDeleteApi, getNewApi, postApi, postApiSettings, postDeleteApi } from './apis.js';
import {
  getApplication,
  getApplications,
  getDeleteApplication,
  getNewApplication,
  postApplication,
  postApplicationSettings,
  postDeleteApplication,
  postRotateSecret,
} from './applications.js';
import { getAudit } from './audit.js';
import { getHome } from './home.js';
import { getSignIn, postSignIn, postSignOut } from './sign-in.js';
import {
  getNewUser,
  getUser,
  getUsers,
  postUser,
  postUserAdmin,
  postUserDisabled,
  postUserFactorRemove,
  postUserLogout,
  postUserPassword,
  postUserRequireEnrolment,
} from './users.js';

export function adminConsoleRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const config = { html: true };

  // Sign-in and sign-out.
  app.get('/admin/login', { config }, getSignIn(ctx));
  app.post('/admin/login', { config }, postSignIn(ctx));
  app.post('/admin/logout', { config }, postSignOut(ctx));
  app.get('/admin', { config }, getHome(ctx));

  // Applications.
  app.get('/admin/applications', { config }, getApplications(ctx));
  app.get('/admin/applications/new', { config }, getNewApplication(ctx));
  app.post('/admin/applications', { config }, postApplication(ctx));
  app.get('/admin/applications/:id', { config }, getApplication(ctx));
  app.post('/admin/applications/:id', { config }, postApplicationSettings(ctx));
  app.post('/admin/applications/:id/rotate-secret', { config }, postRotateSecret(ctx));
  app.get('/admin/applications/:id/delete', { config }, getDeleteApplication(ctx));
  app.post('/admin/applications/:id/delete', { config }, postDeleteApplication(ctx));

  // APIs (resource servers); the identifier is URL-encoded in the path.
  app.get('/admin/apis', { config }, getApis(ctx));
  app.get('/admin/apis/new', { config }, getNewApi(ctx));
  app.post('/admin/apis', { config }, postApi(ctx));
  app.get('/admin/apis/:identifier', { config }, getApi(ctx));
  app.post('/admin/apis/:identifier', { config }, postApiSettings(ctx));
  app.get('/admin/apis/:identifier/delete', { config }, getDeleteApi(ctx));
  app.post('/admin/apis/:identifier/delete', { config }, postDeleteApi(ctx));

  // Users.
  app.get('/admin/users', { config }, getUsers(ctx));
  app.get('/admin/users/new', { config }, getNewUser(ctx));
  app.post('/admin/users', { config }, postUser(ctx));
  app.get('/admin/users/:id', { config }, getUser(ctx));
  app.post('/admin/users/:id/disable', { config }, postUserDisabled(ctx, 'disable'));
  app.post('/admin/users/:id/enable', { config }, postUserDisabled(ctx, 'enable'));
  app.post('/admin/users/:id/grant-admin', { config }, postUserAdmin(ctx, 'grant-admin'));
  app.post('/admin/users/:id/revoke-admin', { config }, postUserAdmin(ctx, 'revoke-admin'));
  app.post('/admin/users/:id/password', { config }, postUserPassword(ctx));
  app.post('/admin/users/:id/logout', { config }, postUserLogout(ctx));
  app.post('/admin/users/:id/require-enrolment', { config }, postUserRequireEnrolment(ctx));
  app.post('/admin/users/:id/factors/:factor_id/remove', { config }, postUserFactorRemove(ctx));

  // Audit log.
  app.get('/admin/audit', { config }, getAudit(ctx));
}

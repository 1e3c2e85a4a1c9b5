/**
 * The admin API (JSON, for scripts) under /admin/api. Authenticated by
 * `Authorization: Bearer <LATCHKEY_ADMIN_TOKEN>` (when the setting is unset the token door is
 * closed and the API answers 404 to anyone but a signed-in admin), or by an admin's console
 * session plus the `X-Latchkey-CSRF` header (auth.ts). Same JSON shapes as the CLI's `--json`. An
 * application's settings are read by parseClientSettings (the CLI's and the console's too), the
 * other fields are type-checked in json.ts; the values are validated by ClientAdmin / UserAdmin.
 * This file only registers the routes; the handlers are in clients.ts, apis.ts, users.ts and
 * audit.ts.
 */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../../../context.js';
import { createApi, deleteApi, getApi, listApis, updateApi } from './apis.js';
import { listAudit } from './audit.js';
import {
  createClient,
  deleteClient,
  getClient,
  listClients,
  rotateClientSecret,
  updateClient,
} from './clients.js';
import {
  createUser,
  getUser,
  listUserFactors,
  listUsers,
  logoutUser,
  removeUserFactor,
  requireMfaEnrolment,
  setUserAdmin,
  setUserDisabled,
  setUserPassword,
} from './users.js';

export function adminApiRoutes(app: FastifyInstance, ctx: ServerContext): void {
  // Applications.
  app.get('/admin/api/clients', listClients(ctx));
  app.post('/admin/api/clients', createClient(ctx));
  app.get('/admin/api/clients/:id', getClient(ctx));
  app.patch('/admin/api/clients/:id', updateClient(ctx));
  app.delete('/admin/api/clients/:id', deleteClient(ctx));
  app.post('/admin/api/clients/:id/rotate-secret', rotateClientSecret(ctx));

  // APIs (resource servers); the identifier is URL-encoded in the path.
  app.get('/admin/api/apis', listApis(ctx));
  app.post('/admin/api/apis', createApi(ctx));
  app.get('/admin/api/apis/:id', getApi(ctx));
  app.patch('/admin/api/apis/:id', updateApi(ctx));
  app.delete('/admin/api/apis/:id', deleteApi(ctx));

  // Users.
  app.get('/admin/api/users', listUsers(ctx));
  app.post('/admin/api/users', createUser(ctx));
  app.get('/admin/api/users/:id', getUser(ctx));
  app.post('/admin/api/users/:id/disable', setUserDisabled(ctx, 'disable'));
  app.post('/admin/api/users/:id/enable', setUserDisabled(ctx, 'enable'));
  app.post('/admin/api/users/:id/grant-admin', setUserAdmin(ctx, 'grant-admin'));
  app.post('/admin/api/users/:id/revoke-admin', setUserAdmin(ctx, 'revoke-admin'));
  app.post('/admin/api/users/:id/password', setUserPassword(ctx));
  app.post('/admin/api/users/:id/logout', logoutUser(ctx));
  app.get('/admin/api/users/:id/factors', listUserFactors(ctx));
  app.delete('/admin/api/users/:id/factors/:factor_id', removeUserFactor(ctx));
  app.post('/admin/api/users/:id/require-enrolment', requireMfaEnrolment(ctx));

  // Audit log.
  app.get('/admin/api/audit', listAudit(ctx));
}

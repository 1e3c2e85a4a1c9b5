/**
 * The admin API (JSON, for scripts) under /admin/api. Authenticated by
 * `Authorization: Bearer <LATCHKEY_ADMIN_TOKEN>` (when the setting is unset the token door is
 * closed and the API answers 404 to anyone but a signed-in admin), or by an admin's console
 * session plus the `X-Latchkey-CSRF` header. Same JSON shapes as the CLI's `--json`. An
 * application's settings are read by parseClientSettings (the CLI's and the console's too), the
 * other fields are type-checked here; the values are validated by ClientAdmin / UserAdmin.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../context.js';
import { OAuthError } from '../protocol/errors.js';
import { assertWellFormed, readParams } from '../protocol/params.js';
import { DuplicateError } from '../storage/types.js';
import { type Actor, AdminActions } from './actions.js';
import { AUDIT_SINCE_MESSAGE, auditSince, describeAuditEvent } from './audit.js';
import { CLIENT_SETTING_FIELDS, type ParsedSettings, parseClientSettings } from './client-settings.js';
import { ClientInputError, describeClient } from './clients.js';
import { bearerMatches, CSRF_HEADER, consoleAuth, csrfMatches } from './console/auth.js';
import { describeUser, UserInputError } from './users.js';

type Json = Record<string, unknown>;

const bad = (description: string) => new OAuthError('invalid_request', description);
const notFound = (what = 'There is nothing here.') => new OAuthError('not_found', what, { status: 404 });

/** Reads a JSON object body, refusing other content types and fields it does not know. */
function jsonBody(req: FastifyRequest, allowed: readonly string[]): Json {
  const type = String(req.headers['content-type'] ?? '');
  if (req.body === undefined && type === '') return {};
  if (!/^application\/json\s*(;|$)/i.test(type)) throw bad('The admin API takes application/json bodies.');
  const body = req.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw bad('The request body must be a JSON object.');
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key))
      throw bad(`Unknown field: ${key.slice(0, 40)}. Known fields: ${allowed.join(', ') || 'none'}.`);
  }
  return body as Json;
}

function str(b: Json, key: string, required: true): string;
function str(b: Json, key: string, required?: false): string | undefined;
function str(b: Json, key: string, required = false): string | undefined {
  const v = b[key];
  if (v === undefined) {
    if (required) throw bad(`${key} is required.`);
    return undefined;
  }
  if (typeof v !== 'string') throw bad(`${key} must be a string.`);
  if (v.length > 4096) throw bad(`${key} is too long.`);
  return v;
}

function nullableStr(b: Json, key: string): string | null | undefined {
  return b[key] === null ? null : str(b, key);
}

function bool(b: Json, key: string): boolean | undefined {
  const v = b[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw bad(`${key} must be true or false.`);
  return v;
}

/**
 * An application's settings from a JSON body: the fields as they are (times: seconds as numbers,
 * or duration strings such as "15m"), `client_name` standing in for a missing `name`.
 */
function settingsInput(b: Json): Json {
  const { client_name: clientName, ...rest } = b;
  return rest['name'] === undefined && clientName !== undefined ? { ...rest, name: clientName } : rest;
}

/** The settings, or a 400 with the first error's message. */
function settingsOrBad<T>(parsed: ParsedSettings<T>): T {
  if (!parsed.ok) throw bad(parsed.errors[0]!.message);
  return parsed.value;
}

function send(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').header('pragma', 'no-cache').send(body);
}

/** Input errors from the admin layer become 400 (409 for a taken name), never a 500. */
async function mapped<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof ClientInputError || err instanceof UserInputError) throw bad(err.message);
    if (err instanceof DuplicateError) throw new OAuthError('invalid_request', err.message, { status: 409 });
    throw err;
  }
}

export function adminApiRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const actions = new AdminActions(ctx);

  async function authenticate(req: FastifyRequest): Promise<Actor> {
    const token = ctx.config.adminToken;
    const header = req.headers.authorization;
    if (header !== undefined) {
      if (token === undefined) throw notFound();
      if (!bearerMatches(header, token)) {
        throw new OAuthError('invalid_token', 'The admin token is missing or wrong.', {
          status: 401,
          headers: { 'www-authenticate': 'Bearer realm="latchkey-admin", error="invalid_token"' },
        });
      }
      return { via: 'api', ip: req.ip };
    }
    const auth = await consoleAuth(ctx, req);
    if (auth.status === 'admin') {
      if (!csrfMatches(req.headers[CSRF_HEADER], auth.csrf)) {
        throw new OAuthError(
          'access_denied',
          `With a console session, the admin API needs the console's CSRF token in the ${CSRF_HEADER} header.`,
          { status: 403 },
        );
      }
      return { via: 'api', ip: req.ip, admin: auth.signedIn.user.username };
    }
    if (auth.status === 'not-admin')
      throw new OAuthError('access_denied', 'This account is not an administrator.', { status: 403 });
    if (token === undefined) throw notFound();
    throw new OAuthError('invalid_token', 'The admin API needs Authorization: Bearer <admin token>.', {
      status: 401,
      headers: { 'www-authenticate': 'Bearer realm="latchkey-admin"' },
    });
  }

  const idOf = (req: FastifyRequest): string => (req.params as { id: string }).id;

  // Applications.
  app.get('/admin/api/clients', async (req, reply) => {
    await authenticate(req);
    const clients = await ctx.storage.clients.list();
    return send(
      reply,
      200,
      clients.map((c) => describeClient(c, ctx.config)),
    );
  });

  app.post('/admin/api/clients', async (req, reply) => {
    const actor = await authenticate(req);
    const b = jsonBody(req, [...CLIENT_SETTING_FIELDS.create, 'client_name']);
    const input = settingsOrBad(parseClientSettings(settingsInput(b), { mode: 'create' }));
    const { client, secret } = await mapped(() => actions.createClient(actor, input));
    return send(reply, 201, describeClient(client, ctx.config, secret));
  });

  app.get('/admin/api/clients/:id', async (req, reply) => {
    await authenticate(req);
    const client = await ctx.storage.clients.get(idOf(req));
    if (!client) throw notFound('No application has this client_id.');
    return send(reply, 200, describeClient(client, ctx.config));
  });

  app.patch('/admin/api/clients/:id', async (req, reply) => {
    const actor = await authenticate(req);
    const b = jsonBody(req, [...CLIENT_SETTING_FIELDS.update, 'client_name']);
    // Times: seconds or a duration string; null goes back to the server default.
    const patch = settingsOrBad(parseClientSettings(settingsInput(b), { mode: 'update' }));
    if (Object.keys(patch).length === 0) throw bad('Give at least one setting to change.');
    const client = await mapped(() => actions.updateClient(actor, idOf(req), patch));
    if (!client) throw notFound('No application has this client_id.');
    return send(reply, 200, describeClient(client, ctx.config));
  });

  app.delete('/admin/api/clients/:id', async (req, reply) => {
    const actor = await authenticate(req);
    if (!(await actions.deleteClient(actor, idOf(req)))) throw notFound('No application has this client_id.');
    return send(reply, 200, { client_id: idOf(req), deleted: true });
  });

  app.post('/admin/api/clients/:id/rotate-secret', async (req, reply) => {
    const actor = await authenticate(req);
    jsonBody(req, []);
    const r = await mapped(() => actions.rotateSecret(actor, idOf(req)));
    if (!r) throw notFound('No application has this client_id.');
    return send(reply, 200, describeClient(r.client, ctx.config, r.secret));
  });

  // Users.
  app.get('/admin/api/users', async (req, reply) => {
    await authenticate(req);
    const users = await ctx.storage.users.list();
    return send(reply, 200, users.map(describeUser));
  });

  app.post('/admin/api/users', async (req, reply) => {
    const actor = await authenticate(req);
    const b = jsonBody(req, ['username', 'email', 'name', 'password', 'is_admin']);
    const username = str(b, 'username', true);
    const password = str(b, 'password', true);
    const email = nullableStr(b, 'email');
    const name = nullableStr(b, 'name');
    const isAdmin = bool(b, 'is_admin');
    const user = await mapped(() =>
      actions.createUser(actor, {
        username,
        password,
        email: email ?? null,
        name: name ?? null,
        ...(isAdmin ? { isAdmin } : {}),
      }),
    );
    return send(reply, 201, describeUser(user));
  });

  app.get('/admin/api/users/:id', async (req, reply) => {
    await authenticate(req);
    const user = await ctx.storage.users.getById(idOf(req));
    if (!user) throw notFound('No user has this id.');
    return send(reply, 200, describeUser(user));
  });

  for (const action of ['disable', 'enable'] as const) {
    app.post(`/admin/api/users/:id/${action}`, async (req, reply) => {
      const actor = await authenticate(req);
      jsonBody(req, []);
      const r = await mapped(() => actions.setUserDisabled(actor, idOf(req), action === 'disable'));
      if (!r) throw notFound('No user has this id.');
      return send(reply, 200, {
        ...describeUser(r.user),
        sessions_ended: r.sessionsEnded,
        grants_revoked: r.grantsRevoked,
      });
    });
  }

  for (const action of ['grant-admin', 'revoke-admin'] as const) {
    app.post(`/admin/api/users/:id/${action}`, async (req, reply) => {
      const actor = await authenticate(req);
      jsonBody(req, []);
      const user = await mapped(() => actions.setUserAdmin(actor, idOf(req), action === 'grant-admin'));
      if (!user) throw notFound('No user has this id.');
      return send(reply, 200, describeUser(user));
    });
  }

  app.post('/admin/api/users/:id/password', async (req, reply) => {
    const actor = await authenticate(req);
    const b = jsonBody(req, ['password']);
    const password = str(b, 'password', true);
    const user = await mapped(() => actions.setUserPassword(actor, idOf(req), password));
    if (!user) throw notFound('No user has this id.');
    return send(reply, 200, describeUser(user));
  });

  // Audit log.
  app.get('/admin/api/audit', async (req, reply) => {
    await authenticate(req);
    const q = readParams(req.query);
    assertWellFormed(q);
    const type = q.get('type') || undefined;
    if (type !== undefined && !/^[a-z_]{1,64}$/.test(type))
      throw bad('type must be an audit event type such as login_failure.');
    const userId = q.get('user_id') || undefined;
    const clientId = q.get('client_id') || undefined;
    if ((userId?.length ?? 0) > 256 || (clientId?.length ?? 0) > 256)
      throw bad('user_id or client_id is too long.');
    const rawLimit = q.get('limit');
    if (
      rawLimit !== undefined &&
      (!/^\d{1,4}$/.test(rawLimit) || Number(rawLimit) < 1 || Number(rawLimit) > 1000)
    )
      throw bad('limit must be a whole number from 1 to 1000.');
    // since: events of the last DURATION (such as 1h); the store takes the ms-epoch start.
    const rawSince = q.get('since') || undefined;
    const since = rawSince === undefined ? undefined : auditSince(rawSince, ctx.clock.now());
    if (rawSince !== undefined && since === undefined) throw bad(`since ${AUDIT_SINCE_MESSAGE}`);
    const events = await ctx.audit.list({
      type,
      userId,
      clientId,
      limit: rawLimit === undefined ? 100 : Number(rawLimit),
      ...(since !== undefined ? { since } : {}),
    });
    return send(reply, 200, events.map(describeAuditEvent));
  });
}

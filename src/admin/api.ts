/**
 * The admin API (JSON, for scripts) under /admin/api. Authenticated by
 * `Authorization: Bearer <LATCHKEY_ADMIN_TOKEN>` (when the setting is unset the token door is
 * closed and the API answers 404 to anyone but a signed-in admin), or by an admin's console
 * session plus the `X-Latchkey-CSRF` header. Same JSON shapes as the CLI's `--json`; every
 * field is type-checked here and the values are validated by ClientAdmin / UserAdmin.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../context.js';
import { OAuthError } from '../protocol/errors.js';
import { assertWellFormed, readParams } from '../protocol/params.js';
import type { ClientType, ConsentSetting, TokenEndpointAuthMethod } from '../storage/types.js';
import { DuplicateError } from '../storage/types.js';
import { type Actor, AdminActions } from './actions.js';
import { describeAuditEvent } from './audit.js';
import { CLIENT_TYPES, ClientInputError, type ClientSettingsPatch, describeClient } from './clients.js';
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

function strList(b: Json, key: string): string[] | undefined {
  const v = b[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((x): x is string => typeof x === 'string' && x.length <= 2048))
    throw bad(`${key} must be an array of strings.`);
  return v;
}

function bool(b: Json, key: string): boolean | undefined {
  const v = b[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw bad(`${key} must be true or false.`);
  return v;
}

function seconds(b: Json, key: string, nullable: boolean): number | null | undefined {
  const v = b[key];
  if (v === undefined) return undefined;
  if (v === null && nullable) return null;
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw bad(`${key} must be a whole number of seconds${nullable ? ' or null (server default)' : ''}.`);
  return v;
}

function oneOf<T extends string>(b: Json, key: string, values: readonly T[]): T | undefined {
  const v = b[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v))
    throw bad(`${key} must be one of ${values.join(', ')}.`);
  return v as T;
}

const CONSENT: readonly ConsentSetting[] = ['none', 'required'];
const AUTH_METHODS: readonly TokenEndpointAuthMethod[] = [
  'none',
  'client_secret_basic',
  'client_secret_post',
];

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
    const b = jsonBody(req, [
      'name',
      'client_name',
      'type',
      'redirect_uris',
      'post_logout_redirect_uris',
      'consent',
      'token_endpoint_auth_method',
      'require_pkce',
      'refresh_tokens',
      'refresh_grace',
      'allowed_scopes',
    ]);
    const name = str(b, 'name') ?? str(b, 'client_name');
    if (name === undefined) throw bad('name is required.');
    const type = oneOf<ClientType>(b, 'type', CLIENT_TYPES);
    if (type === undefined) throw bad(`type is required: one of ${CLIENT_TYPES.join(', ')}.`);
    const redirectUris = strList(b, 'redirect_uris');
    const postLogout = strList(b, 'post_logout_redirect_uris');
    const consent = oneOf(b, 'consent', CONSENT);
    const method = oneOf(b, 'token_endpoint_auth_method', AUTH_METHODS);
    const requirePkce = bool(b, 'require_pkce');
    const refreshTokens = bool(b, 'refresh_tokens');
    const allowedScopes = strList(b, 'allowed_scopes');
    const refreshGrace = seconds(b, 'refresh_grace', true);
    const { client, secret } = await mapped(() =>
      actions.createClient(actor, {
        name,
        type,
        ...(redirectUris ? { redirectUris } : {}),
        ...(postLogout ? { postLogoutRedirectUris: postLogout } : {}),
        ...(consent ? { consent } : {}),
        ...(method ? { tokenEndpointAuthMethod: method } : {}),
        ...(requirePkce !== undefined ? { requirePkce } : {}),
        ...(refreshTokens !== undefined ? { refreshTokens } : {}),
        ...(allowedScopes ? { allowedScopes } : {}),
        ...(refreshGrace !== undefined ? { refreshGrace } : {}),
      }),
    );
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
    const b = jsonBody(req, [
      'name',
      'client_name',
      'redirect_uris',
      'post_logout_redirect_uris',
      'consent',
      'access_token_ttl',
      'refresh_token_ttl',
      'refresh_idle_ttl',
      'refresh_grace',
      'refresh_tokens',
      'allowed_scopes',
    ]);
    const patch: ClientSettingsPatch = {};
    const name = str(b, 'name') ?? str(b, 'client_name');
    if (name !== undefined) patch.name = name;
    const redirectUris = strList(b, 'redirect_uris');
    if (redirectUris) patch.redirectUris = redirectUris;
    const postLogout = strList(b, 'post_logout_redirect_uris');
    if (postLogout) patch.postLogoutRedirectUris = postLogout;
    const consent = oneOf(b, 'consent', CONSENT);
    if (consent) patch.consent = consent;
    const at = seconds(b, 'access_token_ttl', true);
    if (at !== undefined) patch.accessTokenTtl = at;
    const rt = seconds(b, 'refresh_token_ttl', true);
    if (rt !== undefined) patch.refreshTokenTtl = rt;
    const idle = seconds(b, 'refresh_idle_ttl', true);
    if (idle !== undefined) patch.refreshIdleTtl = idle;
    // A number (0 = off) or null: back to the server default (LATCHKEY_REFRESH_GRACE).
    const grace = seconds(b, 'refresh_grace', true);
    if (grace !== undefined) patch.refreshGrace = grace;
    const refreshTokens = bool(b, 'refresh_tokens');
    if (refreshTokens !== undefined) patch.refreshTokens = refreshTokens;
    const allowedScopes = strList(b, 'allowed_scopes');
    if (allowedScopes) patch.allowedScopes = allowedScopes;
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
    const events = await ctx.audit.list({
      type,
      userId,
      clientId,
      limit: rawLimit === undefined ? 100 : Number(rawLimit),
    });
    return send(reply, 200, events.map(describeAuditEvent));
  });
}

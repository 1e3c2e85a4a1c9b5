/**
 * The admin console (HTML): sign-in for administrators, applications, users, audit log.
 * Every page needs a signed-in admin (the browser session with `user.isAdmin`); every POST
 * carries the session-bound CSRF token; bad input re-renders the form with a 400 and a message.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MAX_USERNAME_LENGTH, signInWithPassword } from '../../auth/sign-in.js';
import type { ServerContext } from '../../context.js';
import { randomToken, sha256 } from '../../crypto.js';
import { isForm } from '../../http/form.js';
import { sendHtml } from '../../http/respond.js';
import {
  clearSessionCookie,
  cookieValue,
  SESSION_COOKIE,
  secureCookies,
  startSession,
} from '../../http/session.js';
import { OAuthError } from '../../protocol/errors.js';
import { type Params, readParams } from '../../protocol/params.js';
import { DuplicateError, type User } from '../../storage/types.js';
import {
  type AuditRow,
  adminLoginPage,
  adminMessagePage,
  applicationCreatedPage,
  applicationPage,
  applicationsPage,
  auditPage,
  type Chrome,
  deleteApplicationPage,
  newApplicationPage,
  newUserPage,
  overviewPage,
  type SettingsForm,
  secretRotatedPage,
  settingsFormOf,
  userPage,
  usersPage,
} from '../../ui/admin/pages.js';
import { type Actor, AdminActions } from '../actions.js';
import type { AuditType } from '../audit.js';
import { parseClientSettings } from '../client-settings.js';
import { CLIENT_TYPES, ClientInputError } from '../clients.js';
import { UserInputError } from '../users.js';
import { consoleAuth, csrfMatches } from './auth.js';

/** Pre-session CSRF cookie of the admin sign-in form (double submit, HttpOnly, SameSite=Strict). */
export const ADMIN_LOGIN_COOKIE = 'latchkey_admin_login';

export const AUDIT_TYPES: readonly AuditType[] = [
  'login_success',
  'login_failure',
  'login_throttled',
  'consent_granted',
  'consent_denied',
  'code_reuse_detected',
  'refresh_reuse_detected',
  'logout',
  'client_created',
  'client_updated',
  'client_deleted',
  'client_secret_rotated',
  'user_created',
  'user_password_set',
  'user_disabled',
  'user_enabled',
  'user_admin_granted',
  'user_admin_revoked',
  'key_rotated',
  'keys_encrypted',
];

interface AdminRequest {
  chrome: Chrome;
  actor: Actor;
  params: Params;
}

const lines = (v: string | undefined): string[] =>
  (v ?? '')
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

/** The messages admins see for input errors (the admin layer's own words). */
const inputMessage = (err: unknown): string | undefined =>
  err instanceof ClientInputError || err instanceof UserInputError || err instanceof DuplicateError
    ? err.message.charAt(0).toUpperCase() + err.message.slice(1)
    : undefined;

class FormError extends Error {}

/** A message as a sentence: capital first letter, full stop. */
const sentence = (m: string) => `${m.charAt(0).toUpperCase()}${m.slice(1)}${m.endsWith('.') ? '' : '.'}`;

const seeOther = (reply: FastifyReply, location: string) =>
  reply.code(303).header('cache-control', 'no-store').header('location', location).send();

export function adminConsoleRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const config = { html: true };
  const actions = new AdminActions(ctx);

  const loginCookieOpts = () => ({
    path: '/admin/login',
    httpOnly: true,
    sameSite: 'strict' as const,
    secure: secureCookies(ctx),
  });

  const failure = (reply: FastifyReply, err: OAuthError, chrome?: Chrome) =>
    sendHtml(
      reply,
      err.status,
      adminMessagePage({
        title: err.status === 403 ? 'Forbidden' : err.status === 404 ? 'Not found' : 'Request refused',
        message: err.description,
        ...(chrome ? { chrome } : {}),
      }),
    );

  /** Wraps a console handler: admin session required; POSTs need a form and the CSRF token. */
  function page(
    section: Chrome['section'],
    fn: (req: FastifyRequest, reply: FastifyReply, a: AdminRequest) => Promise<FastifyReply>,
  ) {
    return async (req: FastifyRequest, reply: FastifyReply) => {
      const auth = await consoleAuth(ctx, req);
      if (auth.status === 'none') return seeOther(reply, '/admin/login');
      if (auth.status === 'not-admin') {
        return sendHtml(
          reply,
          403,
          adminMessagePage({
            title: 'Administrators only',
            message: `You are signed in as ${auth.signedIn.user.username}, which is not an administrator account.`,
          }),
        );
      }
      const chrome: Chrome = { csrf: auth.csrf, username: auth.signedIn.user.username, section };
      try {
        let params = readParams(req.query);
        if (req.method === 'POST') {
          if (!isForm(req))
            throw new OAuthError('invalid_request', 'The form could not be read.', { status: 400 });
          params = readParams(req.body);
          if (params.duplicated.includes('csrf') || !csrfMatches(params.get('csrf'), auth.csrf)) {
            throw new OAuthError(
              'access_denied',
              'The form was not submitted from the admin console (CSRF check failed). Reload the page and try again.',
              { status: 403 },
            );
          }
        }
        const actor: Actor = { via: 'console', ip: req.ip, admin: auth.signedIn.user.username };
        return await fn(req, reply, { chrome, actor, params });
      } catch (err) {
        if (err instanceof OAuthError) return failure(reply, err, chrome);
        throw err;
      }
    };
  }

  const idOf = (req: FastifyRequest): string => (req.params as { id: string }).id;
  const noClient = () => new OAuthError('not_found', 'No application has this client_id.', { status: 404 });
  const noUser = () => new OAuthError('not_found', 'No user has this id.', { status: 404 });

  // Sign-in and sign-out.
  app.get('/admin/login', { config }, async (req, reply) => {
    const auth = await consoleAuth(ctx, req);
    if (auth.status === 'admin') return seeOther(reply, '/admin');
    const csrf = randomToken(24);
    reply.setCookie(ADMIN_LOGIN_COOKIE, csrf, { ...loginCookieOpts(), maxAge: 3600 });
    return sendHtml(reply, 200, adminLoginPage({ csrf }));
  });

  app.post('/admin/login', { config }, async (req, reply) => {
    const cookie = cookieValue(req, ADMIN_LOGIN_COOKIE);
    const params = isForm(req) ? readParams(req.body) : undefined;
    if (
      !params ||
      cookie === undefined ||
      params.duplicated.includes('csrf') ||
      !csrfMatches(params.get('csrf'), cookie)
    ) {
      return sendHtml(
        reply,
        403,
        adminMessagePage({
          title: 'Forbidden',
          message:
            'The sign-in form was not submitted from this browser (CSRF check failed). Open the sign-in page again.',
        }),
      );
    }
    const result = await signInWithPassword(ctx.signIn, {
      username: params.get('username') ?? '',
      password: params.get('password') ?? '',
      ip: req.ip,
      via: 'console',
      refuse: (user) => (user.isAdmin === true ? undefined : 'not_admin'),
    });
    const again = (status: number, error: string) =>
      sendHtml(
        reply,
        status,
        adminLoginPage({ csrf: cookie, username: result.username.slice(0, MAX_USERNAME_LENGTH), error }),
      );
    if (result.outcome === 'missing') return again(400, result.message);
    if (result.outcome === 'throttled') {
      reply.header('retry-after', String(result.retryAfterSec));
      return again(429, result.message);
    }
    if (result.outcome === 'failed') return again(401, result.message);
    if (result.outcome === 'refused') {
      return sendHtml(
        reply,
        403,
        adminMessagePage({
          title: 'Administrators only',
          message: `${result.user.username} is not an administrator account.`,
        }),
      );
    }
    const user = result.user;
    await startSession(ctx, reply, user);
    reply.clearCookie(ADMIN_LOGIN_COOKIE, loginCookieOpts());
    return seeOther(reply, '/admin');
  });

  app.post(
    '/admin/logout',
    { config },
    page('home', async (req, reply, a) => {
      const raw = cookieValue(req, SESSION_COOKIE);
      if (raw !== undefined) await ctx.storage.sessions.end(sha256(raw), ctx.clock.now());
      clearSessionCookie(ctx, reply);
      await ctx.audit.record('logout', { ip: a.actor.ip, detail: { via: 'console', admin: a.actor.admin } });
      return seeOther(reply, '/admin/login');
    }),
  );

  app.get(
    '/admin',
    { config },
    page('home', async (_req, reply, a) => {
      const [clients, users] = await Promise.all([ctx.storage.clients.list(), ctx.storage.users.list()]);
      return sendHtml(
        reply,
        200,
        overviewPage({ chrome: a.chrome, clients: clients.length, users: users.length }),
      );
    }),
  );

  // Applications.
  app.get(
    '/admin/applications',
    { config },
    page('applications', async (_req, reply, a) => {
      const clients = await ctx.storage.clients.list();
      const notice = a.params.get('deleted') === '1' ? 'The application was deleted.' : undefined;
      return sendHtml(
        reply,
        200,
        applicationsPage({ chrome: a.chrome, clients, ...(notice ? { notice } : {}) }),
      );
    }),
  );

  app.get(
    '/admin/applications/new',
    { config },
    page('applications', async (_req, reply, a) => {
      const t = a.params.get('type');
      const type = t !== undefined && (CLIENT_TYPES as readonly string[]).includes(t) ? t : 'native';
      return sendHtml(reply, 200, newApplicationPage({ chrome: a.chrome, form: { type } }));
    }),
  );

  app.post(
    '/admin/applications',
    { config },
    page('applications', async (_req, reply, a) => {
      const p = a.params;
      const form = {
        type: p.get('type') ?? '',
        name: p.get('name') ?? '',
        redirectUris: p.get('redirect_uris') ?? '',
        postLogoutRedirectUris: p.get('post_logout_redirect_uris') ?? '',
        consent: p.get('consent') ?? 'none',
      };
      const again = (error: string) =>
        sendHtml(reply, 400, newApplicationPage({ chrome: a.chrome, form, error }));
      if (p.malformed.length > 0) return again('A field is too long or malformed.');
      if (!(CLIENT_TYPES as readonly string[]).includes(form.type))
        return again('Choose the platform: Native, Single-Page App, Web or Service.');
      // The same reading as the admin API and the CLI (src/admin/client-settings.ts).
      const parsed = parseClientSettings(
        {
          name: form.name,
          type: form.type,
          redirect_uris: lines(form.redirectUris),
          post_logout_redirect_uris: lines(form.postLogoutRedirectUris),
          consent: form.consent,
        },
        { mode: 'create' },
      );
      if (!parsed.ok) return again(sentence(parsed.errors[0]!.message));
      try {
        const { client, secret } = await actions.createClient(a.actor, parsed.value);
        return sendHtml(
          reply,
          201,
          applicationCreatedPage({ chrome: a.chrome, client, ...(secret !== undefined ? { secret } : {}) }),
        );
      } catch (err) {
        const msg = inputMessage(err);
        if (msg) return again(msg);
        throw err;
      }
    }),
  );

  app.get(
    '/admin/applications/:id',
    { config },
    page('applications', async (req, reply, a) => {
      const client = await ctx.storage.clients.get(idOf(req));
      if (!client) throw noClient();
      const notice = a.params.get('saved') === '1' ? 'Settings saved.' : undefined;
      return sendHtml(
        reply,
        200,
        applicationPage({
          chrome: a.chrome,
          client,
          form: settingsFormOf(client),
          refreshGraceDefault: ctx.config.refreshGraceSec,
          ...(notice ? { notice } : {}),
        }),
      );
    }),
  );

  app.post(
    '/admin/applications/:id',
    { config },
    page('applications', async (req, reply, a) => {
      const client = await ctx.storage.clients.get(idOf(req));
      if (!client) throw noClient();
      const p = a.params;
      const current = settingsFormOf(client);
      const form: SettingsForm = {
        name: p.get('name') ?? current.name,
        redirectUris: p.get('redirect_uris') ?? current.redirectUris,
        postLogoutRedirectUris: p.get('post_logout_redirect_uris') ?? current.postLogoutRedirectUris,
        consent: p.get('consent') ?? current.consent,
        accessTokenTtl: p.get('access_token_ttl') ?? current.accessTokenTtl,
        refreshTokenTtl: p.get('refresh_token_ttl') ?? current.refreshTokenTtl,
        refreshIdleTtl: p.get('refresh_idle_ttl') ?? current.refreshIdleTtl,
        refreshGrace: p.get('refresh_grace') ?? current.refreshGrace,
        refreshTokens: p.get('refresh_tokens') ?? current.refreshTokens,
      };
      const again = (error: string) =>
        sendHtml(
          reply,
          400,
          applicationPage({
            chrome: a.chrome,
            client,
            form,
            refreshGraceDefault: ctx.config.refreshGraceSec,
            error,
          }),
        );
      try {
        if (p.malformed.length > 0) throw new FormError('A field is too long or malformed.');
        // The form's fields are the admin API's names; an empty time is the server default
        // (for the grace, LATCHKEY_REFRESH_GRACE; 0 switches it off). Read as the API and CLI do.
        const input: Record<string, unknown> = {};
        if (p.has('name')) input['name'] = form.name;
        if (p.has('redirect_uris')) input['redirect_uris'] = lines(form.redirectUris);
        if (p.has('post_logout_redirect_uris'))
          input['post_logout_redirect_uris'] = lines(form.postLogoutRedirectUris);
        if (p.has('consent')) input['consent'] = form.consent;
        for (const field of ['access_token_ttl', 'refresh_token_ttl', 'refresh_idle_ttl', 'refresh_grace']) {
          const raw = p.get(field);
          if (raw !== undefined) input[field] = raw.trim() === '' ? null : raw.trim();
        }
        if (p.has('refresh_tokens')) {
          if (form.refreshTokens !== 'on' && form.refreshTokens !== 'off')
            throw new FormError('Refresh tokens must be on or off.');
          input['refresh_tokens'] = form.refreshTokens === 'on';
        }
        const parsed = parseClientSettings(input, { mode: 'update' });
        if (!parsed.ok) throw new FormError(sentence(parsed.errors[0]!.message));
        const patch = parsed.value;
        const updated = await actions.updateClient(a.actor, client.clientId, patch);
        if (!updated) throw noClient();
        return seeOther(reply, `/admin/applications/${encodeURIComponent(client.clientId)}?saved=1`);
      } catch (err) {
        if (err instanceof FormError) return again(err.message);
        const msg = inputMessage(err);
        if (msg) return again(msg);
        throw err;
      }
    }),
  );

  app.post(
    '/admin/applications/:id/rotate-secret',
    { config },
    page('applications', async (req, reply, a) => {
      try {
        const r = await actions.rotateSecret(a.actor, idOf(req));
        if (!r) throw noClient();
        return sendHtml(
          reply,
          200,
          secretRotatedPage({ chrome: a.chrome, client: r.client, secret: r.secret }),
        );
      } catch (err) {
        const msg = inputMessage(err);
        if (msg) throw new OAuthError('invalid_request', msg);
        throw err;
      }
    }),
  );

  app.get(
    '/admin/applications/:id/delete',
    { config },
    page('applications', async (req, reply, a) => {
      const client = await ctx.storage.clients.get(idOf(req));
      if (!client) throw noClient();
      return sendHtml(reply, 200, deleteApplicationPage({ chrome: a.chrome, client }));
    }),
  );

  app.post(
    '/admin/applications/:id/delete',
    { config },
    page('applications', async (req, reply, a) => {
      if (a.params.get('confirm') !== 'yes')
        throw new OAuthError('invalid_request', 'Confirm the deletion on the confirmation page.');
      if (!(await actions.deleteClient(a.actor, idOf(req)))) throw noClient();
      return seeOther(reply, '/admin/applications?deleted=1');
    }),
  );

  // Users.
  app.get(
    '/admin/users',
    { config },
    page('users', async (_req, reply, a) => {
      const users = await ctx.storage.users.list();
      return sendHtml(reply, 200, usersPage({ chrome: a.chrome, users }));
    }),
  );

  app.get(
    '/admin/users/new',
    { config },
    page('users', async (_req, reply, a) =>
      sendHtml(reply, 200, newUserPage({ chrome: a.chrome, form: {} })),
    ),
  );

  app.post(
    '/admin/users',
    { config },
    page('users', async (_req, reply, a) => {
      const p = a.params;
      const form = {
        username: p.get('username') ?? '',
        email: p.get('email') ?? '',
        name: p.get('name') ?? '',
        isAdmin: p.get('is_admin') === 'yes',
      };
      const again = (error: string) => sendHtml(reply, 400, newUserPage({ chrome: a.chrome, form, error }));
      if (p.malformed.length > 0) return again('A field is too long or malformed.');
      try {
        const user = await actions.createUser(a.actor, {
          username: form.username,
          email: form.email,
          name: form.name,
          password: p.get('password') ?? '',
          ...(form.isAdmin ? { isAdmin: true } : {}),
        });
        return seeOther(reply, `/admin/users/${encodeURIComponent(user.id)}?done=created`);
      } catch (err) {
        const msg = inputMessage(err);
        if (msg) return again(msg);
        throw err;
      }
    }),
  );

  const DONE: Record<string, string> = {
    created: 'User created.',
    disabled: 'User disabled: their sessions ended and their refresh tokens were revoked.',
    enabled: 'User enabled.',
    password: 'Password set.',
    'grant-admin': 'Administrator role granted.',
    'revoke-admin': 'Administrator role withdrawn.',
  };

  app.get(
    '/admin/users/:id',
    { config },
    page('users', async (req, reply, a) => {
      const user = await ctx.storage.users.getById(idOf(req));
      if (!user) throw noUser();
      const notice = DONE[a.params.get('done') ?? ''];
      return sendHtml(reply, 200, userPage({ chrome: a.chrome, user, ...(notice ? { notice } : {}) }));
    }),
  );

  /** Runs a user action; an input error (such as disabling yourself) re-renders the page with 400. */
  async function onUser(
    req: FastifyRequest,
    reply: FastifyReply,
    a: AdminRequest,
    op: (user: User) => Promise<unknown>,
    done: string,
  ): Promise<FastifyReply> {
    const user = await ctx.storage.users.getById(idOf(req));
    if (!user) throw noUser();
    try {
      await op(user);
      return seeOther(reply, `/admin/users/${encodeURIComponent(user.id)}?done=${done}`);
    } catch (err) {
      const msg = inputMessage(err);
      if (msg) return sendHtml(reply, 400, userPage({ chrome: a.chrome, user, error: msg }));
      throw err;
    }
  }

  for (const action of ['disable', 'enable'] as const) {
    app.post(
      `/admin/users/:id/${action}`,
      { config },
      page('users', (req, reply, a) =>
        onUser(
          req,
          reply,
          a,
          (u) => actions.setUserDisabled(a.actor, u.id, action === 'disable'),
          `${action}d`,
        ),
      ),
    );
  }

  for (const action of ['grant-admin', 'revoke-admin'] as const) {
    app.post(
      `/admin/users/:id/${action}`,
      { config },
      page('users', (req, reply, a) =>
        onUser(req, reply, a, (u) => actions.setUserAdmin(a.actor, u.id, action === 'grant-admin'), action),
      ),
    );
  }

  app.post(
    '/admin/users/:id/password',
    { config },
    page('users', async (req, reply, a) => {
      return onUser(
        req,
        reply,
        a,
        async (u) => {
          if (a.params.malformed.includes('password')) throw new UserInputError('password is too long');
          await actions.setUserPassword(a.actor, u.id, a.params.get('password') ?? '');
        },
        'password',
      );
    }),
  );

  // Audit log.
  app.get(
    '/admin/audit',
    { config },
    page('audit', async (_req, reply, a) => {
      const type = a.params.get('type') ?? '';
      if (type !== '' && !/^[a-z_]{1,64}$/.test(type))
        throw new OAuthError('invalid_request', 'Unknown audit event type.');
      const events = await ctx.audit.list({ ...(type ? { type } : {}), limit: 200 });
      const names = new Map<string, string>();
      for (const id of new Set(events.map((e) => e.userId).filter((x): x is string => x !== null))) {
        const u = await ctx.storage.users.getById(id);
        if (u) names.set(id, u.username);
      }
      const rows: AuditRow[] = events.map((e) => {
        const username = e.userId ? names.get(e.userId) : undefined;
        return { ...e, ...(username !== undefined ? { username } : {}) };
      });
      return sendHtml(reply, 200, auditPage({ chrome: a.chrome, events: rows, type, types: AUDIT_TYPES }));
    }),
  );
}

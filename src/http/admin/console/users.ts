/**
 * The admin console's user pages under /admin/users: the list, the new-user form, one user's
 * page (with their sign-in factors and open sessions) and the actions on it (disable / enable,
 * grant / withdraw the administrator role, set a password, sign out everywhere, remove a factor,
 * require a factor at the next sign-in). Each action redirects back to the user's page with a
 * notice; an input error (such as disabling yourself) re-renders that page with a 400 and the
 * message.
 */
import type { FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import { AdminActions, FactorNotFoundError } from '../../../admin/actions.js';
import { UserInputError } from '../../../admin/users.js';
import type { ServerContext } from '../../../context.js';
import { OAuthError } from '../../../protocol/errors.js';
import type { User } from '../../../storage/types.js';
import { newUserPage, userPage, usersPage } from '../../../ui/admin/pages.js';
import { sendHtml } from '../../respond.js';
import { type AdminRequest, idOf, inputMessage, page, seeOther } from './page.js';

const noUser = () => new OAuthError('not_found', 'No user has this id.', { status: 404 });

/** The notice on the user's page after each action (`?done=`). */
const DONE: Record<string, string> = {
  created: 'User created.',
  disabled: 'User disabled: their sessions ended and their refresh tokens were revoked.',
  enabled: 'User enabled.',
  password: 'Password set.',
  'grant-admin': 'Administrator role granted.',
  'revoke-admin': 'Administrator role withdrawn.',
  logout: 'Signed out everywhere: their sessions ended and their refresh tokens were revoked.',
  'factor-removed': 'Factor removed.',
  'require-enrolment': 'A second factor will be asked for at their next sign-in.',
};

/** What the user's page shows besides the user: their factors and open sessions. */
async function userPageOf(
  ctx: ServerContext,
  a: AdminRequest,
  user: User,
  message: { notice?: string; error?: string } = {},
): Promise<string> {
  const [factors, sessions] = await Promise.all([
    new AdminActions(ctx).listUserFactors(user.id),
    ctx.storage.sessions.listForUser(user.id, ctx.clock.now()),
  ]);
  return userPage({
    chrome: a.chrome,
    user,
    factors: factors?.factors ?? [],
    openSessions: sessions.length,
    ...message,
  });
}

/** GET /admin/users. */
export function getUsers(ctx: ServerContext): RouteHandlerMethod {
  return page(ctx, 'users', async (_req, reply, a) => {
    const users = await ctx.storage.users.list();
    return sendHtml(reply, 200, usersPage({ chrome: a.chrome, users }));
  });
}

/** GET /admin/users/new: the new-user form. */
export function getNewUser(ctx: ServerContext): RouteHandlerMethod {
  return page(ctx, 'users', async (_req, reply, a) =>
    sendHtml(reply, 200, newUserPage({ chrome: a.chrome, form: {} })),
  );
}

/** POST /admin/users: creates the user, then shows their page. */
export function postUser(ctx: ServerContext): RouteHandlerMethod {
  const actions = new AdminActions(ctx);
  return page(ctx, 'users', async (_req, reply, a) => {
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
  });
}

/** GET /admin/users/:id: the user's page, with the notice of the action just done. */
export function getUser(ctx: ServerContext): RouteHandlerMethod {
  return page(ctx, 'users', async (req, reply, a) => {
    const user = await ctx.storage.users.getById(idOf(req));
    if (!user) throw noUser();
    const notice = DONE[a.params.get('done') ?? ''];
    return sendHtml(reply, 200, await userPageOf(ctx, a, user, notice ? { notice } : {}));
  });
}

/** Runs a user action; an input error (such as disabling yourself) re-renders the page with 400. */
async function onUser(
  ctx: ServerContext,
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
    // A factor removed in the meantime (another administrator, or the person): the page as it is now.
    if (err instanceof FactorNotFoundError)
      return sendHtml(
        reply,
        404,
        await userPageOf(ctx, a, user, {
          error: 'This factor is not there any more: it was removed already.',
        }),
      );
    const msg = inputMessage(err);
    if (msg) return sendHtml(reply, 400, await userPageOf(ctx, a, user, { error: msg }));
    throw err;
  }
}

/** POST /admin/users/:id/disable and /enable (disabling ends the sessions, revokes the grants). */
export function postUserDisabled(ctx: ServerContext, action: 'disable' | 'enable'): RouteHandlerMethod {
  const actions = new AdminActions(ctx);
  return page(ctx, 'users', (req, reply, a) =>
    onUser(
      ctx,
      req,
      reply,
      a,
      (u) => actions.setUserDisabled(a.actor, u.id, action === 'disable'),
      `${action}d`,
    ),
  );
}

/** POST /admin/users/:id/grant-admin and /revoke-admin. */
export function postUserAdmin(
  ctx: ServerContext,
  action: 'grant-admin' | 'revoke-admin',
): RouteHandlerMethod {
  const actions = new AdminActions(ctx);
  return page(ctx, 'users', (req, reply, a) =>
    onUser(ctx, req, reply, a, (u) => actions.setUserAdmin(a.actor, u.id, action === 'grant-admin'), action),
  );
}

/** POST /admin/users/:id/password: sets a new password. */
export function postUserPassword(ctx: ServerContext): RouteHandlerMethod {
  const actions = new AdminActions(ctx);
  return page(ctx, 'users', async (req, reply, a) => {
    return onUser(
      ctx,
      req,
      reply,
      a,
      async (u) => {
        if (a.params.malformed.includes('password')) throw new UserInputError('password is too long');
        await actions.setUserPassword(a.actor, u.id, a.params.get('password') ?? '');
      },
      'password',
    );
  });
}

/** POST /admin/users/:id/logout: ends every session and revokes every grant; stays enabled. */
export function postUserLogout(ctx: ServerContext): RouteHandlerMethod {
  const actions = new AdminActions(ctx);
  return page(ctx, 'users', (req, reply, a) =>
    onUser(ctx, req, reply, a, (u) => actions.logoutUser(a.actor, u.id), 'logout'),
  );
}

/** POST /admin/users/:id/require-enrolment: a second factor at the next sign-in. */
export function postUserRequireEnrolment(ctx: ServerContext): RouteHandlerMethod {
  const actions = new AdminActions(ctx);
  return page(ctx, 'users', (req, reply, a) =>
    onUser(ctx, req, reply, a, (u) => actions.requireMfaEnrolment(a.actor, u.id), 'require-enrolment'),
  );
}

/** POST /admin/users/:id/factors/:factor_id/remove: removes one factor (a lost phone). */
export function postUserFactorRemove(ctx: ServerContext): RouteHandlerMethod {
  const actions = new AdminActions(ctx);
  return page(ctx, 'users', (req, reply, a) =>
    onUser(
      ctx,
      req,
      reply,
      a,
      (u) => actions.removeUserFactor(a.actor, u.id, (req.params as { factor_id: string }).factor_id),
      'factor-removed',
    ),
  );
}

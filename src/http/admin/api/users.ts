/**
 * The admin API's users under /admin/api/users: list, create, read, disable / enable (the answer
 * says how many sessions ended and grants were revoked), grant / withdraw the administrator
 * role, set a password, sign out everywhere; a person's factors: list, remove one, require one
 * at the next sign-in.
 */
import type { RouteHandlerMethod } from 'fastify';
import { AdminActions, FactorNotFoundError } from '../../../admin/actions.js';
import { describeFactor } from '../../../admin/user-factors.js';
import { describeUser } from '../../../admin/users.js';
import type { ServerContext } from '../../../context.js';
import { authenticate } from './auth.js';
import { bool, idOf, jsonBody, mapped, notFound, nullableStr, send, str } from './json.js';

/** GET /admin/api/users. */
export function listUsers(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    await authenticate(ctx, req);
    const users = await ctx.storage.users.list();
    return send(reply, 200, users.map(describeUser));
  };
}

/** POST /admin/api/users: 201 with the new user. */
export function createUser(ctx: ServerContext): RouteHandlerMethod {
  const actions = new AdminActions(ctx);
  return async (req, reply) => {
    const actor = await authenticate(ctx, req);
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
  };
}

/** GET /admin/api/users/:id. */
export function getUser(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    await authenticate(ctx, req);
    const user = await ctx.storage.users.getById(idOf(req));
    if (!user) throw notFound('No user has this id.');
    return send(reply, 200, describeUser(user));
  };
}

/** POST /admin/api/users/:id/disable and /enable. */
export function setUserDisabled(ctx: ServerContext, action: 'disable' | 'enable'): RouteHandlerMethod {
  const actions = new AdminActions(ctx);
  return async (req, reply) => {
    const actor = await authenticate(ctx, req);
    jsonBody(req, []);
    const r = await mapped(() => actions.setUserDisabled(actor, idOf(req), action === 'disable'));
    if (!r) throw notFound('No user has this id.');
    return send(reply, 200, {
      ...describeUser(r.user),
      sessions_ended: r.sessionsEnded,
      grants_revoked: r.grantsRevoked,
    });
  };
}

/** POST /admin/api/users/:id/grant-admin and /revoke-admin. */
export function setUserAdmin(ctx: ServerContext, action: 'grant-admin' | 'revoke-admin'): RouteHandlerMethod {
  const actions = new AdminActions(ctx);
  return async (req, reply) => {
    const actor = await authenticate(ctx, req);
    jsonBody(req, []);
    const user = await mapped(() => actions.setUserAdmin(actor, idOf(req), action === 'grant-admin'));
    if (!user) throw notFound('No user has this id.');
    return send(reply, 200, describeUser(user));
  };
}

/** POST /admin/api/users/:id/password. */
export function setUserPassword(ctx: ServerContext): RouteHandlerMethod {
  const actions = new AdminActions(ctx);
  return async (req, reply) => {
    const actor = await authenticate(ctx, req);
    const b = jsonBody(req, ['password']);
    const password = str(b, 'password', true);
    const user = await mapped(() => actions.setUserPassword(actor, idOf(req), password));
    if (!user) throw notFound('No user has this id.');
    return send(reply, 200, describeUser(user));
  };
}

/** POST /admin/api/users/:id/logout: ends every session, revokes every grant; stays enabled. */
export function logoutUser(ctx: ServerContext): RouteHandlerMethod {
  const actions = new AdminActions(ctx);
  return async (req, reply) => {
    const actor = await authenticate(ctx, req);
    jsonBody(req, []);
    const r = await actions.logoutUser(actor, idOf(req));
    if (!r) throw notFound('No user has this id.');
    return send(reply, 200, {
      ...describeUser(r.user),
      sessions_ended: r.sessionsEnded,
      grants_revoked: r.grantsRevoked,
    });
  };
}

/** GET /admin/api/users/:id/factors: [{id, type, name, created_at, last_used_at}]. */
export function listUserFactors(ctx: ServerContext): RouteHandlerMethod {
  const actions = new AdminActions(ctx);
  return async (req, reply) => {
    await authenticate(ctx, req);
    const r = await actions.listUserFactors(idOf(req));
    if (!r) throw notFound('No user has this id.');
    return send(reply, 200, r.factors.map(describeFactor));
  };
}

/** DELETE /admin/api/users/:id/factors/:factor_id: the factor removed, with `removed: true`. */
export function removeUserFactor(ctx: ServerContext): RouteHandlerMethod {
  const actions = new AdminActions(ctx);
  return async (req, reply) => {
    const actor = await authenticate(ctx, req);
    const factorId = (req.params as { factor_id: string }).factor_id;
    let r: Awaited<ReturnType<AdminActions['removeUserFactor']>>;
    try {
      r = await actions.removeUserFactor(actor, idOf(req), factorId);
    } catch (err) {
      if (err instanceof FactorNotFoundError) throw notFound('This user has no factor with this id.');
      throw err;
    }
    if (!r) throw notFound('No user has this id.');
    return send(reply, 200, { ...describeFactor(r.factor), removed: true });
  };
}

/** POST /admin/api/users/:id/require-enrolment: a second factor at the next sign-in. */
export function requireMfaEnrolment(ctx: ServerContext): RouteHandlerMethod {
  const actions = new AdminActions(ctx);
  return async (req, reply) => {
    const actor = await authenticate(ctx, req);
    jsonBody(req, []);
    const user = await actions.requireMfaEnrolment(actor, idOf(req));
    if (!user) throw notFound('No user has this id.');
    return send(reply, 200, describeUser(user));
  };
}

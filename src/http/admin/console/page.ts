/**
 * What every admin console handler shares: `page(ctx, section, fn)`, the wrapper that demands a
 * signed-in admin (else a redirect to /admin/login or a 403 page), reads the query or, for a
 * POST, the form with its session-bound CSRF token, and renders an OAuthError as a message page;
 * plus the small answers and readings the page files use (`failure`, `seeOther`, `idOf`,
 * `inputMessage`, `sentence`).
 */
import type { FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import type { Actor } from '../../../admin/actions.js';
import { ApiInputError } from '../../../admin/apis.js';
import { ClientInputError } from '../../../admin/clients.js';
import { UserInputError } from '../../../admin/users.js';
import type { ServerContext } from '../../../context.js';
import { OAuthError } from '../../../protocol/errors.js';
import { type Params, readParams } from '../../../protocol/params.js';
import { DuplicateError } from '../../../storage/types.js';
import { adminMessagePage, type Chrome } from '../../../ui/admin/pages.js';
import { isForm } from '../../form.js';
import { sendHtml } from '../../respond.js';
import { consoleAuth, csrfMatches } from './auth.js';

/** What `page` hands a console handler once the admin and the CSRF token have been checked. */
export interface AdminRequest {
  chrome: Chrome;
  actor: Actor;
  params: Params;
}

/** A console handler inside `page`: it may throw an OAuthError to show a message page. */
export type ConsoleHandler = (
  req: FastifyRequest,
  reply: FastifyReply,
  a: AdminRequest,
) => Promise<FastifyReply>;

export const seeOther = (reply: FastifyReply, location: string) =>
  reply.code(303).header('cache-control', 'no-store').header('location', location).send();

/** The `:id` path parameter of the route. */
export const idOf = (req: FastifyRequest): string => (req.params as { id: string }).id;

/** An OAuthError as a console message page, inside the console's chrome when there is one. */
export const failure = (reply: FastifyReply, err: OAuthError, chrome?: Chrome) =>
  sendHtml(
    reply,
    err.status,
    adminMessagePage({
      title: err.status === 403 ? 'Forbidden' : err.status === 404 ? 'Not found' : 'Request refused',
      message: err.description,
      ...(chrome ? { chrome } : {}),
    }),
  );

/** The messages admins see for input errors (the admin layer's own words). */
export const inputMessage = (err: unknown): string | undefined =>
  err instanceof ClientInputError ||
  err instanceof UserInputError ||
  err instanceof ApiInputError ||
  err instanceof DuplicateError
    ? err.message.charAt(0).toUpperCase() + err.message.slice(1)
    : undefined;

/** A message as a sentence: capital first letter, full stop. */
export const sentence = (m: string) =>
  `${m.charAt(0).toUpperCase()}${m.slice(1)}${m.endsWith('.') ? '' : '.'}`;

/** Wraps a console handler: admin session required; POSTs need a form and the CSRF token. */
export function page(ctx: ServerContext, section: Chrome['section'], fn: ConsoleHandler): RouteHandlerMethod {
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

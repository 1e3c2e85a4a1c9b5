/**
 * Who is calling the admin side: an admin's browser session (the same cookie as sign-in, with
 * `user.isAdmin`) or, for the JSON API only, the `LATCHKEY_ADMIN_TOKEN` bearer token.
 *
 * CSRF: console forms carry a token derived from the raw session cookie (never stored; the
 * database only holds the cookie's SHA-256, so even a database reader cannot forge it). The API,
 * when used with the session, wants the same token in `X-Latchkey-CSRF`, a header browsers
 * cannot send cross-site without a CORS preflight this server never grants.
 */
import type { FastifyRequest } from 'fastify';
import type { ServerContext } from '../../../context.js';
import { safeEqual, sha256 } from '../../../crypto.js';
import { type ActiveSession, cookieValue, currentSession, SESSION_COOKIE } from '../../session.js';

export const CSRF_HEADER = 'x-latchkey-csrf';

/** The console's CSRF token for this browser session. */
export function consoleCsrf(rawSessionCookie: string): string {
  return sha256(`latchkey-admin-csrf\u0000${rawSessionCookie}`);
}

export type ConsoleAuth =
  | { status: 'none' }
  | { status: 'not-admin'; signedIn: ActiveSession }
  | { status: 'admin'; signedIn: ActiveSession; csrf: string };

export async function consoleAuth(ctx: ServerContext, req: FastifyRequest): Promise<ConsoleAuth> {
  const signedIn = await currentSession(ctx, req);
  const raw = cookieValue(req, SESSION_COOKIE);
  if (!signedIn || raw === undefined) return { status: 'none' };
  if (signedIn.user.isAdmin !== true) return { status: 'not-admin', signedIn };
  return { status: 'admin', signedIn, csrf: consoleCsrf(raw) };
}

/** Constant-time check of `Authorization: Bearer <token>` against the configured admin token. */
export function bearerMatches(header: string, token: string): boolean {
  const m = /^Bearer +(\S+)$/i.exec(header);
  if (!m?.[1]) return false;
  // Compare digests so the comparison takes the same time whatever the presented length.
  return safeEqual(sha256(m[1]), sha256(token));
}

export function csrfMatches(presented: unknown, expected: string): boolean {
  return typeof presented === 'string' && presented.length <= 256 && safeEqual(presented, expected);
}

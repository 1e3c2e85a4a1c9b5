/**
 * Browser sessions: a random cookie value, stored only as its SHA-256; idle and absolute
 * lifetimes; HttpOnly, SameSite=Lax, Secure when the issuer is https.
 */
import type {} from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../context.js';
import { randomToken, sha256 } from '../crypto.js';
import type { AuthMethods, Session, User } from '../storage/types.js';

export const SESSION_COOKIE = 'latchkey_session';
export const INTERACTION_COOKIE = 'latchkey_interaction';
/** Skip rewriting last_seen_at more often than this. */
const TOUCH_INTERVAL_MS = 60_000;

export interface ActiveSession {
  session: Session;
  user: User;
}

export const secureCookies = (ctx: ServerContext): boolean => ctx.config.issuer.startsWith('https:');

export function cookieValue(req: FastifyRequest, name: string): string | undefined {
  const v = req.cookies[name];
  return typeof v === 'string' && v.length > 0 && v.length <= 256 ? v : undefined;
}

export function isSessionActive(ctx: ServerContext, s: Session, now = ctx.clock.now()): boolean {
  return s.endedAt === null && now < s.expiresAt && now - s.lastSeenAt < ctx.config.sessionIdleSec * 1000;
}

export async function currentSession(
  ctx: ServerContext,
  req: FastifyRequest,
): Promise<ActiveSession | undefined> {
  const raw = cookieValue(req, SESSION_COOKIE);
  if (!raw) return undefined;
  const found = await ctx.storage.sessions.getWithUser(sha256(raw));
  if (!found) return undefined;
  const { session, user } = found;
  const now = ctx.clock.now();
  if (!isSessionActive(ctx, session, now) || user.disabled) return undefined;
  if (now - session.lastSeenAt > TOUCH_INTERVAL_MS) {
    await ctx.storage.sessions.touch(session.idHash, now);
    session.lastSeenAt = now;
  }
  return { session, user };
}

/** The longest User-Agent a session keeps (the account page shows it; headers can be kilobytes). */
export const MAX_USER_AGENT = 256;

/** Where a request comes from, as a session remembers it: the client IP and a printable User-Agent. */
export function deviceOf(req: FastifyRequest): Pick<Session, 'ip' | 'userAgent'> {
  const header = req.headers['user-agent'];
  const ua = (typeof header === 'string' ? header : '')
    .replace(/[\u0000-\u001f\u007f]/g, '')
    .trim()
    .slice(0, MAX_USER_AGENT);
  return { ...(req.ip ? { ip: req.ip } : {}), ...(ua ? { userAgent: ua } : {}) };
}

/**
 * A new session for `user`, who signed in with `methods` (RFC 8176 values with their times),
 * remembering the IP and User-Agent of the request it answers (the account page lists them).
 */
export async function startSession(
  ctx: ServerContext,
  reply: FastifyReply,
  user: User,
  methods: AuthMethods,
): Promise<ActiveSession> {
  const raw = randomToken(32);
  const now = ctx.clock.now();
  const session: Session = {
    ...deviceOf(reply.request),
    idHash: sha256(raw),
    userId: user.id,
    authTime: now,
    createdAt: now,
    lastSeenAt: now,
    expiresAt: now + ctx.config.sessionAbsoluteSec * 1000,
    endedAt: null,
    authMethods: methods,
  };
  await ctx.storage.sessions.create(session);
  reply.setCookie(SESSION_COOKIE, raw, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: secureCookies(ctx),
    maxAge: ctx.config.sessionAbsoluteSec,
  });
  return { session, user };
}

export function clearSessionCookie(ctx: ServerContext, reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: secureCookies(ctx),
  });
}

/**
 * What happens once an authorization request is valid: single sign-on or sign-in,
 * consent, then a single-use code sent back to the client.
 */
import type { FastifyReply } from 'fastify';
import type { ServerContext } from '../context.js';
import { randomToken, sha256, timeOrderedId } from '../crypto.js';
import type { AuthorizationRequest } from '../protocol/authorize/index.js';
import { OAuthError } from '../protocol/errors.js';
import type { Client } from '../storage/types.js';
import { sendAuthorizationError, sendAuthorizationResponse } from './respond.js';
import { type ActiveSession, INTERACTION_COOKIE, secureCookies } from './session.js';

/** OIDC Core §3.1.2.1 prompt=login and max_age: does this request need a fresh sign-in? */
export function needsLogin(
  ctx: ServerContext,
  request: AuthorizationRequest,
  s: ActiveSession | undefined,
): boolean {
  if (!s) return true;
  if (request.prompt.includes('login')) return true;
  // max_age=0 means "sign in again now" (the OIDC conformance suite and other OPs read it so);
  // comparing elapsed > 0 would let a request in the same millisecond as the last sign-in through.
  if (request.maxAge === 0) return true;
  if (request.maxAge !== null && ctx.clock.now() - s.session.authTime > request.maxAge * 1000) return true;
  return false;
}

export async function needsConsent(
  ctx: ServerContext,
  client: Client,
  request: AuthorizationRequest,
  userId: string,
): Promise<boolean> {
  if (request.prompt.includes('consent')) return true;
  if (client.consent !== 'required') return false;
  const prior = await ctx.storage.consents.get(userId, client.clientId);
  if (!prior) return true;
  const granted = new Set(prior.scope.split(' '));
  return request.scopes.some((s) => !granted.has(s));
}

/** Stores the request while the user signs in or consents, bound to this browser by a cookie. */
export async function startInteraction(
  ctx: ServerContext,
  reply: FastifyReply,
  request: AuthorizationRequest,
  signedIn: ActiveSession | undefined,
): Promise<FastifyReply> {
  const now = ctx.clock.now();
  const id = randomToken(24);
  await ctx.storage.interactions.create({
    id,
    clientId: request.clientId,
    request: JSON.stringify(request),
    csrf: randomToken(24),
    userId: signedIn?.user.id ?? null,
    sessionHash: signedIn?.session.idHash ?? null,
    authTime: signedIn?.session.authTime ?? null,
    createdAt: now,
    expiresAt: now + ctx.config.interactionTtlSec * 1000,
    completedAt: null,
  });
  // Scoped to this interaction's own path, so a second sign-in started in another tab of the
  // same browser does not overwrite it (with one cookie for /interaction, the older tab's
  // sign-in failed as "belongs to another browser window"). Browsers send the longest path first.
  reply.setCookie(INTERACTION_COOKIE, id, {
    path: `/interaction/${id}`,
    httpOnly: true,
    sameSite: 'lax',
    secure: secureCookies(ctx),
    maxAge: ctx.config.interactionTtlSec,
  });
  return reply.code(303).header('cache-control', 'no-store').header('location', `/interaction/${id}`).send();
}

/** RFC 6749 §4.1.2: a code of 256 random bits, stored hashed, bound to everything it stands for. */
export async function issueCode(
  ctx: ServerContext,
  request: AuthorizationRequest,
  userId: string,
  session: { idHash: string; authTime: number },
): Promise<string> {
  const now = ctx.clock.now();
  const code = randomToken(32);
  const grantId = timeOrderedId(now);
  await ctx.storage.grants.issueCode(
    {
      id: grantId,
      clientId: request.clientId,
      userId,
      sessionHash: session.idHash,
      scope: request.scopes.join(' '),
      nonce: request.nonce,
      authTime: session.authTime,
      createdAt: now,
      revokedAt: null,
    },
    {
      hash: sha256(code),
      grantId,
      clientId: request.clientId,
      redirectUri: request.redirectUriGiven ? request.redirectUri : null,
      codeChallenge: request.codeChallenge,
      ...(request.dpopJkt !== undefined ? { dpopJkt: request.dpopJkt } : {}),
      expiresAt: now + Math.min(ctx.config.codeTtlSec, request.codeTtlCapSec ?? Infinity) * 1000,
      consumedAt: null,
    },
  );
  return code;
}

export async function respondWithCode(
  ctx: ServerContext,
  reply: FastifyReply,
  request: AuthorizationRequest,
  signedIn: ActiveSession,
): Promise<FastifyReply> {
  const code = await issueCode(ctx, request, signedIn.user.id, signedIn.session);
  return sendAuthorizationResponse(ctx, reply, request, { code });
}

/** The decision after /authorize validated the request. */
export async function proceed(
  ctx: ServerContext,
  reply: FastifyReply,
  client: Client,
  request: AuthorizationRequest,
  signedIn: ActiveSession | undefined,
): Promise<FastifyReply> {
  const none = request.prompt.includes('none');
  if (needsLogin(ctx, request, signedIn)) {
    if (none)
      return sendAuthorizationError(
        ctx,
        reply,
        request,
        new OAuthError('login_required', 'The user is not signed in.'),
      );
    return startInteraction(ctx, reply, request, undefined);
  }
  const active = signedIn!;
  if (await needsConsent(ctx, client, request, active.user.id)) {
    if (none) {
      return sendAuthorizationError(
        ctx,
        reply,
        request,
        new OAuthError('consent_required', 'The user has not consented to this application.'),
      );
    }
    return startInteraction(ctx, reply, request, active);
  }
  return respondWithCode(ctx, reply, request, active);
}

/**
 * What happens once an authorization request is valid: single sign-on or sign-in,
 * consent, then a single-use code sent back to the client.
 */
import type { FastifyReply } from 'fastify';
import { acrOf, amrOf, nextStep, type Step } from '../auth/sign-in-policy.js';
import type { ServerContext } from '../context.js';
import { randomToken, sha256, timeOrderedId } from '../crypto.js';
import type { AuthorizationRequest } from '../protocol/authorize/index.js';
import { OAuthError } from '../protocol/errors.js';
import { consentItems, isSelfRegistered } from '../protocol/resources.js';
import type { Client, Session } from '../storage/types.js';
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
  // A self-registered application is asked about every time: nobody vetted it, its name is its
  // own claim (RFC 7591 §5), and a metadata document may change between two requests.
  if (isSelfRegistered(client)) return true;
  if (client.consent !== 'required') return false;
  const prior = await ctx.storage.consents.get(userId, client.clientId);
  if (!prior) return true;
  const granted = new Set(prior.scope.split(' '));
  return consentOf(ctx, request).some((s) => !granted.has(s));
}

/** What a consent to this request covers: its scopes and the APIs they are for (RFC 8707). */
export const consentOf = (ctx: ServerContext, request: AuthorizationRequest): string[] =>
  consentItems(request.scopes, request.apis, ctx.config.audience);

/** The APIs a grant covers, for the grant row: absent when it is the default API alone. */
export function grantResources(ctx: ServerContext, request: AuthorizationRequest): { resources?: string[] } {
  const ids = (request.apis ?? []).map((a) => a.identifier);
  return ids.length === 0 || (ids.length === 1 && ids[0] === ctx.config.audience) ? {} : { resources: ids };
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
  session: Pick<Session, 'idHash' | 'authTime' | 'authMethods'>,
): Promise<string> {
  const now = ctx.clock.now();
  // RFC 8176 amr and the acr reached, for the tokens (a session from before: a password).
  const methods = session.authMethods ?? { pwd: session.authTime };
  const acr = acrOf(methods);
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
      amr: amrOf(methods),
      ...(acr !== undefined ? { acr } : {}),
      ...grantResources(ctx, request),
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

/**
 * What the policy says of a signed-in session for this request. Without a policy that could ask
 * for more (no MFA, no acr_values, no enrolment asked), the factors are not even read.
 */
export async function sessionStep(
  ctx: ServerContext,
  client: Client,
  request: AuthorizationRequest,
  s: ActiveSession,
): Promise<Step> {
  const methods = s.session.authMethods ?? { pwd: s.session.authTime };
  const input = {
    mfa: client.mfa ?? ctx.config.mfa,
    acrValues: request.acrValues ?? [],
    methods,
    enrolRequired: s.user.mfaEnrolRequired === true,
    passkeyEnrolment: 'off' as const,
    suggestionSkipped: true,
    passkeysAvailable: ctx.factors.passkeys.available,
  };
  if (input.mfa === 'none' && input.acrValues.length === 0 && !input.enrolRequired)
    return nextStep({ ...input, factors: { passkeys: 0, totp: false, recoveryCodesLeft: 0 } });
  return nextStep({ ...input, factors: await ctx.storage.factors.summary(s.user.id) });
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
  // The session may not be enough for this application (its MFA policy, acr_values): step-up.
  const step = await sessionStep(ctx, client, request, active);
  if (step.step === 'unmet')
    return sendAuthorizationError(
      ctx,
      reply,
      request,
      new OAuthError('unmet_authentication_requirements', step.reason),
    );
  if (step.step !== 'done') {
    if (none)
      return sendAuthorizationError(
        ctx,
        reply,
        request,
        new OAuthError('interaction_required', 'The sign-in needs another step from the user.'),
      );
    return startInteraction(ctx, reply, request, active);
  }
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

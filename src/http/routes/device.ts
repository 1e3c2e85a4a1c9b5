/**
 * The pages of the device authorization grant (RFC 8628 §3.3): GET /device, the form a person
 * types the code of their device into (prefilled from `verification_uri_complete`, §3.3.1), and
 * POST /device, which looks the code up and starts the sign-in. The sign-in is the one of
 * /authorize (interaction/: an existing session is reused; else password or passkey, then the
 * MFA policy's steps), for an interaction whose request is made here (`isDeviceRequest`): it
 * always ends on the confirmation page (`renderDeviceConsent`) rather than with a code, and the
 * person's Approve or Deny decides the device code (`decideDevice`); the device learns it at
 * /token (protocol/grants/device-code.ts).
 */

import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import { LoginThrottle, THROTTLE_DEFAULTS, type ThrottleLimits } from '../../auth/login-throttle.js';
import { acrOf, amrOf } from '../../auth/sign-in-policy.js';
import type { ServerContext } from '../../context.js';
import { randomToken, safeEqual, timeOrderedId } from '../../crypto.js';
import type { AuthorizationRequest } from '../../protocol/authorize/index.js';
import {
  DEVICE_CODE_GRANT,
  DEVICE_PAGE_PATH,
  formatUserCode,
  normaliseUserCode,
  userCodeHash,
} from '../../protocol/device.js';
import { invalidRequest, OAuthError } from '../../protocol/errors.js';
import { readParams } from '../../protocol/params.js';
import { authorizationScopes, consentApis, resolveResources } from '../../protocol/resources.js';
import type { Grant } from '../../storage/types.js';
import { deviceCodePage, deviceConfirmPage, deviceDonePage } from '../../ui/device-pages.js';
import { grantResources, startInteraction } from '../authorize-flow.js';
import { isForm } from '../form.js';
import { sendHtml } from '../respond.js';
import { type ActiveSession, cookieValue, currentSession, secureCookies } from '../session.js';
import { type Loaded, paths, unverifiedOf } from './interaction/load.js';

/** The code form's CSRF token, double-submitted: this cookie and the form's hidden field. */
const CSRF_COOKIE = 'latchkey_device_csrf';
const CSRF_COOKIE_SEC = 3600;

/**
 * RFC 8628 §5.1: wrong user codes are counted per client IP (`device:<ip>`, beside the IP's
 * count shared with passwords); 10 in the window lock the form for that IP a while. With 20^8
 * codes and a few live at a time, that leaves a guesser no useful chance (§6.1).
 */
export const DEVICE_CODE_LIMITS: ThrottleLimits = { ...THROTTLE_DEFAULTS, accountFailures: 10 };

export function deviceRoutes(app: FastifyInstance, ctx: ServerContext): void {
  // §5.1 (and the issue): throttled per IP and globally too, since the code space is small.
  const global = ctx.config.deviceCodeGlobalFailures;
  const limits: ThrottleLimits = { ...DEVICE_CODE_LIMITS, ...(global > 0 ? { globalFailures: global } : {}) };
  const throttle = new LoginThrottle(ctx.storage.throttle, ctx.clock, ctx.config.rateLimit, limits, 'device');
  const config = { html: true };
  app.get(DEVICE_PAGE_PATH, { config }, getDevice(ctx));
  app.post(DEVICE_PAGE_PATH, { config }, postDevice(ctx, throttle));
}

/** This browser's CSRF token for the code form: the cookie's, or a new one (set here). */
function csrfFor(ctx: ServerContext, req: FastifyRequest, reply: FastifyReply): string {
  const existing = cookieValue(req, CSRF_COOKIE);
  if (existing !== undefined && /^[A-Za-z0-9_-]{32}$/.test(existing)) return existing;
  const csrf = randomToken(24);
  reply.setCookie(CSRF_COOKIE, csrf, {
    path: DEVICE_PAGE_PATH,
    httpOnly: true,
    sameSite: 'lax',
    secure: secureCookies(ctx),
    maxAge: CSRF_COOKIE_SEC,
  });
  return csrf;
}

function renderCodeForm(
  ctx: ServerContext,
  req: FastifyRequest,
  reply: FastifyReply,
  status: number,
  opts: { userCode?: string; error?: string } = {},
): FastifyReply {
  const csrf = csrfFor(ctx, req, reply);
  return sendHtml(
    reply,
    status,
    deviceCodePage({
      action: DEVICE_PAGE_PATH,
      csrf,
      ...(opts.userCode !== undefined ? { userCode: opts.userCode.slice(0, 64) } : {}),
      ...(opts.error !== undefined ? { error: opts.error } : {}),
    }),
  );
}

/**
 * GET /device: the code form. RFC 8628 §3.3.1: with `user_code` (verification_uri_complete) the
 * code is filled in, and the person still submits it (nothing is decided by opening a link).
 */
export function getDevice(ctx: ServerContext): RouteHandlerMethod {
  return async (req, reply) => {
    const q = (req.query ?? {}) as Record<string, unknown>;
    const given = typeof q['user_code'] === 'string' ? q['user_code'] : undefined;
    const normalised = given === undefined ? undefined : normaliseUserCode(given);
    const shown = normalised !== undefined ? formatUserCode(normalised) : given;
    return renderCodeForm(ctx, req, reply, 200, shown !== undefined ? { userCode: shown } : {});
  };
}

/**
 * POST /device: the code typed. Not a code at all, unknown (a failed guess, counted), expired or
 * already decided: the form again with what is wrong. A pending code starts the sign-in for its
 * application, this browser's session reused when it has one.
 */
export function postDevice(ctx: ServerContext, throttle: LoginThrottle): RouteHandlerMethod {
  return async (req, reply) => {
    if (!isForm(req)) throw invalidRequest('The form could not be read.');
    const params = readParams(req.body);
    if (params.duplicated.length > 0) throw invalidRequest('The form has a field twice.');
    const csrf = params.get('csrf');
    const cookie = cookieValue(req, CSRF_COOKIE);
    if (csrf === undefined || cookie === undefined || !safeEqual(csrf, cookie))
      throw new OAuthError(
        'invalid_request',
        'The form was not submitted from the code page (CSRF check failed). Open the page again.',
        { status: 403 },
      );
    const typed = params.get('user_code') ?? '';
    const again = (status: number, error: string) =>
      renderCodeForm(ctx, req, reply, status, { userCode: typed, error });
    // RFC 8628 §6.1: case, dashes and spaces do not matter.
    const normalised = normaliseUserCode(typed);
    if (normalised === undefined)
      return again(400, 'That is not a code from a device: it has 8 letters, like BCDF-GHJK.');
    // RFC 8628 §5.1: user codes are guessable by design; wrong guesses are throttled per IP and
    // across the server (`deviceCodeGlobalFailures`).
    const decision = await throttle.begin(req.ip, req.ip);
    if (!decision.allowed) {
      reply.header('retry-after', String(decision.retryAfterSec));
      const minutes = Math.max(1, Math.ceil(decision.retryAfterSec / 60));
      const wait = `Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`;
      return again(
        429,
        decision.global
          ? `Too many wrong codes were entered on this server recently, so codes cannot be checked for now. ${wait}`
          : `Too many wrong codes were entered from here. ${wait}`,
      );
    }
    const found = await throttle.checking(decision.attempt, () =>
      ctx.storage.deviceCodes.getByUserCode(userCodeHash(normalised)),
    );
    if (!found) {
      await throttle.failed(decision.attempt);
      return again(400, 'This code is not known. Check it against the code shown on your device.');
    }
    // A real code is no failure, but it does not clear the count either: a code of one's own
    // must not reset the guesses made between (succeeded() would).
    await throttle.abandon(decision.attempt);
    const now = ctx.clock.now();
    if (found.expiresAt <= now)
      return again(400, 'This code has expired. Start again on your device to get a new code.');
    if (found.status !== 'pending') return again(400, 'This code has already been used.');
    const client = await ctx.resolveClient(found.clientId);
    if (!client?.grantTypes.includes(DEVICE_CODE_GRANT))
      return again(400, 'The application of this code may no longer sign in here.');
    // The scopes and APIs as /device_authorization checked them (checked again: an application's
    // APIs may have changed since), each API with its scopes for the confirmation page.
    const scopes = found.scope.split(' ').filter(Boolean);
    const apis = await resolveResources(ctx.apis, client, found.resources ?? []);
    const { granted } = await authorizationScopes(ctx.apis, client, scopes, apis);
    const request: AuthorizationRequest = {
      clientId: client.clientId,
      redirectUri: DEVICE_PAGE_PATH,
      redirectUriGiven: false,
      responseMode: 'query',
      scopes,
      state: null,
      nonce: null,
      codeChallenge: null,
      // RFC 8628 §3.3.1, §5.4: the person always confirms, with the user code in view, whatever they
      // consented to before (prompt=consent makes the interaction ask).
      prompt: ['consent'],
      maxAge: null,
      loginHint: null,
      apis: granted,
      device: { userCode: normalised },
    };
    return startInteraction(ctx, reply, request, await currentSession(ctx, req));
  };
}

/** The interaction's consent step, for a device: the confirmation page (RFC 8628 §5.4). */
export async function renderDeviceConsent(
  ctx: ServerContext,
  reply: FastifyReply,
  l: Loaded,
  username: string,
): Promise<FastifyReply> {
  return sendHtml(
    reply,
    200,
    deviceConfirmPage({
      action: paths(l.interaction.id).consent,
      csrf: l.interaction.csrf,
      clientName: l.client.name,
      username,
      userCode: formatUserCode(l.request.device!.userCode),
      scopes: l.request.scopes,
      apis: await consentApis(ctx.grants.apis, l.request.apis),
      ...(l.client.registration ? { unverified: unverifiedOf(l) } : {}),
    }),
  );
}

/** The approval lost to a Deny, an expiry or another approval: its grant is undone. */
class NotApproved extends Error {}

/**
 * The person's decision, once the interaction is completed (exactly once: of two racing posts
 * one gets here). Approve: a grant for the person with the scopes and APIs shown, and the device
 * code approved under it, together (one transaction: if the code was decided or expired
 * meanwhile, no grant is left behind). Deny: the code denied (RFC 8628 §3.5: the device is told
 * access_denied). Both end on the page that sends the person back to their device.
 */
export async function decideDevice(
  ctx: ServerContext,
  req: FastifyRequest,
  reply: FastifyReply,
  l: Loaded,
  s: ActiveSession,
  decision: 'allow' | 'deny',
): Promise<FastifyReply> {
  const hash = userCodeHash(l.request.device!.userCode);
  const now = ctx.clock.now();
  const who = { clientId: l.client.clientId, userId: s.user.id, ip: req.ip };
  if (decision === 'deny') {
    if (!(await ctx.storage.deviceCodes.deny(hash, now))) return notDecided(reply);
    await ctx.audit.record('device_denied', who);
    return sendHtml(reply, 200, deviceDonePage({ outcome: 'denied' }));
  }
  const methods = s.session.authMethods ?? { pwd: s.session.authTime };
  const acr = acrOf(methods);
  const grant: Grant = {
    id: timeOrderedId(now),
    clientId: l.client.clientId,
    userId: s.user.id,
    // The device has no session here: the browser's is not its (no `sid` in its ID token).
    sessionHash: null,
    scope: l.request.scopes.join(' '),
    nonce: null,
    authTime: s.session.authTime,
    createdAt: now,
    revokedAt: null,
    amr: amrOf(methods),
    ...(acr !== undefined ? { acr } : {}),
    ...grantResources(ctx, l.request),
  };
  try {
    await ctx.storage.transaction(async (tx) => {
      await tx.grants.createGrant(grant);
      if (!(await tx.deviceCodes.approve(hash, grant.id, now))) throw new NotApproved();
    });
  } catch (err) {
    if (err instanceof NotApproved) return notDecided(reply);
    throw err;
  }
  await ctx.audit.record('device_approved', {
    ...who,
    detail: {
      scope: grant.scope,
      ...(grant.resources ? { resources: grant.resources } : {}),
    },
  });
  return sendHtml(reply, 200, deviceDonePage({ outcome: 'approved' }));
}

const notDecided = (reply: FastifyReply) =>
  sendHtml(
    reply,
    400,
    deviceDonePage({
      outcome: 'failed',
      message: 'This code has expired or was already used. Start again on your device to get a new code.',
    }),
  );

/**
 * The sign-in for a device ended without an approval (the person cancelled it, or its
 * requirements cannot be met): the device code is denied, so that the device stops polling
 * (RFC 8628 §3.5 access_denied) rather than waiting for the code to expire.
 */
export async function endDeviceSignIn(
  ctx: ServerContext,
  reply: FastifyReply,
  l: Loaded,
  reason: string,
): Promise<FastifyReply> {
  const denied = await ctx.storage.deviceCodes.deny(
    userCodeHash(l.request.device!.userCode),
    ctx.clock.now(),
  );
  if (denied)
    await ctx.audit.record('device_denied', {
      clientId: l.client.clientId,
      userId: l.interaction.userId,
      ip: reply.request.ip,
      detail: { reason },
    });
  return sendHtml(
    reply,
    200,
    deviceDonePage({ outcome: 'failed', message: `${reason} Return to your device.` }),
  );
}

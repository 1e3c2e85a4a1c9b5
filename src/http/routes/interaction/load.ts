/**
 * What the interaction handlers share: loading the pending interaction of `/interaction/:id`
 * (unknown, used or expired → "expired"; another browser's → 403), checking a form post's CSRF
 * token, completing the interaction exactly once, finding the session it was signed in with,
 * and rendering the sign-in and consent pages. The account page's sign-in (account/sign-in.ts)
 * runs through here too, for its pseudo-application.
 */

import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../../../context.js';
import { randomToken, safeEqual } from '../../../crypto.js';
import type { AuthorizationRequest } from '../../../protocol/authorize/index.js';
import { invalidRequest, OAuthError } from '../../../protocol/errors.js';
import { type Params, readParams } from '../../../protocol/params.js';
import { consentApis } from '../../../protocol/resources.js';
import type { Client, Interaction, User } from '../../../storage/types.js';
import type { UnverifiedClientView } from '../../../ui/pages.js';
import { consentPage, loginPage } from '../../../ui/pages.js';
import type { PasskeyFormProps } from '../../../ui/passkey-form.js';
import { isForm } from '../../form.js';
import { sendHtml } from '../../respond.js';
import { type ActiveSession, cookieValue, currentSession, INTERACTION_COOKIE } from '../../session.js';
import { accountClientFor } from '../account/sign-in.js';

const ID = /^[A-Za-z0-9_-]{16,64}$/;

/** A pending interaction with the authorization request and the application it is for. */
export interface Loaded {
  interaction: Interaction;
  request: AuthorizationRequest;
  client: Client;
}

export const expired = () =>
  new OAuthError(
    'invalid_request',
    'This sign-in page has expired or was already used. Go back to the application and start again.',
  );

/** The interaction of the route's `:id`, still pending and bound to this browser. */
export async function load(ctx: ServerContext, req: FastifyRequest): Promise<Loaded> {
  const id = (req.params as { id?: string }).id ?? '';
  if (!ID.test(id)) throw expired();
  const interaction = await ctx.storage.interactions.get(id);
  if (!interaction || interaction.completedAt !== null || interaction.expiresAt <= ctx.clock.now())
    throw expired();
  // Bound to the browser that started it.
  const cookie = cookieValue(req, INTERACTION_COOKIE);
  if (cookie === undefined || !safeEqual(cookie, id)) {
    throw new OAuthError(
      'invalid_request',
      'This sign-in page belongs to another browser window. Go back to the application and start again.',
      {
        status: 403,
      },
    );
  }
  const request = JSON.parse(interaction.request) as AuthorizationRequest;
  // The account page's sign-in is for a pseudo-application that is not stored (account/sign-in.ts).
  const client =
    (interaction.clientId === request.clientId ? accountClientFor(request) : undefined) ??
    (await ctx.resolveClient(interaction.clientId));
  if (!client) throw expired();
  return { interaction, request, client };
}

/** The form of a POST, once its CSRF token matches the interaction's. */
export function checkPost(req: FastifyRequest, loaded: Loaded): Params {
  if (!isForm(req)) throw invalidRequest('The form could not be read.');
  const params = readParams(req.body);
  const csrf = params.get('csrf');
  if (params.duplicated.includes('csrf') || csrf === undefined || !safeEqual(csrf, loaded.interaction.csrf)) {
    throw new OAuthError(
      'invalid_request',
      'The form was not submitted from the sign-in page (CSRF check failed). Go back to the application and start again.',
      {
        status: 403,
      },
    );
  }
  return params;
}

export const paths = (id: string) => ({
  show: `/interaction/${id}`,
  login: `/interaction/${id}/login`,
  consent: `/interaction/${id}/consent`,
  cancel: `/interaction/${id}/cancel`,
  passkey: `/interaction/${id}/passkey`,
  otp: `/interaction/${id}/otp`,
  recovery: `/interaction/${id}/recovery`,
  enrolTotp: `/interaction/${id}/enrol/totp`,
  enrolTotpConfirm: `/interaction/${id}/enrol/totp/confirm`,
  enrolPasskey: `/interaction/${id}/enrol/passkey`,
  skip: `/interaction/${id}/enrol/skip`,
  continue: `/interaction/${id}/continue`,
});

/** The passkey form of an interaction page: a fresh challenge bound to the interaction. */
export async function passkeyForm(
  ctx: ServerContext,
  l: Loaded,
  mode: 'sign-in' | 'second' | 'register',
  user?: User,
): Promise<PasskeyFormProps | undefined> {
  if (!ctx.factors.passkeys.available) return undefined;
  const p = paths(l.interaction.id);
  const options =
    mode === 'register'
      ? await ctx.factors.passkeys.registrationOptions(user!, l.interaction.id)
      : await ctx.factors.passkeys.signInOptions(l.interaction.id, mode === 'second' ? user : undefined);
  return {
    action: mode === 'register' ? p.enrolPasskey : p.passkey,
    csrf: l.interaction.csrf,
    options,
    mode,
    nonce: randomToken(16),
  };
}

export async function renderLogin(
  ctx: ServerContext,
  reply: FastifyReply,
  l: Loaded,
  status: number,
  opts: { username?: string; error?: string } = {},
): Promise<FastifyReply> {
  const p = paths(l.interaction.id);
  // The passkey offered beside the password (a discoverable credential, no username needed).
  const passkey = await passkeyForm(ctx, l, 'sign-in');
  if (passkey) reply.header('x-latchkey-script-nonce', passkey.nonce);
  return sendHtml(
    reply,
    status,
    loginPage({
      action: p.login,
      cancelAction: p.cancel,
      csrf: l.interaction.csrf,
      clientName: l.client.name,
      username: opts.username ?? l.request.loginHint ?? undefined,
      ...(opts.error ? { error: opts.error } : {}),
      ...(passkey ? { passkey } : {}),
    }),
  );
}

/** The consent page, each API named and its scopes described as registered (RFC 8707). */
export const renderConsent = async (ctx: ServerContext, reply: FastifyReply, l: Loaded, username: string) =>
  sendHtml(
    reply,
    200,
    consentPage({
      action: paths(l.interaction.id).consent,
      csrf: l.interaction.csrf,
      clientName: l.client.name,
      username,
      scopes: l.request.scopes,
      apis: await consentApis(ctx.grants.apis, l.request.apis),
      ...(l.client.registration ? { unverified: unverifiedOf(l) } : {}),
    }),
  );

/**
 * Where a self-registered application is, for a person to judge it (RFC 7591 §5, the
 * metadata document draft's security considerations: its name proves nothing): the host of its
 * client_id URL (a metadata document), else the host of the redirect URI the code goes to (its
 * scheme for a private-use one).
 */
/** What the consent pages show of a self-registered application (where it is, where codes go). */
export function unverifiedOf(l: Loaded): UnverifiedClientView {
  const of = (u: string): string | undefined => {
    try {
      const url = new URL(u);
      return url.host || url.protocol.replace(/:$/, '');
    } catch {
      return undefined;
    }
  };
  const redirect = of(l.request.redirectUri) ?? 'an unknown address';
  const document = l.client.registration === 'metadata_document' ? of(l.client.clientId) : undefined;
  // A document on one host sending codes to another: both shown (the draft's §6.1 warns of it).
  const host =
    document === undefined || document === redirect
      ? redirect
      : `${document} (it sends you back to ${redirect})`;
  const redirectHosts = [...new Set(l.client.redirectUris.map((u) => of(u) ?? u))];
  const loopbackOnly =
    l.client.registration === 'metadata_document' &&
    l.client.redirectUris.length > 0 &&
    l.client.redirectUris.every((u) => isLoopbackRedirect(u));
  return { host, redirectHosts, loopbackOnly };
}

/** http://127.0.0.1, http://[::1] or http://localhost: an app on the person's own computer. */
function isLoopbackRedirect(u: string): boolean {
  try {
    const url = new URL(u);
    return url.protocol === 'http:' && ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
  } catch {
    return false;
  }
}

/** Completes the interaction exactly once (a racing or replayed post gets an error page). */
export async function complete(ctx: ServerContext, l: Loaded): Promise<void> {
  if (!(await ctx.storage.interactions.complete(l.interaction.id, ctx.clock.now()))) throw expired();
}

/** The session the interaction was signed in with, if this browser still holds it. */
export async function interactionSession(
  ctx: ServerContext,
  req: FastifyRequest,
  l: Loaded,
): Promise<ActiveSession | undefined> {
  const s = await currentSession(ctx, req);
  if (!s || l.interaction.userId === null || s.session.idHash !== l.interaction.sessionHash) return undefined;
  return s;
}

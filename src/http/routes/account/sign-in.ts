/**
 * Signing in to the account page goes through the same sign-in steps as an application's
 * (interaction/: a password or a passkey, then the MFA policy's second factor or enrolment), for
 * a built-in pseudo-application, "your Latchkey account", that is not in the clients table:
 * - its authorization request is made here (never read from a URL): scope openid, no consent,
 *   the server's LATCHKEY_MFA, and an account page to come back to as its redirect URI — a
 *   relative path, which no registered application can have (theirs are absolute URLs), so an
 *   interaction is the account page's only when it was made here (`isAccountRequest`);
 * - interaction/load.ts finds its Client here (`accountClientFor`);
 * - where an application's sign-in ends with a code, the account page's ends with a redirect to
 *   the page (`finishSignIn`, called by the interaction handlers instead of respondWithCode).
 * A change on the account page that needs a fresh sign-in asks for one with prompt=login
 * (OIDC Core §3.1.2.1: the person signs in again, whatever the session).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../../../context.js';
import { sha256 } from '../../../crypto.js';
import type { AuthorizationRequest } from '../../../protocol/authorize/index.js';
import { isDeviceRequest } from '../../../protocol/device.js';
import { OAuthError } from '../../../protocol/errors.js';
import type { Client } from '../../../storage/types.js';
import { respondWithCode, startInteraction } from '../../authorize-flow.js';
import { type ActiveSession, cookieValue, SESSION_COOKIE } from '../../session.js';

export const ACCOUNT_CLIENT_ID = 'latchkey-account';
export const ACCOUNT_PATH = '/account';

/** The account pages a sign-in may come back to (pages a GET shows; a form's change starts over). */
export const ACCOUNT_RETURN_PATHS = [ACCOUNT_PATH, '/account/passkeys/new', '/account/totp'] as const;
export type AccountReturnPath = (typeof ACCOUNT_RETURN_PATHS)[number];

const ACCOUNT_CLIENT: Client = {
  clientId: ACCOUNT_CLIENT_ID,
  name: 'your Latchkey account',
  type: 'web',
  redirectUris: [...ACCOUNT_RETURN_PATHS],
  postLogoutRedirectUris: [],
  grantTypes: [],
  tokenEndpointAuthMethod: 'none',
  secretHash: null,
  consent: 'none',
  requirePkce: false,
  accessTokenTtl: null,
  refreshTokenTtl: null,
  refreshIdleTtl: null,
  refreshGrace: null,
  rotateRefreshTokens: false,
  // No `mfa`: the server's LATCHKEY_MFA applies.
  createdAt: 0,
  updatedAt: 0,
};

/** The pseudo-application (a copy: callers may not change the shared one). */
export const accountClient = (): Client => structuredClone(ACCOUNT_CLIENT);

/** The authorization request of a sign-in to the account page that comes back to `returnTo`. */
export function accountRequest(returnTo: AccountReturnPath, fresh: boolean): AuthorizationRequest {
  return {
    clientId: ACCOUNT_CLIENT_ID,
    redirectUri: returnTo,
    redirectUriGiven: false,
    responseMode: 'query',
    scopes: ['openid'],
    state: null,
    nonce: null,
    codeChallenge: null,
    prompt: fresh ? ['login'] : [],
    maxAge: null,
    loginHint: null,
  };
}

/** Whether an interaction's request is a sign-in to the account page (made by accountRequest). */
export const isAccountRequest = (r: Pick<AuthorizationRequest, 'clientId' | 'redirectUri'>): boolean =>
  r.clientId === ACCOUNT_CLIENT_ID && (ACCOUNT_RETURN_PATHS as readonly string[]).includes(r.redirectUri);

/** The Client of an account-page interaction; undefined for an application's. */
export const accountClientFor = (r: AuthorizationRequest): Client | undefined =>
  isAccountRequest(r) ? accountClient() : undefined;

/**
 * Starts a sign-in to the account page: with no session a first sign-in, with `signedIn` the
 * steps its session still lacks (a step-up, as for an application), with `fresh` a new sign-in
 * however recent the session is (prompt=login). The interaction handlers take it from there.
 */
export function startAccountSignIn(
  ctx: ServerContext,
  reply: FastifyReply,
  returnTo: AccountReturnPath,
  opts: { signedIn?: ActiveSession; fresh?: boolean } = {},
): Promise<FastifyReply> {
  const fresh = opts.fresh === true;
  return startInteraction(ctx, reply, accountRequest(returnTo, fresh), fresh ? undefined : opts.signedIn);
}

/**
 * The end of a finished sign-in: a code for an application (respondWithCode), a redirect to the
 * page for the account page. A fresh sign-in started a new session (its cookie replaces the
 * earlier one in this browser), so the person's earlier session, which nobody holds any more, is
 * ended rather than left in their list of sessions until it expires.
 */
export async function finishSignIn(
  ctx: ServerContext,
  req: FastifyRequest,
  reply: FastifyReply,
  request: AuthorizationRequest,
  signedIn: ActiveSession,
): Promise<FastifyReply> {
  // A device's approval always ends on its confirmation page (prompt=consent), never here.
  if (isDeviceRequest(request)) throw new OAuthError('invalid_request', 'This sign-in cannot continue here.');
  if (!isAccountRequest(request)) return respondWithCode(ctx, reply, request, signedIn);
  const earlier = cookieValue(req, SESSION_COOKIE);
  const earlierHash = earlier === undefined ? undefined : sha256(earlier);
  if (earlierHash !== undefined && earlierHash !== signedIn.session.idHash) {
    const replaced = await ctx.storage.sessions.get(earlierHash);
    if (replaced && replaced.userId === signedIn.user.id && replaced.endedAt === null)
      await ctx.storage.sessions.end(earlierHash, ctx.clock.now());
  }
  return reply.code(303).header('cache-control', 'no-store').header('location', request.redirectUri).send();
}

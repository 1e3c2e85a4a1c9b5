/**
 * grant_type=refresh_token (RFC 6749 §6; RFC 9700 §4.14 rotation and reuse detection).
 *
 * One atomic statement consumes the presented token. The winner mints the successor and keeps
 * the response, encrypted, for the grace window, together with how the rotation was
 * authenticated (client and method). Any other presentation of a consumed token: inside the
 * window, from the same client authenticated the same way, it gets the identical successor
 * response (nothing minted, nothing revoked) — two tabs or threads refreshing at once stay
 * signed in; authenticated differently it is `invalid_grant` and gets nothing; after the window
 * it is reuse — the whole family (grant) is revoked and `invalid_grant`.
 *
 * The window is the application's `refreshGrace` (0 = off) or, when it has none,
 * LATCHKEY_REFRESH_GRACE (default 30 s). docs/security.md describes the trade-off.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { sha256 } from '../../crypto.js';
import type { Client, RefreshTokenRecord } from '../../storage/types.js';
import { lifetimesOf } from '../../tokens/lifetimes.js';
import { openSuccessor, sealSuccessor } from '../../tokens/successor.js';
import type { AuthenticatedClient } from '../client-auth.js';
import { isFapi2 } from '../client-policy.js';
import { invalidGrant, invalidRequest, invalidScope } from '../errors.js';
import type { Params } from '../params.js';
import { parseScope } from '../scopes.js';
import { issueRefreshToken, issueUserTokens } from './issue-tokens.js';
import { apiForToken } from './token-resource.js';
import type { GrantDeps, GrantHandler, GrantStores, TokenResponse } from './types.js';

/** How long a concurrent retry waits for the winner to store its response (real time). */
const SUCCESSOR_WAIT_MS = 3000;

/** The grace window of a client, in seconds: its own setting, else the server's (0 = off). */
const refreshGraceSec = (deps: GrantDeps, client: Client): number =>
  lifetimesOf(client, deps.lifetimes).refreshGrace.seconds;

/**
 * How the rotation was authenticated, recorded (sealed with the successor) when the token is
 * rotated. A retry inside the grace window gets the successor only when it matches.
 */
interface RotationBinding {
  clientId: string;
  authMethod: AuthenticatedClient['method'];
  /** RFC 9449: the DPoP key of the rotation's proof (absent: none); a retry must prove it too. */
  jkt?: string;
  /** RFC 8707: the resource(s) the rotation asked for (absent: none); a retry asks the same. */
  resource?: string;
}

/** What is sealed under the presented token at rotation (version 2: with the binding). */
interface SealedRotation {
  v: 2;
  binding: RotationBinding;
  response: TokenResponse;
}

const bindingOf = (auth: AuthenticatedClient, jkt: string | undefined, params: Params): RotationBinding => {
  const resource = params.all('resource').join(' ');
  return {
    clientId: auth.client.clientId,
    authMethod: auth.method,
    ...(jkt !== undefined ? { jkt } : {}),
    ...(resource !== '' ? { resource } : {}),
  };
};

/** A retry gets the successor only when authenticated as the rotation was, with the same DPoP key. */
function sameBinding(recorded: RotationBinding, retry: RotationBinding): boolean {
  return (
    recorded.clientId === retry.clientId &&
    recorded.authMethod === retry.authMethod &&
    recorded.jkt === retry.jkt &&
    recorded.resource === retry.resource
  );
}

export const refreshTokenGrant: GrantHandler = {
  grantType: 'refresh_token',
  parameters: ['refresh_token', 'scope', 'resource'],
  async handle(deps, { params, auth, ip, dpopJkt }) {
    const raw = params.get('refresh_token');
    if (!raw) throw invalidRequest('The refresh_token parameter is missing.');
    if (raw.length > 512) throw invalidGrant('The refresh token is invalid.');
    const hash = sha256(raw);
    const client = auth.client;
    const now = deps.clock.now();

    const current = await deps.stores.refreshTokens.get(hash);
    if (!current || current.clientId !== client.clientId) throw invalidGrant('The refresh token is invalid.');
    const grant = await deps.stores.grants.getGrant(current.grantId);
    if (!grant || grant.revokedAt !== null) throw invalidGrant('The refresh token has been revoked.');
    // RFC 9449 §5: a bound refresh token (a public client's) is used only with a proof of its key.
    if (current.dpopJkt !== undefined && dpopJkt !== current.dpopJkt)
      throw invalidGrant('The refresh token is bound to a DPoP key: send a DPoP proof made with that key.');
    // The access tokens follow the proof of this request; the family keeps its own binding.
    const jkt = dpopJkt !== undefined ? { jkt: dpopJkt } : {};

    // RFC 6749 §6: the requested scope must not exceed the original.
    const requested = parseScope(params.get('scope'));
    if (requested === undefined) throw invalidScope('The scope parameter is malformed.');
    const original = new Set(current.scope.split(' ').filter(Boolean));
    if (requested.some((s) => !original.has(s)))
      throw invalidScope('The requested scope exceeds the scope originally granted.');
    const narrowed =
      requested.length > 0
        ? current.scope.split(' ').filter((s) => requested.includes(s))
        : current.scope.split(' ');
    // RFC 8707 §2.2: a token for one of the grant's APIs, its scope narrowed to that API.
    const { api, scope } = await apiForToken(deps, client, grant, params, narrowed);

    // FAPI 2.0 Security Profile, authorization server requirements: a fapi2 application's refresh tokens are sender-constrained (DPoP and its
    // client authentication) and not rotated, so a lost response never strands the client.
    const rotate =
      !isFapi2(client) && (client.tokenEndpointAuthMethod === 'none' || client.rotateRefreshTokens);
    if (!rotate) {
      checkLifetime(current, now);
      const user = await activeUser(deps.stores, grant.userId);
      const idle = lifetimesOf(client, deps.lifetimes).refreshIdle.seconds * 1000;
      await deps.stores.refreshTokens.touch(hash, Math.min(current.expiresAt, now + idle));
      return issueUserTokens(deps, client, grant, user, scope, {
        nonce: null,
        api,
        refresh: { keep: raw },
        ...jkt,
      });
    }

    if (current.consumedAt !== null) return replayOrReuse(deps, raw, current, auth, ip, dpopJkt, params);
    checkLifetime(current, now);
    const user = await activeUser(deps.stores, grant.userId);
    // The rotation is one transaction: the consumption, the new token and the stored successor
    // commit together or not at all, so a crash never leaves the presented token spent without
    // the answer a retry inside the grace window gets (test/ops/crash.test.ts). The tokens are
    // minted first (nothing written), so the transaction holds the connection only for writes.
    const response = await issueUserTokens(deps, client, grant, user, scope, {
      nonce: null,
      api,
      refresh: 'none',
      ...jkt,
    });
    const grace = refreshGraceSec(deps, client);
    const claimed = await deps.transaction(async (stores) => {
      const won = await stores.refreshTokens.consume(hash, now);
      if (won.status !== 'rotated') return won;
      response.refresh_token = await issueRefreshToken(
        { ...deps, stores },
        client,
        grant,
        user,
        current.dpopJkt,
      );
      if (grace > 0) {
        const sealed: SealedRotation = { v: 2, binding: bindingOf(auth, dpopJkt, params), response };
        await stores.refreshTokens.saveSuccessor(hash, sealSuccessor(raw, sealed), now + grace * 1000);
      }
      return won;
    });
    if (claimed.status !== 'rotated') {
      if (claimed.status === 'unknown') throw invalidGrant('The refresh token is invalid.');
      return replayOrReuse(deps, raw, claimed.token, auth, ip, dpopJkt, params);
    }
    return response;
  },
};

function checkLifetime(t: RefreshTokenRecord, now: number): void {
  if (t.expiresAt <= now || t.idleExpiresAt <= now) throw invalidGrant('The refresh token has expired.');
}

async function activeUser(stores: Pick<GrantStores, 'users'>, userId: string) {
  const user = await stores.users.getById(userId);
  if (!user || user.disabled) throw invalidGrant('The user of this refresh token can no longer sign in.');
  return user;
}

/**
 * A consumed token presented again: inside the grace window, the stored answer when the retry is
 * authenticated as the rotation was (else invalid_grant, nothing handed out, nothing revoked);
 * after the window, reuse.
 */
async function replayOrReuse(
  deps: GrantDeps,
  raw: string,
  token: RefreshTokenRecord,
  auth: AuthenticatedClient,
  ip: string,
  dpopJkt: string | undefined,
  params: Params,
): Promise<TokenResponse> {
  // The caller has checked that the token belongs to auth.client.
  const grace = refreshGraceSec(deps, auth.client) * 1000;
  const consumedAt = token.consumedAt ?? deps.clock.now();
  if (grace > 0 && deps.clock.now() <= consumedAt + grace) {
    // The winner may still be minting: wait (bounded) for its stored response.
    const deadline = Date.now() + SUCCESSOR_WAIT_MS;
    let t: RefreshTokenRecord | undefined = token;
    while (t && t.successor === null && Date.now() < deadline) {
      await sleep(15);
      t = await deps.stores.refreshTokens.get(token.hash);
    }
    const grant = await deps.stores.grants.getGrant(token.grantId);
    if (t?.successor && grant && grant.revokedAt === null) {
      // A successor sealed before the binding was recorded (no `v`) is not handed out: how that
      // rotation was authenticated is unknown.
      const sealed = openSuccessor<Partial<SealedRotation>>(raw, t.successor);
      if (sealed?.v === 2 && sealed.binding && sealed.response) {
        if (!sameBinding(sealed.binding, bindingOf(auth, dpopJkt, params)))
          throw invalidGrant(
            'The refresh token has already been used; a retry must authenticate as the first request did and ask for the same resource.',
          );
        return sealed.response;
      }
    }
    throw invalidGrant('The refresh token has already been used.');
  }
  // RFC 9700 §4.14.2: reuse of a rotated refresh token revokes the whole family.
  await deps.stores.grants.revokeGrant(token.grantId, deps.clock.now());
  await deps.audit.record('refresh_reuse_detected', {
    clientId: token.clientId,
    userId: token.userId,
    ip,
    detail: { family: token.grantId },
  });
  throw invalidGrant('The refresh token has already been used; the session it belongs to has been revoked.');
}

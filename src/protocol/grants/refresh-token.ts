/**
 * grant_type=refresh_token (RFC 6749 §6; RFC 9700 §4.14 rotation and reuse detection).
 *
 * One atomic statement consumes the presented token. The winner mints the successor and keeps
 * the response, encrypted, for the client's grace window. Any other presentation of a consumed
 * token: inside the window it gets the identical successor response (nothing minted, nothing
 * revoked); after it, it is reuse — the whole family (grant) is revoked and `invalid_grant`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServerContext } from '../../context.js';
import { sha256 } from '../../crypto.js';
import type { RefreshTokenRecord } from '../../storage/types.js';
import { issueRefreshToken, issueUserTokens } from '../../tokens/issue.js';
import { openSuccessor, sealSuccessor } from '../../tokens/successor.js';
import { invalidGrant, invalidRequest, invalidScope } from '../errors.js';
import { parseScope } from '../scopes.js';
import type { GrantHandler, TokenResponse } from './types.js';

/** How long a concurrent retry waits for the winner to store its response (real time). */
const SUCCESSOR_WAIT_MS = 3000;

export const refreshTokenGrant: GrantHandler = {
  grantType: 'refresh_token',
  parameters: ['refresh_token', 'scope'],
  async handle(ctx, { params, auth, ip }) {
    const raw = params.get('refresh_token');
    if (!raw) throw invalidRequest('The refresh_token parameter is missing.');
    if (raw.length > 512) throw invalidGrant('The refresh token is invalid.');
    const hash = sha256(raw);
    const client = auth.client;
    const now = ctx.clock.now();

    const current = await ctx.storage.refreshTokens.get(hash);
    if (!current || current.clientId !== client.clientId) throw invalidGrant('The refresh token is invalid.');
    const grant = await ctx.storage.grants.getGrant(current.grantId);
    if (!grant || grant.revokedAt !== null) throw invalidGrant('The refresh token has been revoked.');

    // RFC 6749 §6: the requested scope must not exceed the original.
    const requested = parseScope(params.get('scope'));
    if (requested === undefined) throw invalidScope('The scope parameter is malformed.');
    const original = new Set(current.scope.split(' ').filter(Boolean));
    if (requested.some((s) => !original.has(s)))
      throw invalidScope('The requested scope exceeds the scope originally granted.');
    const scope =
      requested.length > 0
        ? current.scope
            .split(' ')
            .filter((s) => requested.includes(s))
            .join(' ')
        : current.scope;

    const rotate = client.tokenEndpointAuthMethod === 'none' || client.rotateRefreshTokens;
    if (!rotate) {
      checkLifetime(current, now);
      const user = await activeUser(ctx, grant.userId);
      const idle = (client.refreshIdleTtl ?? ctx.config.refreshIdleTtlSec) * 1000;
      await ctx.storage.refreshTokens.touch(hash, Math.min(current.expiresAt, now + idle));
      return issueUserTokens(ctx, client, grant, user, scope, { nonce: null, refresh: { keep: raw } });
    }

    if (current.consumedAt !== null) return replayOrReuse(ctx, raw, current, ip);
    checkLifetime(current, now);
    const user = await activeUser(ctx, grant.userId);
    const claimed = await ctx.storage.refreshTokens.consume(hash, now);
    if (claimed.status !== 'rotated') {
      if (claimed.status === 'unknown') throw invalidGrant('The refresh token is invalid.');
      return replayOrReuse(ctx, raw, claimed.token, ip);
    }
    const response = await issueUserTokens(ctx, client, grant, user, scope, { nonce: null, refresh: 'none' });
    response.refresh_token = await issueRefreshToken(ctx, client, grant, user);
    if (client.refreshGrace > 0) {
      await ctx.storage.refreshTokens.saveSuccessor(
        hash,
        sealSuccessor(raw, response),
        now + client.refreshGrace * 1000,
      );
    }
    return response;
  },
};

function checkLifetime(t: RefreshTokenRecord, now: number): void {
  if (t.expiresAt <= now || t.idleExpiresAt <= now) throw invalidGrant('The refresh token has expired.');
}

async function activeUser(ctx: ServerContext, userId: string) {
  const user = await ctx.storage.users.getById(userId);
  if (!user || user.disabled) throw invalidGrant('The user of this refresh token can no longer sign in.');
  return user;
}

/** A consumed token presented again: the stored answer inside the grace window, else reuse. */
async function replayOrReuse(
  ctx: ServerContext,
  raw: string,
  token: RefreshTokenRecord,
  ip: string,
): Promise<TokenResponse> {
  const client = await ctx.storage.clients.get(token.clientId);
  const grace = (client?.refreshGrace ?? 0) * 1000;
  const consumedAt = token.consumedAt ?? ctx.clock.now();
  if (grace > 0 && ctx.clock.now() <= consumedAt + grace) {
    // The winner may still be minting: wait (bounded) for its stored response.
    const deadline = Date.now() + SUCCESSOR_WAIT_MS;
    let t: RefreshTokenRecord | undefined = token;
    while (t && t.successor === null && Date.now() < deadline) {
      await sleep(15);
      t = await ctx.storage.refreshTokens.get(token.hash);
    }
    const grant = await ctx.storage.grants.getGrant(token.grantId);
    if (t?.successor && grant && grant.revokedAt === null) {
      const response = openSuccessor<TokenResponse>(raw, t.successor);
      if (response) return response;
    }
    throw invalidGrant('The refresh token has already been used.');
  }
  // RFC 9700 §4.14.2: reuse of a rotated refresh token revokes the whole family.
  await ctx.storage.grants.revokeGrant(token.grantId, ctx.clock.now());
  await ctx.audit.record('refresh_reuse_detected', {
    clientId: token.clientId,
    userId: token.userId,
    ip,
    detail: { family: token.grantId },
  });
  throw invalidGrant('The refresh token has already been used; the session it belongs to has been revoked.');
}

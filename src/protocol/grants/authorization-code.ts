/**
 * grant_type=authorization_code (RFC 6749 §4.1.3, RFC 7636 §4.6, RFC 9700 §2.1.1, §4.2.4).
 * The code is consumed first, in one atomic statement; every later check runs on the
 * consumed code, so a failed attempt burns it. A second redemption revokes what it issued.
 */
import { sha256 } from '../../crypto.js';
import { invalidGrant, invalidRequest } from '../errors.js';
import { verifierMatches } from '../pkce.js';
import { issueUserTokens } from './issue-tokens.js';
import { apiForToken } from './token-resource.js';
import type { GrantHandler } from './types.js';

export const authorizationCodeGrant: GrantHandler = {
  grantType: 'authorization_code',
  parameters: ['code', 'redirect_uri', 'code_verifier', 'resource'],
  async handle(deps, { params, auth, ip, dpopJkt }) {
    const code = params.get('code');
    if (!code) throw invalidRequest('The code parameter is missing.');
    if (code.length > 512) throw invalidGrant('The authorization code is invalid.');
    const now = deps.clock.now();
    const result = await deps.stores.grants.consumeCode(sha256(code), now);
    if (result.status === 'unknown') throw invalidGrant('The authorization code is invalid.');
    if (result.status === 'already-consumed') {
      // RFC 6749 §4.1.2: revoke (when possible) all tokens previously issued based on that code —
      // when the code's own client presents it again; another client's attempt only fails.
      if (result.code.clientId !== auth.client.clientId)
        throw invalidGrant('The authorization code is invalid.');
      await deps.stores.grants.revokeGrant(result.code.grantId, now);
      await deps.audit.record('code_reuse_detected', {
        clientId: result.code.clientId,
        ip,
        detail: { grant_id: result.code.grantId },
      });
      throw invalidGrant('The authorization code has already been used.');
    }
    const { code: stored, grant } = result;
    if (stored.clientId !== auth.client.clientId)
      throw invalidGrant('The authorization code was issued to another client.');
    if (stored.expiresAt <= now) throw invalidGrant('The authorization code has expired.');
    // No check of grant.revokedAt here: racing redemptions revoke the grant as soon as they see
    // the code consumed, possibly before the winner gets this far. The winner still answers
    // (exactly one redemption gets tokens), and what it issues is dead on arrival because every
    // token is checked against its grant — the final state RFC 6749 §4.1.2 asks for.
    const redirectUri = params.get('redirect_uri');
    if (stored.redirectUri !== null && redirectUri !== stored.redirectUri) {
      throw invalidGrant('redirect_uri does not match the one used in the authorization request.');
    }
    if (
      stored.redirectUri === null &&
      redirectUri !== undefined &&
      !auth.client.redirectUris.includes(redirectUri)
    ) {
      throw invalidGrant('redirect_uri does not match the one used in the authorization request.');
    }
    const verifier = params.get('code_verifier');
    if (stored.codeChallenge === null) {
      // RFC 9700 §2.1.1: a verifier for a code issued without a challenge is a downgrade attempt.
      if (verifier !== undefined)
        throw invalidGrant('code_verifier was sent but the authorization request had no code_challenge.');
    } else {
      if (verifier === undefined) throw invalidGrant('code_verifier is required (PKCE).');
      if (!verifierMatches(verifier, stored.codeChallenge))
        throw invalidGrant('code_verifier does not match the code_challenge.');
    }
    // RFC 9449 §10: a code bound to a key (dpop_jkt) is redeemed only with a proof of that key.
    if (stored.dpopJkt !== undefined && stored.dpopJkt !== dpopJkt)
      throw invalidGrant('The authorization code is bound to another DPoP key (dpop_jkt).');
    const user = await deps.stores.users.getById(grant.userId);
    if (!user || user.disabled)
      throw invalidGrant('The user of this authorization code can no longer sign in.');
    // RFC 8707 §2.2: one of the APIs of the authorization request, the scope narrowed to it.
    const { api, scope } = await apiForToken(deps, auth.client, grant, params, grant.scope.split(' '));
    return issueUserTokens(deps, auth.client, grant, user, scope, {
      nonce: grant.nonce,
      api,
      ...(dpopJkt !== undefined ? { jkt: dpopJkt } : {}),
    });
  },
};

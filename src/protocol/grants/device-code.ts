/**
 * grant_type=urn:ietf:params:oauth:grant-type:device_code (RFC 8628 §3.4, §3.5): the device
 * polls with its device code until the person approved or denied it on another device. Each
 * change of state is one conditional statement of the store: a poll is counted only at the
 * interval (else slow_down), and an approved code is taken once (of racing polls, exactly one
 * gets tokens; the others are told it was used).
 */
import { sha256 } from '../../crypto.js';
import { DEVICE_CODE_GRANT, SLOW_DOWN_STEP_SEC } from '../device.js';
import { invalidGrant, invalidRequest, OAuthError } from '../errors.js';
import { issueUserTokens } from './issue-tokens.js';
import { apiForToken } from './token-resource.js';
import type { GrantHandler } from './types.js';

export const deviceCodeGrant: GrantHandler = {
  grantType: DEVICE_CODE_GRANT,
  parameters: ['device_code', 'resource'],
  async handle(deps, { params, auth, dpopJkt }) {
    const deviceCode = params.get('device_code');
    if (!deviceCode) throw invalidRequest('The device_code parameter is missing.');
    if (deviceCode.length > 512) throw invalidGrant('The device code is invalid.');
    const hash = sha256(deviceCode);
    const now = deps.clock.now();
    const stored = await deps.stores.deviceCodes.get(hash);
    // Another client's code is as unknown as a made-up one (RFC 8628 §3.4: issued to this client).
    if (!stored || stored.clientId !== auth.client.clientId)
      throw invalidGrant('The device code is invalid.');
    if (stored.consumedAt !== null) throw invalidGrant('The device code has already been used.');
    // RFC 8628 §3.5: expired_token once the code has expired, whatever the person did.
    if (stored.expiresAt <= now)
      throw new OAuthError('expired_token', 'The device code has expired. Start the sign-in again.');
    // RFC 8628 §3.5: access_denied, as a token endpoint error (RFC 6749 §5.2: status 400).
    if (stored.status === 'denied')
      throw new OAuthError('access_denied', 'The user denied the request.', { status: 400 });
    if (stored.status === 'pending') {
      // RFC 8628 §3.5: polling faster than the interval is slow_down, and the interval grows by 5 s
      // for this and every later request.
      if (!(await deps.stores.deviceCodes.poll(hash, now))) {
        await deps.stores.deviceCodes.slowDown(hash, SLOW_DOWN_STEP_SEC, now);
        throw new OAuthError(
          'slow_down',
          `Polling too fast: wait at least ${stored.interval + SLOW_DOWN_STEP_SEC} seconds between requests.`,
        );
      }
      throw new OAuthError('authorization_pending', 'The user has not approved the request yet.');
    }
    const taken = await deps.stores.deviceCodes.consume(hash, now);
    if (!taken || taken.grantId === null) throw invalidGrant('The device code has already been used.');
    const grant = await deps.stores.grants.getGrant(taken.grantId);
    if (!grant || grant.revokedAt !== null) throw invalidGrant('The device code is invalid.');
    const user = await deps.stores.users.getById(grant.userId);
    if (!user || user.disabled) throw invalidGrant('The user of this device code can no longer sign in.');
    // RFC 8707 §2.2: the token's API, among those the person approved for this device.
    const { api, scope } = await apiForToken(deps, auth.client, grant, params, grant.scope.split(' '));
    return issueUserTokens(deps, auth.client, grant, user, scope, {
      nonce: null,
      api,
      ...(dpopJkt !== undefined ? { jkt: dpopJkt } : {}),
    });
  },
};

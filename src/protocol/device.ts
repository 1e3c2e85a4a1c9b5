/**
 * The device authorization grant (RFC 8628): the codes, and the device authorization request of
 * §3.1–3.2. The pages a person types the code into are in http/routes/device.ts; the polling at
 * /token is grants/device-code.ts.
 */
import { randomInt } from 'node:crypto';
import type { Clock } from '../clock.js';
import { randomToken, sha256 } from '../crypto.js';
import { type Client, type DeviceCodeStore, DuplicateError, type GrantType } from '../storage/types.js';
import { runScopeCheck } from './authorize/check-scope.js';
import type { AuthorizationRequest } from './authorize/request.js';
import { OAuthError, unauthorizedClient } from './errors.js';
import type { Params } from './params.js';
import { type ApiLookup, authorizationScopes, parseResources, resolveResources } from './resources.js';
import { parseScope } from './scopes.js';

/** RFC 8628 §3.4: the grant_type of the device's token requests. */
export const DEVICE_CODE_GRANT: GrantType = 'urn:ietf:params:oauth:grant-type:device_code';

/** RFC 8628 §6.1: base-20 letters without vowels, so no word is spelt and nothing is confused. */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
/** RFC 8628 §6.1: 8 characters of this alphabet are about 34.5 bits, with throttled guessing. */
export const USER_CODE_LENGTH = 8;

/** RFC 8628 §3.5: each slow_down raises the interval by 5 seconds. */
export const SLOW_DOWN_STEP_SEC = 5;

/** A fresh user code, uniformly drawn, normalised (no dash). */
export function newUserCode(): string {
  let code = '';
  for (let i = 0; i < USER_CODE_LENGTH; i++) code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return code;
}

/** How it is shown and sent: `XXXX-XXXX` (RFC 8628 §6.1: a dash helps people read it). */
export const formatUserCode = (normalised: string): string =>
  `${normalised.slice(0, 4)}-${normalised.slice(4)}`;

/**
 * What a person typed, normalised (RFC 8628 §6.1: case-insensitive, dashes and spaces ignored),
 * or undefined when it cannot be a user code at all.
 */
export function normaliseUserCode(typed: string): string | undefined {
  if (typed.length > 64) return undefined;
  const code = typed.replace(/[\s-]/g, '').toUpperCase();
  if (code.length !== USER_CODE_LENGTH) return undefined;
  for (const ch of code) if (!USER_CODE_ALPHABET.includes(ch)) return undefined;
  return code;
}

/** The key a user code is stored and looked up under (of its normalised form). */
export const userCodeHash = (normalised: string): string => sha256(`user-code\u0000${normalised}`);

/** RFC 8628 §3.2: the device authorization response. */
export interface DeviceAuthorizationResponse {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

export interface DeviceAuthorizationDeps {
  clock: Clock;
  store: Pick<DeviceCodeStore, 'create'>;
  issuer: string;
  ttlSec: number;
  intervalSec: number;
  /** The registered APIs (RFC 8707 `resource`). */
  apis: ApiLookup;
}

/** The page a person opens on another device (RFC 8628 §3.2 `verification_uri`). */
export const DEVICE_PAGE_PATH = '/device';
export const verificationUri = (issuer: string): string => `${issuer}${DEVICE_PAGE_PATH}`;

/**
 * Whether an interaction's request is a person's approval of a device (made at POST /device,
 * never from a URL): its "redirect URI" is the relative path of the page, which no registered
 * application can have (theirs are absolute URLs), and it names the user code.
 */
export const isDeviceRequest = (r: Pick<AuthorizationRequest, 'redirectUri' | 'device'>): boolean =>
  r.device !== undefined && r.redirectUri === DEVICE_PAGE_PATH;

/**
 * RFC 8628 §3.1: an authenticated client allowed the grant asks for codes; the scope is checked
 * as /authorize checks it (unknown values ignored, offline_access only with refresh tokens), and
 * `resource` (RFC 8707 §2, repeatable) as checkResource does: each a registered API the client
 * may ask for (else invalid_target), the API scopes asked kept with the OpenID Connect ones.
 */
export async function startDeviceAuthorization(
  deps: DeviceAuthorizationDeps,
  client: Client,
  params: Params,
): Promise<DeviceAuthorizationResponse> {
  if (!client.grantTypes.includes(DEVICE_CODE_GRANT))
    throw unauthorizedClient('This application may not use the device authorization grant.');
  const oidcScopes = runScopeCheck(client, params);
  const apis = await resolveResources(deps.apis, client, parseResources(params.all('resource')));
  // runScopeCheck has refused a malformed scope parameter already.
  const requested = parseScope(params.get('scope')) ?? [];
  const { scopes: apiScopes } = await authorizationScopes(deps.apis, client, requested, apis);
  const scopes = [...oidcScopes, ...apiScopes];
  // As a grant's: absent when the default API alone is asked for.
  const ids = apis.map((a) => a.identifier);
  const resources = ids.length === 1 && ids[0] === deps.apis.defaultIdentifier ? [] : ids;
  const now = deps.clock.now();
  const deviceCode = randomToken(32);
  // A user code already in use (live, or expired and not purged yet) is drawn again.
  for (let attempt = 0; attempt < 5; attempt++) {
    const userCode = newUserCode();
    try {
      await deps.store.create({
        hash: sha256(deviceCode),
        userCodeHash: userCodeHash(userCode),
        clientId: client.clientId,
        scope: scopes.join(' '),
        interval: deps.intervalSec,
        createdAt: now,
        expiresAt: now + deps.ttlSec * 1000,
        lastPolledAt: null,
        status: 'pending',
        grantId: null,
        consumedAt: null,
        ...(resources.length > 0 ? { resources } : {}),
      });
    } catch (err) {
      if (err instanceof DuplicateError) continue;
      throw err;
    }
    const shown = formatUserCode(userCode);
    const uri = verificationUri(deps.issuer);
    return {
      device_code: deviceCode,
      user_code: shown,
      verification_uri: uri,
      verification_uri_complete: `${uri}?user_code=${encodeURIComponent(shown)}`,
      expires_in: deps.ttlSec,
      interval: deps.intervalSec,
    };
  }
  throw new OAuthError('temporarily_unavailable', 'No user code could be issued. Try again.', {
    status: 503,
    headers: { 'retry-after': '1' },
  });
}

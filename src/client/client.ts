/**
 * The OAuth 2.1 / OpenID Connect client side of the Authorization Code Flow with PKCE, as a
 * native app or SPA runs it against Latchkey: discovery, authorize URL, callback validation
 * (state, RFC 9207 iss, error), code exchange with ID token validation (jose), refresh (with
 * rotation; concurrent calls for one token share one request), revocation, userinfo, logout URL,
 * and DPoP (RFC 9449, client/dpop.ts): with the `dpop` option every token request and resource
 * call carries a proof, and a `use_dpop_nonce` answer is retried once with the server's nonce.
 * Step-up (RFC 9470): `acrValues` / `maxAge` on the authorize URL, and `fetchResource` with a
 * `stepUp` callback follows an API's `insufficient_user_authentication` challenge once.
 *
 * Browser-safe: fetch, WebCrypto and jose only; nothing from node:*.
 */
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';
import { checkTimeClaims } from '../tokens/clock-rules.js';
import { stepUpRequired } from './challenge.js';
import { DpopKey, dpopChallengeError } from './dpop.js';
import { base64url, randomString, sha256 } from './encoding.js';
import { invalidArgument, LatchkeyError, type StepUpRequiredError } from './errors.js';
import { createPkcePair } from './pkce.js';

/** The subset of RFC 8414 / OIDC Discovery metadata the SDK uses. */
export interface ServerMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri?: string;
  userinfo_endpoint?: string;
  revocation_endpoint?: string;
  end_session_endpoint?: string;
  /** RFC 8628 §4. */
  device_authorization_endpoint?: string;
  grant_types_supported?: string[];
  code_challenge_methods_supported?: string[];
  id_token_signing_alg_values_supported?: string[];
  authorization_response_iss_parameter_supported?: boolean;
  [key: string]: unknown;
}

export interface ClientOptions {
  metadata: ServerMetadata;
  clientId: string;
  /** For confidential clients (sent with HTTP Basic); native apps and SPAs have none. */
  clientSecret?: string;
  fetch?: typeof fetch;
  /** Milliseconds since the epoch, for ID token time checks and `expiresAt`; default Date.now. */
  now?: () => number;
  clockToleranceSec?: number;
  /** HTTP timeout per request, ms (default 10000). */
  timeoutMs?: number;
  /**
   * DPoP (RFC 9449): `true` makes a non-extractable ES256 key on first use (DpopKey.generate);
   * or a DpopKey to use. Tokens are then bound to the key (`tokenType` 'DPoP').
   */
  dpop?: boolean | DpopKey;
}

export interface AuthorizationRequest {
  url: string;
  state: string;
  nonce: string;
  codeVerifier: string;
  redirectUri: string;
  scope: string;
  /** The `acr_values` asked for, when some were. */
  acrValues?: string[];
  /** The `max_age` asked for: the ID token's `auth_time` is then checked against it. */
  maxAge?: number;
}

/**
 * What `fetchResource` calls when an API asks for a stronger or more recent sign-in (RFC 9470):
 * sign the person in again with the challenge's `acrValues` / `maxAge` (`err.authorizationParams`)
 * and return the new tokens (or access token), which the app keeps; the request is then sent
 * once more with them.
 */
export type StepUpHandler = (challenge: StepUpRequiredError) => Promise<TokenSet | string>;

export interface CallbackParams {
  code: string;
  state: string;
  iss: string | undefined;
}

export interface TokenSet {
  accessToken: string;
  /** 'DPoP' when the access token is bound to the client's DPoP key (RFC 9449 §5). */
  tokenType: 'Bearer' | 'DPoP';
  /** Milliseconds since the epoch, from `expires_in`. */
  expiresAt: number | undefined;
  refreshToken: string | undefined;
  idToken: string | undefined;
  /** Verified ID token claims. */
  idTokenClaims: JWTPayload | undefined;
  scope: string | undefined;
}

export type FetchLike = typeof fetch;

/** The device authorization response (RFC 8628 §3.2), read and checked. */
export interface DeviceAuthorization {
  deviceCode: string;
  /** What the person types at `verificationUri`. */
  userCode: string;
  verificationUri: string;
  /** `verificationUri` with the user code in it (§3.3.1), when the server gives one. */
  verificationUriComplete: string | undefined;
  /** Seconds the codes are valid for, as the server said. */
  expiresIn: number;
  /** Milliseconds since the epoch (the client's `now`) after which polling stops. */
  expiresAt: number;
  /** Seconds to wait between polls (§3.2: 5 when the server says nothing). */
  interval: number;
  /** The scope asked for (for the ID token check: an ID token is expected with `openid`). */
  scope: string;
}

/** Waits `ms` milliseconds; rejects (or returns early) when `signal` aborts. */
export type SleepFn = (ms: number, signal?: AbortSignal) => Promise<void>;

const realSleep: SleepFn = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** The RFC 8628 grant type at the token endpoint. */
export const DEVICE_CODE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';

/** A URL for messages: no query (it may hold secrets). */
const htuOfSafe = (url: string): string => {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return 'the resource';
  }
};

function requireString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') throw invalidArgument(`${name} must be a non-empty string`);
  return value;
}

function requireUrl(value: unknown, name: string): URL {
  const s = requireString(value, name);
  try {
    return new URL(s);
  } catch {
    throw invalidArgument(`${name} must be an absolute URL`);
  }
}

async function readJson(
  res: Response,
  what: string,
  code: LatchkeyError['code'],
): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = await res.json();
  } catch (cause) {
    throw new LatchkeyError(code, `the ${what} response is not JSON (HTTP ${res.status})`, {
      status: res.status,
      cause,
    });
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new LatchkeyError(code, `the ${what} response is not a JSON object`, { status: res.status });
  }
  return body as Record<string, unknown>;
}

/** Turns an OAuth error body into a LatchkeyError with the server's error and description. */
async function oauthFailure(
  res: Response,
  what: string,
  code: LatchkeyError['code'],
): Promise<LatchkeyError> {
  let body: Record<string, unknown> = {};
  try {
    body = (await res.json()) as Record<string, unknown>;
  } catch {
    // not JSON: keep the status only
  }
  const error = typeof body?.['error'] === 'string' ? body['error'] : undefined;
  const errorDescription =
    typeof body?.['error_description'] === 'string' ? body['error_description'] : undefined;
  const detail = error ? `${error}${errorDescription ? `: ${errorDescription}` : ''}` : `HTTP ${res.status}`;
  return new LatchkeyError(code, `the ${what} request failed (${detail})`, {
    status: res.status,
    ...(error ? { error } : {}),
    ...(errorDescription ? { errorDescription } : {}),
  });
}

/** Fetches and checks the issuer's discovery document (the `issuer` in it must be the one asked for). */
export async function discover(
  issuer: string,
  opts: { fetch?: FetchLike; timeoutMs?: number } = {},
): Promise<ServerMetadata> {
  const issuerUrl = requireUrl(issuer, 'issuer');
  const doFetch = opts.fetch ?? globalThis.fetch;
  const base = issuerUrl.href.replace(/\/$/, '');
  let res: Response;
  try {
    res = await doFetch(`${base}/.well-known/openid-configuration`, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
    });
  } catch (cause) {
    throw new LatchkeyError('LATCHKEY_DISCOVERY_ERROR', `cannot reach ${base}`, { cause });
  }
  if (res.status !== 200) {
    throw new LatchkeyError('LATCHKEY_DISCOVERY_ERROR', `discovery answered HTTP ${res.status}`, {
      status: res.status,
    });
  }
  const doc = await readJson(res, 'discovery', 'LATCHKEY_DISCOVERY_ERROR');
  if (doc['issuer'] !== issuer) {
    throw new LatchkeyError(
      'LATCHKEY_ISSUER_MISMATCH',
      `the discovery document names issuer ${String(doc['issuer'])}, expected ${issuer}`,
    );
  }
  for (const k of ['authorization_endpoint', 'token_endpoint']) {
    if (typeof doc[k] !== 'string') {
      throw new LatchkeyError('LATCHKEY_DISCOVERY_ERROR', `the discovery document has no ${k}`);
    }
  }
  return doc as ServerMetadata;
}

export class LatchkeyClient {
  readonly metadata: ServerMetadata;
  readonly clientId: string;
  readonly #secret: string | undefined;
  readonly #fetch: FetchLike;
  readonly #now: () => number;
  readonly #tolerance: number;
  readonly #timeoutMs: number;
  #jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  readonly #refreshing = new Map<string, Promise<TokenSet>>();
  #dpop: Promise<DpopKey> | undefined;

  constructor(opts: ClientOptions) {
    if (!opts || typeof opts !== 'object') throw invalidArgument('options are required');
    if (!opts.metadata || typeof opts.metadata !== 'object') throw invalidArgument('metadata is required');
    requireUrl(opts.metadata.issuer, 'metadata.issuer');
    requireUrl(opts.metadata.authorization_endpoint, 'metadata.authorization_endpoint');
    requireUrl(opts.metadata.token_endpoint, 'metadata.token_endpoint');
    this.clientId = requireString(opts.clientId, 'clientId');
    if (opts.clientSecret !== undefined) requireString(opts.clientSecret, 'clientSecret');
    this.metadata = opts.metadata;
    this.#secret = opts.clientSecret;
    this.#fetch = opts.fetch ?? globalThis.fetch;
    this.#now = opts.now ?? Date.now;
    this.#tolerance = opts.clockToleranceSec ?? 30;
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    if (opts.dpop instanceof DpopKey) this.#dpop = Promise.resolve(opts.dpop);
    else if (opts.dpop === true) this.#dpop = undefined;
    else if (opts.dpop !== undefined && opts.dpop !== false)
      throw invalidArgument('dpop must be true, false or a DpopKey');
    this.#dpopWanted = opts.dpop !== undefined && opts.dpop !== false;
  }

  readonly #dpopWanted: boolean;

  /** The DPoP key of this client (made on first use with `dpop: true`); undefined without DPoP. */
  async dpopKey(): Promise<DpopKey | undefined> {
    if (!this.#dpopWanted) return undefined;
    this.#dpop ??= DpopKey.generate().catch((err: unknown) => {
      this.#dpop = undefined;
      throw err;
    });
    return this.#dpop;
  }

  /** Discovery + a client in one step. */
  static async discover(opts: Omit<ClientOptions, 'metadata'> & { issuer: string }): Promise<LatchkeyClient> {
    requireUrl(opts?.issuer, 'issuer');
    requireString(opts.clientId, 'clientId');
    const metadata = await discover(opts.issuer, {
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    });
    return new LatchkeyClient({ ...opts, metadata });
  }

  get issuer(): string {
    return this.metadata.issuer;
  }

  /** Builds the authorize URL with a fresh state, nonce and S256 challenge. Keep the result until the callback. */
  async createAuthorizationRequest(opts: {
    redirectUri: string;
    scope?: string;
    state?: string;
    nonce?: string;
    prompt?: string;
    loginHint?: string;
    /**
     * OIDC Core §3.1.2.1 / RFC 9470 §4 `acr_values`: the authentication context classes asked
     * for, in order of preference (Latchkey: `urn:latchkey:acr:mfa`, `…:phr`).
     */
    acrValues?: string | string[];
    /** OIDC Core §3.1.2.1 / RFC 9470 §4 `max_age`: the oldest sign-in acceptable, in seconds. */
    maxAge?: number;
    extraParams?: Record<string, string>;
  }): Promise<AuthorizationRequest> {
    // Validated, but sent exactly as given: the server compares redirect URIs as strings.
    requireUrl(opts?.redirectUri, 'redirectUri');
    const redirectUri = opts.redirectUri;
    const scope = opts.scope ?? 'openid';
    if (typeof scope !== 'string' || scope.trim() === '')
      throw invalidArgument('scope must be a non-empty string');
    if (opts.state !== undefined) requireString(opts.state, 'state');
    if (opts.nonce !== undefined) requireString(opts.nonce, 'nonce');
    const acrValues =
      typeof opts.acrValues === 'string' ? opts.acrValues.split(' ').filter(Boolean) : opts.acrValues;
    if (
      acrValues !== undefined &&
      !(Array.isArray(acrValues) && acrValues.every((v) => typeof v === 'string' && /^[\x21-\x7e]+$/.test(v)))
    )
      throw invalidArgument('acrValues must be a list of acr values (printable characters, no spaces)');
    if (opts.maxAge !== undefined && !(Number.isSafeInteger(opts.maxAge) && opts.maxAge >= 0))
      throw invalidArgument('maxAge must be a whole number of seconds, 0 or more');
    const methods = this.metadata.code_challenge_methods_supported;
    if (methods && !methods.includes('S256'))
      throw new LatchkeyError('LATCHKEY_UNSUPPORTED', 'the server does not support PKCE with S256');
    const pkce = await createPkcePair();
    const state = opts.state ?? randomString(24);
    const nonce = opts.nonce ?? randomString(24);
    const url = new URL(this.metadata.authorization_endpoint);
    const params: Record<string, string> = {
      ...opts.extraParams,
      response_type: 'code',
      client_id: this.clientId,
      redirect_uri: redirectUri,
      scope,
      state,
      nonce,
      code_challenge: pkce.challenge,
      code_challenge_method: pkce.method,
    };
    if (opts.prompt) params['prompt'] = opts.prompt;
    if (opts.loginHint) params['login_hint'] = opts.loginHint;
    if (acrValues?.length) params['acr_values'] = acrValues.join(' ');
    if (opts.maxAge !== undefined) params['max_age'] = String(opts.maxAge);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    const request: AuthorizationRequest = {
      url: url.href,
      state,
      nonce,
      codeVerifier: pkce.verifier,
      redirectUri,
      scope,
    };
    if (acrValues?.length) request.acrValues = acrValues;
    if (opts.maxAge !== undefined) request.maxAge = opts.maxAge;
    return request;
  }

  /**
   * Checks an authorization response (the redirect's URL or its query): `iss` (RFC 9207), then
   * `state`, then `error`; returns the code.
   */
  validateCallback(
    callback: string | URL | URLSearchParams,
    opts: { expectedState: string },
  ): CallbackParams {
    const expectedState = requireString(opts?.expectedState, 'expectedState');
    let params: URLSearchParams;
    if (callback instanceof URLSearchParams) params = callback;
    else if (callback instanceof URL) params = callback.searchParams;
    else if (typeof callback === 'string') {
      try {
        params = new URL(callback).searchParams;
      } catch {
        throw invalidArgument('callback must be a URL');
      }
    } else throw invalidArgument('callback must be a URL or URLSearchParams');

    for (const k of ['iss', 'state', 'code', 'error']) {
      if (params.getAll(k).length > 1) {
        throw new LatchkeyError('LATCHKEY_INVALID_RESPONSE', `the authorization response repeats "${k}"`);
      }
    }
    const iss = params.get('iss') ?? undefined;
    if (iss !== undefined && iss !== this.issuer) {
      throw new LatchkeyError(
        'LATCHKEY_ISSUER_MISMATCH',
        'the authorization response comes from another issuer',
      );
    }
    if (iss === undefined && this.metadata.authorization_response_iss_parameter_supported) {
      throw new LatchkeyError('LATCHKEY_ISSUER_MISMATCH', 'the authorization response has no iss parameter');
    }
    const state = params.get('state');
    if (state !== expectedState) {
      throw new LatchkeyError('LATCHKEY_STATE_MISMATCH', 'the authorization response state does not match');
    }
    const error = params.get('error');
    if (error !== null) {
      const errorDescription = params.get('error_description') ?? undefined;
      throw new LatchkeyError(
        'LATCHKEY_AUTHORIZATION_ERROR',
        `the authorization was not granted (${error}${errorDescription ? `: ${errorDescription}` : ''})`,
        { error, ...(errorDescription ? { errorDescription } : {}) },
      );
    }
    const code = params.get('code');
    if (!code) throw new LatchkeyError('LATCHKEY_INVALID_RESPONSE', 'the authorization response has no code');
    return { code, state, iss };
  }

  /**
   * POSTs a form to an endpoint of the server, with a DPoP proof when `dpop` (the token
   * endpoint). RFC 9449 §8: a 400 `use_dpop_nonce` with a `DPoP-Nonce` is retried once with it.
   */
  async #post(url: string, body: URLSearchParams, what: string, dpop = false): Promise<Response> {
    const key = dpop ? await this.dpopKey() : undefined;
    const res = await this.#postOnce(url, body, what, key);
    if (!key) return res;
    key.rememberNonce(url, res.headers.get('dpop-nonce'));
    if (res.status !== 400 || !res.headers.get('dpop-nonce')) return res;
    const error = await res
      .clone()
      .json()
      .then((b: { error?: unknown }) => b?.error)
      .catch(() => undefined);
    if (error !== 'use_dpop_nonce') return res;
    const retried = await this.#postOnce(url, body, what, key);
    key.rememberNonce(url, retried.headers.get('dpop-nonce'));
    return retried;
  }

  async #postOnce(url: string, body: URLSearchParams, what: string, key?: DpopKey): Promise<Response> {
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    if (this.#secret !== undefined) {
      // RFC 6749 §2.3.1: form-urlencode both parts before Basic.
      const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
      headers['authorization'] = `Basic ${btoa(`${enc(this.clientId)}:${enc(this.#secret)}`)}`;
    } else {
      body.set('client_id', this.clientId);
    }
    if (key) headers['dpop'] = await key.proof({ method: 'POST', url }, this.#now);
    try {
      return await this.#fetch(url, {
        method: 'POST',
        headers,
        body: body.toString(),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (cause) {
      const timeout = cause instanceof Error && cause.name === 'TimeoutError';
      throw new LatchkeyError(
        timeout ? 'LATCHKEY_TIMEOUT' : 'LATCHKEY_NETWORK_ERROR',
        `the ${what} request failed: ${cause instanceof Error ? cause.message : String(cause)}`,
        { cause },
      );
    }
  }

  async #tokenRequest(
    body: URLSearchParams,
    opts: { nonce?: string; maxAge?: number; previous?: TokenSet },
  ): Promise<TokenSet> {
    const res = await this.#post(this.metadata.token_endpoint, body, 'token', true);
    if (res.status !== 200) throw await oauthFailure(res, 'token', 'LATCHKEY_TOKEN_ERROR');
    const json = await readJson(res, 'token', 'LATCHKEY_INVALID_RESPONSE');
    const bad = (msg: string) => new LatchkeyError('LATCHKEY_INVALID_RESPONSE', `the token response ${msg}`);
    const accessToken = json['access_token'];
    if (typeof accessToken !== 'string' || accessToken === '') throw bad('has no access_token');
    const tokenType = typeof json['token_type'] === 'string' ? json['token_type'].toLowerCase() : undefined;
    // RFC 9449 §5: DPoP when the server bound the token; a server without DPoP answers Bearer.
    if (tokenType !== 'bearer' && !(tokenType === 'dpop' && this.#dpopWanted))
      throw bad(`has a token_type other than ${this.#dpopWanted ? 'DPoP or Bearer' : 'Bearer'}`);
    const expiresIn = json['expires_in'];
    if (
      expiresIn !== undefined &&
      (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn <= 0)
    )
      throw bad('has an invalid expires_in');
    for (const k of ['refresh_token', 'id_token', 'scope']) {
      if (json[k] !== undefined && typeof json[k] !== 'string') throw bad(`has an invalid ${k}`);
    }
    const idToken = json['id_token'] as string | undefined;
    let idTokenClaims: JWTPayload | undefined;
    if (idToken !== undefined) {
      idTokenClaims = await this.#verifyIdToken(idToken, accessToken, opts.nonce, opts.maxAge);
      const prevSub = opts.previous?.idTokenClaims?.sub;
      if (prevSub !== undefined && idTokenClaims.sub !== prevSub)
        throw new LatchkeyError('LATCHKEY_ID_TOKEN_INVALID', 'the refreshed ID token names another subject');
    }
    return {
      accessToken,
      tokenType: tokenType === 'dpop' ? 'DPoP' : 'Bearer',
      expiresAt: expiresIn !== undefined ? this.#now() + (expiresIn as number) * 1000 : undefined,
      // RFC 6749 §6: without a new refresh token, the old one stays valid (no rotation).
      refreshToken: (json['refresh_token'] as string | undefined) ?? opts.previous?.refreshToken,
      idToken: idToken ?? opts.previous?.idToken,
      idTokenClaims: idTokenClaims ?? opts.previous?.idTokenClaims,
      scope: (json['scope'] as string | undefined) ?? opts.previous?.scope,
    };
  }

  /**
   * Validates an ID token with jose against the JWKS: signature, iss, aud, exp, nonce, at_hash,
   * and `auth_time` against `maxAge` when one was asked for.
   */
  async #verifyIdToken(
    idToken: string,
    accessToken: string,
    nonce: string | undefined,
    maxAge?: number,
  ): Promise<JWTPayload> {
    if (!this.metadata.jwks_uri)
      throw new LatchkeyError(
        'LATCHKEY_ID_TOKEN_INVALID',
        'the server publishes no jwks_uri to check the ID token',
      );
    this.#jwks ??= createRemoteJWKSet(new URL(this.metadata.jwks_uri), { timeoutDuration: this.#timeoutMs });
    const algorithms = (this.metadata.id_token_signing_alg_values_supported ?? ['RS256']).filter(
      (a) => a !== 'none' && !a.startsWith('HS'),
    );
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(idToken, this.#jwks, {
        issuer: this.issuer,
        audience: this.clientId,
        algorithms,
        currentDate: new Date(this.#now()),
        clockTolerance: this.#tolerance,
        requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat'],
      }));
    } catch (cause) {
      throw new LatchkeyError(
        'LATCHKEY_ID_TOKEN_INVALID',
        `the ID token is invalid: ${cause instanceof Error ? cause.message : String(cause)}`,
        { cause },
      );
    }
    // exp, nbf and a future iat: the rules every verifier of the project shares.
    const timing = checkTimeClaims(payload, this.#now() / 1000, this.#tolerance);
    if (timing)
      throw new LatchkeyError('LATCHKEY_ID_TOKEN_INVALID', `the ID token is invalid: ${timing.message}`);
    if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload['azp'] !== this.clientId)
      throw new LatchkeyError('LATCHKEY_ID_TOKEN_INVALID', 'the ID token azp is not this client');
    if (nonce !== undefined && payload['nonce'] !== nonce)
      throw new LatchkeyError('LATCHKEY_NONCE_MISMATCH', 'the ID token nonce does not match the request');
    // OIDC Core §3.1.2.1: with max_age the ID token must carry auth_time; §3.1.3.7 (13): the
    // client checks it, so a sign-in older than asked for is not taken for a fresh one.
    if (maxAge !== undefined) {
      const authTime = payload['auth_time'];
      if (typeof authTime !== 'number' || !Number.isFinite(authTime))
        throw new LatchkeyError(
          'LATCHKEY_ID_TOKEN_INVALID',
          'the ID token has no auth_time (max_age was asked)',
        );
      if (this.#now() / 1000 - authTime > maxAge + this.#tolerance)
        throw new LatchkeyError(
          'LATCHKEY_ID_TOKEN_INVALID',
          `the sign-in is older than the max_age asked for (${maxAge} s)`,
        );
    }
    const atHash = payload['at_hash'];
    if (atHash !== undefined) {
      const digest = await sha256(accessToken);
      if (atHash !== base64url(digest.subarray(0, 16)))
        throw new LatchkeyError(
          'LATCHKEY_ID_TOKEN_INVALID',
          'the ID token at_hash does not match the access token',
        );
    }
    return payload;
  }

  /** Exchanges the authorization code (with the PKCE verifier) for tokens; checks the ID token's nonce. */
  async exchangeCode(opts: {
    code: string;
    codeVerifier: string;
    redirectUri: string;
    nonce?: string;
    /** The request's `max_age`: the ID token's `auth_time` must be within it. */
    maxAge?: number;
  }): Promise<TokenSet> {
    const code = requireString(opts?.code, 'code');
    const verifier = requireString(opts.codeVerifier, 'codeVerifier');
    requireUrl(opts.redirectUri, 'redirectUri');
    const redirectUri = opts.redirectUri;
    if (opts.nonce !== undefined) requireString(opts.nonce, 'nonce');
    if (opts.maxAge !== undefined && !(Number.isSafeInteger(opts.maxAge) && opts.maxAge >= 0))
      throw invalidArgument('maxAge must be a whole number of seconds, 0 or more');
    const body = new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: redirectUri,
    });
    return this.#tokenRequest(body, {
      ...(opts.nonce !== undefined ? { nonce: opts.nonce } : {}),
      ...(opts.maxAge !== undefined ? { maxAge: opts.maxAge } : {}),
    });
  }

  /**
   * RFC 8628 §3.1: asks the server's `device_authorization_endpoint` for a device code and a user
   * code (client authentication as at the token endpoint). Show `userCode` and
   * `verificationUri` (or `verificationUriComplete`) to the person, then `pollDeviceToken`.
   */
  async deviceAuthorization(
    opts: { scope?: string; resource?: string | string[]; extraParams?: Record<string, string> } = {},
  ): Promise<DeviceAuthorization> {
    const endpoint = this.metadata.device_authorization_endpoint;
    if (typeof endpoint !== 'string')
      throw new LatchkeyError('LATCHKEY_UNSUPPORTED', 'the server has no device_authorization_endpoint');
    const scope = opts.scope ?? 'openid';
    if (typeof scope !== 'string' || scope.trim() === '')
      throw invalidArgument('scope must be a non-empty string');
    const resources =
      opts.resource === undefined ? [] : Array.isArray(opts.resource) ? opts.resource : [opts.resource];
    const body = new URLSearchParams({ ...opts.extraParams, scope });
    // RFC 8707 §2: one `resource` parameter per API, each an absolute URI.
    for (const [i, r] of resources.entries()) {
      requireUrl(r, `resource[${i}]`);
      body.append('resource', r);
    }
    const res = await this.#post(endpoint, body, 'device authorization');
    if (res.status !== 200)
      throw await oauthFailure(res, 'device authorization', 'LATCHKEY_AUTHORIZATION_ERROR');
    const json = await readJson(res, 'device authorization', 'LATCHKEY_INVALID_RESPONSE');
    const bad = (msg: string) =>
      new LatchkeyError('LATCHKEY_INVALID_RESPONSE', `the device authorization response ${msg}`);
    const str = (k: string) => {
      const v = json[k];
      if (typeof v !== 'string' || v === '') throw bad(`has no ${k}`);
      return v;
    };
    const posInt = (k: string, dflt?: number) => {
      const v = json[k] ?? dflt;
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw bad(`has an invalid ${k}`);
      return v;
    };
    const complete = json['verification_uri_complete'];
    if (complete !== undefined && typeof complete !== 'string')
      throw bad('has an invalid verification_uri_complete');
    const expiresIn = posInt('expires_in');
    return {
      deviceCode: str('device_code'),
      userCode: str('user_code'),
      verificationUri: str('verification_uri'),
      verificationUriComplete: complete,
      expiresIn,
      expiresAt: this.#now() + expiresIn * 1000,
      // §3.2: "If no value is provided, clients MUST use 5 as the default."
      interval: posInt('interval', 5),
      scope,
    };
  }

  /**
   * RFC 8628 §3.4, §3.5: polls the token endpoint with the device code until the person decides.
   * Waits `interval` seconds before each poll; `authorization_pending` polls again, `slow_down`
   * adds 5 s to the interval for good, a request that times out doubles it. Resolves to the tokens (the ID token checked as for the
   * code flow when `openid` was asked); rejects with LatchkeyError `LATCHKEY_ACCESS_DENIED`
   * (`access_denied`), `LATCHKEY_EXPIRED_TOKEN` (`expired_token`, or `expiresAt` passed),
   * `LATCHKEY_ABORTED` (the signal) or `LATCHKEY_TOKEN_ERROR` (any other error). `sleep` is for
   * tests (default: a timer that the signal cuts short).
   */
  async pollDeviceToken(
    authorization: DeviceAuthorization,
    opts: { signal?: AbortSignal; sleep?: SleepFn; onPoll?: (intervalSec: number) => void } = {},
  ): Promise<TokenSet> {
    const deviceCode = requireString(authorization?.deviceCode, 'deviceCode');
    let interval = authorization.interval;
    if (!(typeof interval === 'number' && Number.isFinite(interval) && interval > 0))
      throw invalidArgument('interval must be a positive number of seconds');
    const sleep = opts.sleep ?? realSleep;
    const { signal } = opts;
    const aborted = () =>
      new LatchkeyError('LATCHKEY_ABORTED', 'polling for the device token was aborted', {
        cause: signal?.reason,
      });
    const expired = (cause?: LatchkeyError) =>
      new LatchkeyError('LATCHKEY_EXPIRED_TOKEN', 'the device code expired before the person approved it', {
        error: 'expired_token',
        ...(cause?.errorDescription !== undefined ? { errorDescription: cause.errorDescription } : {}),
        ...(cause?.status !== undefined ? { status: cause.status } : {}),
      });
    for (;;) {
      if (signal?.aborted) throw aborted();
      try {
        await sleep(interval * 1000, signal);
      } catch (cause) {
        if (signal?.aborted) throw aborted();
        throw cause;
      }
      if (signal?.aborted) throw aborted();
      if (this.#now() >= authorization.expiresAt) throw expired();
      opts.onPoll?.(interval);
      const body = new URLSearchParams({ grant_type: DEVICE_CODE_GRANT_TYPE, device_code: deviceCode });
      try {
        return await this.#tokenRequest(body, {});
      } catch (err) {
        // §3.5: "On encountering a connection timeout, clients MUST unilaterally reduce their
        // polling frequency before retrying": the interval doubles (exponential backoff).
        if (err instanceof LatchkeyError && err.code === 'LATCHKEY_TIMEOUT') {
          interval *= 2;
          continue;
        }
        if (!(err instanceof LatchkeyError) || err.code !== 'LATCHKEY_TOKEN_ERROR') throw err;
        if (err.error === 'authorization_pending') continue;
        // §3.5: "the interval MUST be increased by 5 seconds for this and all subsequent requests".
        if (err.error === 'slow_down') {
          interval += 5;
          continue;
        }
        if (err.error === 'expired_token') throw expired(err);
        if (err.error === 'access_denied')
          throw new LatchkeyError('LATCHKEY_ACCESS_DENIED', 'the person denied the device access', {
            error: 'access_denied',
            ...(err.errorDescription !== undefined ? { errorDescription: err.errorDescription } : {}),
            ...(err.status !== undefined ? { status: err.status } : {}),
          });
        throw err;
      }
    }
  }

  /** Callback validation and code exchange in one step. */
  async completeAuthorization(
    callback: string | URL | URLSearchParams,
    request: AuthorizationRequest,
  ): Promise<TokenSet> {
    const { code } = this.validateCallback(callback, { expectedState: request?.state });
    return this.exchangeCode({
      code,
      codeVerifier: request.codeVerifier,
      redirectUri: request.redirectUri,
      nonce: request.nonce,
      ...(request.maxAge !== undefined ? { maxAge: request.maxAge } : {}),
    });
  }

  /**
   * Uses a refresh token. The result carries the rotated refresh token when the server issued one
   * (else the old one). Concurrent calls with the same refresh token share one request, so a
   * rotating server never sees the same token twice from us.
   */
  refresh(refreshTokenOrSet: string | TokenSet, opts: { scope?: string } = {}): Promise<TokenSet> {
    const previous = typeof refreshTokenOrSet === 'string' ? undefined : refreshTokenOrSet;
    let refreshToken: string;
    try {
      refreshToken = requireString(
        typeof refreshTokenOrSet === 'string' ? refreshTokenOrSet : refreshTokenOrSet?.refreshToken,
        'refreshToken',
      );
      if (opts.scope !== undefined) requireString(opts.scope, 'scope');
    } catch (err) {
      return Promise.reject(err);
    }
    const key = `${refreshToken}\u0000${opts.scope ?? ''}`;
    const pending = this.#refreshing.get(key);
    if (pending) return pending;
    const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken });
    if (opts.scope !== undefined) body.set('scope', opts.scope);
    const p = this.#tokenRequest(body, {
      previous: previous ?? ({ refreshToken } as TokenSet),
    }).finally(() => this.#refreshing.delete(key));
    this.#refreshing.set(key, p);
    return p;
  }

  /** RFC 7009 revocation (a token the server does not know is not an error, per §2.2). */
  async revoke(
    token: string,
    opts: { tokenTypeHint?: 'access_token' | 'refresh_token' } = {},
  ): Promise<void> {
    requireString(token, 'token');
    const endpoint = this.metadata.revocation_endpoint;
    if (!endpoint) throw new LatchkeyError('LATCHKEY_UNSUPPORTED', 'the server has no revocation_endpoint');
    const body = new URLSearchParams({ token });
    if (opts.tokenTypeHint) body.set('token_type_hint', opts.tokenTypeHint);
    const res = await this.#post(endpoint, body, 'revocation');
    if (res.status !== 200) throw await oauthFailure(res, 'revocation', 'LATCHKEY_REVOCATION_ERROR');
  }

  /**
   * OIDC userinfo with the access token; `sub` must match the ID token's when given. A DPoP
   * token (a TokenSet whose tokenType is DPoP, or a string with `tokenType: 'DPoP'`, the default
   * of a client with `dpop`) goes with the DPoP scheme and a proof (RFC 9449 §7).
   */
  async userinfo(
    accessToken: string | TokenSet,
    opts: { expectedSubject?: string; tokenType?: 'Bearer' | 'DPoP' } = {},
  ): Promise<Record<string, unknown>> {
    const endpoint = this.metadata.userinfo_endpoint;
    if (!endpoint) throw new LatchkeyError('LATCHKEY_UNSUPPORTED', 'the server has no userinfo_endpoint');
    const res = await this.#resourceRequest(
      endpoint,
      accessToken,
      { headers: { accept: 'application/json' } },
      opts.tokenType,
    );
    if (res.status !== 200) {
      const err = await oauthFailure(res, 'userinfo', 'LATCHKEY_USERINFO_ERROR');
      // RFC 6750: the error may be only in WWW-Authenticate.
      const m = /error="([^"]+)"/.exec(res.headers.get('www-authenticate') ?? '');
      if (!err.error && m)
        throw new LatchkeyError('LATCHKEY_USERINFO_ERROR', err.message, { error: m[1]!, status: res.status });
      throw err;
    }
    const json = await readJson(res, 'userinfo', 'LATCHKEY_INVALID_RESPONSE');
    if (typeof json['sub'] !== 'string')
      throw new LatchkeyError('LATCHKEY_INVALID_RESPONSE', 'the userinfo response has no sub');
    if (opts.expectedSubject !== undefined && json['sub'] !== opts.expectedSubject)
      throw new LatchkeyError('LATCHKEY_INVALID_RESPONSE', 'the userinfo sub is not the signed-in user');
    return json;
  }

  /**
   * A request to a resource server (an API) with the access token: `Authorization: Bearer`, or
   * for a DPoP token `Authorization: DPoP` and a proof with `ath` (RFC 9449 §7). A 401 whose DPoP
   * challenge is `use_dpop_nonce` is sent again once with the `DPoP-Nonce` it gave (§9); the
   * latest nonce of each origin is remembered. Returns the response whatever its status. A body
   * that can be sent twice (a string, URLSearchParams, bytes) survives the retry; a stream
   * cannot.
   *
   * Step-up (RFC 9470): with `stepUp`, a 401 `insufficient_user_authentication` challenge is
   * handed to it as a StepUpRequiredError; the tokens it returns (from a new sign-in with the
   * challenge's `acrValues` / `maxAge`) are used to send the request once more. If the API
   * challenges those too, that StepUpRequiredError is thrown (never a second sign-in). Without
   * `stepUp` the 401 is returned as it is: `stepUpRequired(res)` reads it.
   */
  async fetchResource(
    url: string | URL,
    accessToken: string | TokenSet,
    init: RequestInit & { tokenType?: 'Bearer' | 'DPoP'; stepUp?: StepUpHandler } = {},
  ): Promise<Response> {
    const { tokenType, stepUp, ...rest } = init;
    if (stepUp !== undefined && typeof stepUp !== 'function')
      throw invalidArgument('stepUp must be a function');
    const res = await this.#resourceRequest(String(url), accessToken, rest, tokenType);
    const challenge = stepUp ? stepUpRequired(res) : undefined;
    if (!stepUp || !challenge) return res;
    await res.body?.cancel();
    const next = await stepUp(challenge);
    // A TokenSet says its own token type; a string goes as the first one did.
    const retried = await this.#resourceRequest(
      String(url),
      next,
      rest,
      typeof next === 'string' ? tokenType : undefined,
    );
    const again = stepUpRequired(retried);
    if (!again) return retried;
    await retried.body?.cancel();
    throw again;
  }

  async #resourceRequest(
    url: string,
    accessToken: string | TokenSet,
    init: RequestInit,
    tokenType: 'Bearer' | 'DPoP' | undefined,
  ): Promise<Response> {
    const token = requireString(
      typeof accessToken === 'string' ? accessToken : accessToken?.accessToken,
      'accessToken',
    );
    requireUrl(url, 'url');
    const scheme =
      tokenType ??
      (typeof accessToken === 'string' ? (this.#dpopWanted ? 'DPoP' : 'Bearer') : accessToken.tokenType);
    if (scheme !== 'Bearer' && scheme !== 'DPoP') throw invalidArgument('tokenType must be Bearer or DPoP');
    const key = scheme === 'DPoP' ? await this.dpopKey() : undefined;
    if (scheme === 'DPoP' && !key)
      throw invalidArgument('a DPoP-bound token needs a client made with the dpop option');
    const method = (init.method ?? 'GET').toUpperCase();
    const send = async (): Promise<Response> => {
      const headers = new Headers(init.headers);
      headers.set('authorization', `${scheme} ${token}`);
      if (key) headers.set('dpop', await key.proof({ method, url, accessToken: token }, this.#now));
      try {
        return await this.#fetch(url, {
          ...init,
          method,
          headers,
          signal: init.signal ?? AbortSignal.timeout(this.#timeoutMs),
        });
      } catch (cause) {
        const timeout = cause instanceof Error && cause.name === 'TimeoutError';
        throw new LatchkeyError(
          timeout ? 'LATCHKEY_TIMEOUT' : 'LATCHKEY_NETWORK_ERROR',
          `the request to ${htuOfSafe(url)} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
          { cause },
        );
      }
    };
    const res = await send();
    if (!key) return res;
    key.rememberNonce(url, res.headers.get('dpop-nonce'));
    if (res.status !== 401 || dpopChallengeError(res) !== 'use_dpop_nonce' || !res.headers.get('dpop-nonce'))
      return res;
    // RFC 9449 §9: once, with the resource server's nonce.
    await res.body?.cancel();
    const retried = await send();
    key.rememberNonce(url, retried.headers.get('dpop-nonce'));
    return retried;
  }

  /** RP-initiated logout URL (OIDC RP-Initiated Logout 1.0) from `end_session_endpoint`. */
  logoutUrl(opts: { idTokenHint?: string; postLogoutRedirectUri?: string; state?: string } = {}): string {
    if (opts.idTokenHint !== undefined) requireString(opts.idTokenHint, 'idTokenHint');
    if (opts.postLogoutRedirectUri !== undefined)
      requireUrl(opts.postLogoutRedirectUri, 'postLogoutRedirectUri');
    if (opts.state !== undefined) requireString(opts.state, 'state');
    const endpoint = this.metadata.end_session_endpoint;
    if (!endpoint) throw new LatchkeyError('LATCHKEY_UNSUPPORTED', 'the server has no end_session_endpoint');
    const url = new URL(endpoint);
    url.searchParams.set('client_id', this.clientId);
    if (opts.idTokenHint) url.searchParams.set('id_token_hint', opts.idTokenHint);
    if (opts.postLogoutRedirectUri)
      url.searchParams.set('post_logout_redirect_uri', opts.postLogoutRedirectUri);
    if (opts.state) url.searchParams.set('state', opts.state);
    return url.href;
  }
}

/**
 * The /token grants (src/protocol/grants/) called directly on the in-memory stores: no HTTP, no
 * database, no password hashing. Real signing keys (one RSA generation, made once) and a clock
 * moved by hand; each test gets fresh stores. Errors are asserted by their OAuth `code`.
 */

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { createLocalJWKSet, type JWTPayload, jwtVerify } from 'jose';
import { ApiAdmin } from '../../src/admin/apis.js';
import { ManualClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { randomToken, sha256 } from '../../src/crypto.js';
import { Audit } from '../../src/ops/audit-log.js';
import type { AuthenticatedClient } from '../../src/protocol/client-auth.js';
import { OAuthError, type OAuthErrorCode } from '../../src/protocol/errors.js';
import { authorizationCodeGrant } from '../../src/protocol/grants/authorization-code.js';
import { clientCredentialsGrant } from '../../src/protocol/grants/client-credentials.js';
import { refreshTokenGrant } from '../../src/protocol/grants/refresh-token.js';
import type { GrantDeps, GrantStores, TokenRequest, TokenResponse } from '../../src/protocol/grants/types.js';
import { readParams } from '../../src/protocol/params.js';
import { s256 } from '../../src/protocol/pkce.js';
import { type MemoryStorage, openMemoryStorage } from '../../src/storage/memory/index.js';
import type { Client, Grant, RefreshTokenStore, SigningKey, Stores, User } from '../../src/storage/types.js';
import { grantIdOfJti } from '../../src/tokens/jti.js';
import { EncryptedKeyStore } from '../../src/tokens/key-encryption.js';
import { KeyManager, type KeyTimings } from '../../src/tokens/keys.js';
import { atHash, TokenMinter } from '../../src/tokens/mint.js';

const T0 = 1_790_000_000_000;
const IP = '203.0.113.7';
const SECOND = 1000;

const config = loadConfig({ database: ':memory:', logLevel: 'silent' }, {});
const TIMINGS: KeyTimings = {
  publicationDelaySec: config.keyPublicationDelaySec,
  cacheSec: config.keyCacheSec,
  // MAX_SIGNED_LIFETIME_SEC of src/context.ts (not imported: it would load the whole server).
  maxTokenLifetimeSec: 86400,
};

/** One key generation for every test (RSA key generation is the slow part). */
let signingKey: SigningKey;

before(async () => {
  const seed = openMemoryStorage();
  await new KeyManager(
    new EncryptedKeyStore(seed.keys, undefined),
    new ManualClock({ now: () => T0 }),
    TIMINGS,
  ).ensureKey();
  signingKey = (await seed.keys.listAll())[0]!;
});

interface World {
  storage: MemoryStorage;
  clock: ManualClock;
  keys: KeyManager;
  deps: GrantDeps;
  /** Hashes of the refresh tokens the grants wrote (also in transactions rolled back since). */
  inserted: string[];
  /** The next call of this refresh-token method inside a transaction throws (a failure midway). */
  failInTransaction: 'insert' | 'saveSuccessor' | undefined;
}

/** Fresh stores with the signing key, a clock at T0, and GrantDeps built as src/context.ts does. */
async function world(): Promise<World> {
  const storage = openMemoryStorage();
  await storage.keys.insertIfGenerationFree(signingKey);
  const clock = new ManualClock({ now: () => T0 });
  const keyStore = new EncryptedKeyStore(storage.keys, undefined);
  const keys = new KeyManager(keyStore, clock, TIMINGS, (kid, stored) => keyStore.open(kid, stored));
  assert.equal(await keys.ensureKey(), undefined, 'the key is there: none made');
  const minter = new TokenMinter(keys, clock, config.issuer, config.audience, config.accessTokenAlg);
  const w: World = {
    storage,
    clock,
    keys,
    inserted: [],
    failInTransaction: undefined,
    deps: undefined as unknown as GrantDeps,
  };
  const watched = (rt: RefreshTokenStore, inTransaction: boolean): RefreshTokenStore => {
    const maybeFail = (op: World['failInTransaction']) => {
      if (!inTransaction || w.failInTransaction !== op) return;
      w.failInTransaction = undefined;
      throw new Error(`${op} failed (injected)`);
    };
    return {
      get: (hash) => rt.get(hash),
      consume: (hash, at) => rt.consume(hash, at),
      touch: (hash, idle) => rt.touch(hash, idle),
      async insert(t) {
        maybeFail('insert');
        await rt.insert(t);
        w.inserted.push(t.hash);
      },
      async saveSuccessor(hash, successor, graceUntil) {
        maybeFail('saveSuccessor');
        await rt.saveSuccessor(hash, successor, graceUntil);
      },
    };
  };
  const grantStores = (s: Stores, inTransaction: boolean): GrantStores => ({
    grants: s.grants,
    users: s.users,
    refreshTokens: watched(s.refreshTokens, inTransaction),
    deviceCodes: s.deviceCodes,
  });
  w.deps = {
    clock,
    lifetimes: config,
    apis: new ApiAdmin(storage.apis, clock, config.audience),
    minter,
    audit: new Audit(storage.audit, clock),
    stores: grantStores(storage, false),
    transaction: (fn) => storage.transaction((stores) => fn(grantStores(stores, true))),
  };
  return w;
}

const baseClient = (over: Partial<Client>): Client => ({
  clientId: `app-${randomToken(6)}`,
  name: 'Test app',
  type: 'native',
  redirectUris: ['http://127.0.0.1/callback', 'com.example.app:/cb'],
  postLogoutRedirectUris: [],
  grantTypes: ['authorization_code', 'refresh_token'],
  tokenEndpointAuthMethod: 'none',
  secretHash: null,
  consent: 'none',
  requirePkce: true,
  accessTokenTtl: null,
  refreshTokenTtl: null,
  refreshIdleTtl: null,
  refreshGrace: null,
  rotateRefreshTokens: true,
  createdAt: T0 - 3_600_000,
  updatedAt: T0 - 3_600_000,
  ...over,
});

/** A native app: public, PKCE, rotating refresh tokens, the server's grace window (30 s). */
const publicApp = (over: Partial<Client> = {}) => baseClient(over);

/** A web app with a secret (client_secret_basic), PKCE not required. */
const webApp = (over: Partial<Client> = {}) =>
  baseClient({
    type: 'web',
    redirectUris: ['https://app.example.com/callback'],
    tokenEndpointAuthMethod: 'client_secret_basic',
    secretHash: sha256('the secret'),
    requirePkce: false,
    ...over,
  });

/** A service application (client credentials) allowed two API scopes. */
const serviceApp = (over: Partial<Client> = {}) =>
  baseClient({
    type: 'service',
    redirectUris: [],
    grantTypes: ['client_credentials'],
    tokenEndpointAuthMethod: 'client_secret_basic',
    secretHash: sha256('the secret'),
    requirePkce: false,
    allowedScopes: ['api:read', 'api:write'],
    ...over,
  });

async function addUser(w: World, over: Partial<User> = {}): Promise<User> {
  const user: User = {
    id: randomUUID(),
    username: `ada-${randomToken(4)}`,
    email: 'ada@example.com',
    name: 'Ada Lovelace',
    passwordHash: 'not-a-hash',
    disabled: false,
    createdAt: T0 - 86_400_000,
    updatedAt: T0 - 86_400_000,
    ...over,
  };
  await w.storage.users.create(user);
  return user;
}

/**
 * What /authorize leaves behind (src/http/authorize-flow.ts issueCode): a grant with its code.
 * `challenge: null` issues the code without PKCE; `redirectUri: null` as when the request named none.
 */
async function authorize(
  w: World,
  client: Client,
  user: User,
  opts: {
    scope?: string;
    nonce?: string | null;
    sessionHash?: string | null;
    challenge?: string | null;
    redirectUri?: string | null;
  } = {},
): Promise<{ code: string; verifier: string; grant: Grant }> {
  const code = randomToken(32);
  const verifier = randomToken(32);
  const now = w.clock.now();
  const grant: Grant = {
    id: randomUUID(),
    clientId: client.clientId,
    userId: user.id,
    sessionHash: opts.sessionHash === undefined ? sha256(`session-${randomToken(8)}`) : opts.sessionHash,
    scope: opts.scope ?? 'openid profile offline_access',
    nonce: opts.nonce === undefined ? 'nonce-1' : opts.nonce,
    authTime: now - 5 * SECOND,
    createdAt: now,
    revokedAt: null,
  };
  await w.storage.grants.issueCode(grant, {
    hash: sha256(code),
    grantId: grant.id,
    clientId: client.clientId,
    redirectUri: opts.redirectUri === undefined ? client.redirectUris[0]! : opts.redirectUri,
    codeChallenge: opts.challenge === undefined ? s256(verifier) : opts.challenge,
    expiresAt: now + config.codeTtlSec * SECOND,
    consumedAt: null,
  });
  return { code, verifier, grant };
}

function tokenRequest(
  client: Client,
  params: Record<string, string | undefined>,
  method: AuthenticatedClient['method'] = client.tokenEndpointAuthMethod,
): TokenRequest {
  const given = Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined));
  return { params: readParams(given), auth: { client, method }, ip: IP };
}

const redeem = (w: World, client: Client, params: Record<string, string | undefined>) =>
  authorizationCodeGrant.handle(
    w.deps,
    tokenRequest(client, { grant_type: 'authorization_code', ...params }),
  );

const refresh = (
  w: World,
  client: Client,
  refreshToken: string,
  extra: { scope?: string; method?: AuthenticatedClient['method'] } = {},
) =>
  refreshTokenGrant.handle(
    w.deps,
    tokenRequest(
      client,
      { grant_type: 'refresh_token', refresh_token: refreshToken, scope: extra.scope },
      extra.method,
    ),
  );

const credentials = (w: World, client: Client, scope?: string, method?: AuthenticatedClient['method']) =>
  clientCredentialsGrant.handle(
    w.deps,
    tokenRequest(client, { grant_type: 'client_credentials', scope }, method),
  );

/** A code redeemed as a client would: the tokens of a signed-in user, and their grant. */
async function signIn(
  w: World,
  client: Client,
  user: User,
  opts: Parameters<typeof authorize>[3] = {},
): Promise<{ response: TokenResponse; grant: Grant }> {
  const { code, verifier, grant } = await authorize(w, client, user, opts);
  const response = await redeem(w, client, {
    code,
    code_verifier: opts.challenge === null ? undefined : verifier,
    redirect_uri: client.redirectUris[0],
  });
  return { response, grant };
}

async function rejectsWith(p: Promise<unknown>, code: OAuthErrorCode, description?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof OAuthError, `an OAuthError, not ${String(err)}`);
    assert.equal(err.code, code, err.description);
    if (description) assert.match(err.description, description);
    return true;
  });
}

const keySet = async (w: World) =>
  createLocalJWKSet((await w.keys.jwks()) as Parameters<typeof createLocalJWKSet>[0]);

/** Verifies an access token with jose against the published keys (RFC 9068). */
async function verifyAccess(w: World, token: string): Promise<JWTPayload> {
  const { payload } = await jwtVerify(token, await keySet(w), {
    issuer: config.issuer,
    audience: config.audience,
    typ: 'at+jwt',
    algorithms: ['RS256'],
    currentDate: new Date(w.clock.now()),
  });
  return payload;
}

async function verifyId(w: World, token: string, clientId: string): Promise<JWTPayload> {
  const { payload } = await jwtVerify(token, await keySet(w), {
    issuer: config.issuer,
    audience: clientId,
    algorithms: ['RS256'],
    currentDate: new Date(w.clock.now()),
  });
  return payload;
}

const jtiOf = async (w: World, accessToken: string) => String((await verifyAccess(w, accessToken)).jti);

/** Whether an access token is dead (its own revocation or its grant's), as introspection asks. */
async function accessRevoked(w: World, accessToken: string): Promise<boolean> {
  const jti = await jtiOf(w, accessToken);
  return w.storage.accessTokens.isRevoked(jti, grantIdOfJti(jti));
}

describe('grant_type=authorization_code', () => {
  test('a code is redeemed once for an access token, an ID token and a refresh token', async () => {
    const w = await world();
    const app = publicApp();
    const user = await addUser(w);
    const sessionHash = sha256('the session');
    const { code, verifier, grant } = await authorize(w, app, user, {
      scope: 'openid profile email offline_access',
      nonce: 'n-0S6_WzA2Mj',
      sessionHash,
    });
    const r = await redeem(w, app, { code, code_verifier: verifier, redirect_uri: app.redirectUris[0] });

    assert.equal(r.token_type, 'Bearer');
    assert.equal(r.expires_in, config.accessTokenTtlSec);
    assert.equal(r.scope, 'openid profile email offline_access');
    const at = await verifyAccess(w, r.access_token);
    assert.equal(at.sub, user.id);
    assert.equal(at['client_id'], app.clientId);
    assert.equal(at['scope'], r.scope);
    assert.equal(at['auth_time'], Math.floor(grant.authTime / 1000));
    assert.equal(at.iat, Math.floor(T0 / 1000));
    assert.equal(at.exp! - at.iat!, r.expires_in);
    assert.equal(grantIdOfJti(String(at.jti)), grant.id, 'the jti names the grant');
    assert.equal(await accessRevoked(w, r.access_token), false);

    const id = await verifyId(w, r.id_token!, app.clientId);
    assert.equal(id.sub, user.id);
    assert.equal(id['nonce'], 'n-0S6_WzA2Mj');
    assert.equal(id['at_hash'], atHash(r.access_token));
    assert.equal(id['sid'], sessionHash.slice(0, 22));
    assert.equal(id['email'], 'ada@example.com');
    assert.equal(id['preferred_username'], user.username);
    assert.equal(id['name'], 'Ada Lovelace');

    const stored = await w.storage.refreshTokens.get(sha256(r.refresh_token!));
    assert.equal(stored?.grantId, grant.id);
    assert.equal(stored?.scope, grant.scope);
    assert.equal(stored?.consumedAt, null);
    assert.equal(stored?.expiresAt, grant.createdAt + config.refreshTokenTtlSec * SECOND);
    assert.equal(stored?.idleExpiresAt, T0 + config.refreshIdleTtlSec * SECOND);
  });

  test('a second redemption by its client: invalid_grant, the grant and its tokens revoked, audited', async () => {
    const w = await world();
    const app = publicApp();
    const user = await addUser(w);
    const { code, verifier, grant } = await authorize(w, app, user);
    const params = { code, code_verifier: verifier, redirect_uri: app.redirectUris[0] };
    const first = await redeem(w, app, params);
    w.clock.advanceSeconds(5);

    await rejectsWith(redeem(w, app, params), 'invalid_grant', /already been used/);
    assert.equal((await w.storage.grants.getGrant(grant.id))?.revokedAt, T0 + 5 * SECOND);
    assert.equal(await accessRevoked(w, first.access_token), true, 'the first access token is dead');
    await rejectsWith(refresh(w, app, first.refresh_token!), 'invalid_grant', /revoked/);

    const events = await w.storage.audit.list({ type: 'code_reuse_detected' });
    assert.equal(events.length, 1);
    assert.equal(events[0]?.clientId, app.clientId);
    assert.equal(events[0]?.ip, IP);
    assert.equal(events[0]?.at, T0 + 5 * SECOND);
    assert.deepEqual(events[0]?.detail, { grant_id: grant.id });
  });

  test("another client's code: invalid_grant, nothing revoked (but a presented code is spent)", async () => {
    const w = await world();
    const app = publicApp();
    const intruder = publicApp({ redirectUris: app.redirectUris });
    const user = await addUser(w);

    // Redeemed by its client, then presented by another: refused, the grant stays.
    const a = await authorize(w, app, user);
    const tokens = await redeem(w, app, {
      code: a.code,
      code_verifier: a.verifier,
      redirect_uri: app.redirectUris[0],
    });
    await rejectsWith(
      redeem(w, intruder, { code: a.code, code_verifier: a.verifier, redirect_uri: app.redirectUris[0] }),
      'invalid_grant',
      /invalid/,
    );
    assert.equal((await w.storage.grants.getGrant(a.grant.id))?.revokedAt, null);
    assert.equal(await accessRevoked(w, tokens.access_token), false);

    // Not redeemed yet, presented by another client first: refused, nothing revoked; the code is
    // consumed by that attempt (every check runs on the consumed code), so its client's own
    // redemption is then a second one.
    const b = await authorize(w, app, user);
    await rejectsWith(
      redeem(w, intruder, { code: b.code, code_verifier: b.verifier, redirect_uri: app.redirectUris[0] }),
      'invalid_grant',
      /another client/,
    );
    assert.equal((await w.storage.grants.getGrant(b.grant.id))?.revokedAt, null);
    assert.deepEqual(await w.storage.audit.list({ type: 'code_reuse_detected' }), []);
    await rejectsWith(
      redeem(w, app, { code: b.code, code_verifier: b.verifier, redirect_uri: app.redirectUris[0] }),
      'invalid_grant',
      /already been used/,
    );
  });

  test('a code lives 60 seconds (LATCHKEY_CODE_TTL)', async () => {
    assert.equal(config.codeTtlSec, 60);
    const w = await world();
    const app = publicApp();
    const user = await addUser(w);
    const late = await authorize(w, app, user);
    const inTime = await authorize(w, app, user);
    w.clock.advance(config.codeTtlSec * SECOND - 1);
    const ok = await redeem(w, app, {
      code: inTime.code,
      code_verifier: inTime.verifier,
      redirect_uri: app.redirectUris[0],
    });
    assert.ok(ok.access_token);
    w.clock.advance(1);
    await rejectsWith(
      redeem(w, app, { code: late.code, code_verifier: late.verifier, redirect_uri: app.redirectUris[0] }),
      'invalid_grant',
      /expired/,
    );
  });

  test('PKCE: the verifier is required, must match, and is refused for a code issued without a challenge', async () => {
    const w = await world();
    const app = publicApp();
    const user = await addUser(w);
    const uri = app.redirectUris[0];

    const missing = await authorize(w, app, user);
    await rejectsWith(redeem(w, app, { code: missing.code, redirect_uri: uri }), 'invalid_grant', /required/);

    const wrong = await authorize(w, app, user);
    await rejectsWith(
      redeem(w, app, { code: wrong.code, code_verifier: randomToken(32), redirect_uri: uri }),
      'invalid_grant',
      /does not match/,
    );
    // The failed attempt spent the code: the right verifier comes too late.
    await rejectsWith(
      redeem(w, app, { code: wrong.code, code_verifier: wrong.verifier, redirect_uri: uri }),
      'invalid_grant',
      /already been used/,
    );

    // RFC 7636 §4.1: 43–128 characters, even when it hashes to the challenge.
    const short = await authorize(w, app, user, { challenge: s256('short') });
    await rejectsWith(
      redeem(w, app, { code: short.code, code_verifier: 'short', redirect_uri: uri }),
      'invalid_grant',
      /does not match/,
    );

    // RFC 9700 §2.1.1: a verifier for a code issued without a challenge is a downgrade attempt.
    const web = webApp();
    const plain = await authorize(w, web, user, { challenge: null });
    await rejectsWith(
      redeem(w, web, { code: plain.code, code_verifier: plain.verifier, redirect_uri: web.redirectUris[0] }),
      'invalid_grant',
      /no code_challenge/,
    );
    // Without one, such a code (a confidential client not requiring PKCE) is redeemed.
    const fine = await authorize(w, web, user, { challenge: null });
    const r = await redeem(w, web, { code: fine.code, redirect_uri: web.redirectUris[0] });
    assert.ok(r.access_token);
  });

  test('redirect_uri must be the one of the authorization request, or a registered one when it named none', async () => {
    const w = await world();
    const app = publicApp();
    const user = await addUser(w);
    const [first, second] = app.redirectUris as [string, string];

    const named = await authorize(w, app, user, { redirectUri: first });
    await rejectsWith(
      redeem(w, app, { code: named.code, code_verifier: named.verifier, redirect_uri: second }),
      'invalid_grant',
      /redirect_uri/,
    );
    const omitted = await authorize(w, app, user, { redirectUri: first });
    await rejectsWith(
      redeem(w, app, { code: omitted.code, code_verifier: omitted.verifier }),
      'invalid_grant',
      /redirect_uri/,
    );

    // The authorization request named none (RFC 6749 §4.1.3): /token may omit it, or name a registered one.
    const unregistered = await authorize(w, app, user, { redirectUri: null });
    await rejectsWith(
      redeem(w, app, {
        code: unregistered.code,
        code_verifier: unregistered.verifier,
        redirect_uri: 'http://127.0.0.1/elsewhere',
      }),
      'invalid_grant',
      /redirect_uri/,
    );
    const registered = await authorize(w, app, user, { redirectUri: null });
    assert.ok(
      (
        await redeem(w, app, {
          code: registered.code,
          code_verifier: registered.verifier,
          redirect_uri: second,
        })
      ).access_token,
    );
    const none = await authorize(w, app, user, { redirectUri: null });
    assert.ok((await redeem(w, app, { code: none.code, code_verifier: none.verifier })).access_token);
  });

  test('a disabled or deleted user gets no tokens', async () => {
    const w = await world();
    const app = publicApp();
    const user = await addUser(w);
    const c = await authorize(w, app, user);
    await w.storage.users.setDisabled(user.id, true, T0);
    await rejectsWith(
      redeem(w, app, { code: c.code, code_verifier: c.verifier, redirect_uri: app.redirectUris[0] }),
      'invalid_grant',
      /can no longer sign in/,
    );
    const ghost: User = { ...user, id: randomUUID(), username: 'ghost' }; // never stored
    const g = await authorize(w, app, ghost);
    await rejectsWith(
      redeem(w, app, { code: g.code, code_verifier: g.verifier, redirect_uri: app.redirectUris[0] }),
      'invalid_grant',
      /can no longer sign in/,
    );
  });

  test('a missing, unknown or oversized code', async () => {
    const w = await world();
    const app = publicApp();
    await rejectsWith(redeem(w, app, {}), 'invalid_request', /code parameter is missing/);
    await rejectsWith(redeem(w, app, { code: randomToken(32) }), 'invalid_grant', /invalid/);
    await rejectsWith(redeem(w, app, { code: 'x'.repeat(513) }), 'invalid_grant', /invalid/);
  });

  test('what is issued follows the scope and the client: ID token with openid, refresh token with offline_access and the grant', async () => {
    const w = await world();
    const user = await addUser(w);
    const app = publicApp();
    const noOpenid = (await signIn(w, app, user, { scope: 'profile offline_access' })).response;
    assert.equal(noOpenid.id_token, undefined);
    assert.ok(noOpenid.refresh_token);
    const noOffline = (await signIn(w, app, user, { scope: 'openid' })).response;
    assert.ok(noOffline.id_token);
    assert.equal(noOffline.refresh_token, undefined);
    const codeOnly = publicApp({ grantTypes: ['authorization_code'] });
    const noGrant = (await signIn(w, codeOnly, user, { scope: 'openid offline_access' })).response;
    assert.equal(noGrant.refresh_token, undefined);
    // An ID token without a nonce or session has neither claim.
    const bare = (await signIn(w, app, user, { scope: 'openid', nonce: null, sessionHash: null })).response;
    const id = await verifyId(w, bare.id_token!, app.clientId);
    assert.equal(id['nonce'], undefined);
    assert.equal(id['sid'], undefined);
    assert.equal(id['email'], undefined, 'no email scope');
  });

  test("the application's lifetimes: access-token TTL in expires_in and exp, refresh-token family and idle", async () => {
    const w = await world();
    const user = await addUser(w);
    const app = publicApp({ accessTokenTtl: 600, refreshTokenTtl: 7200, refreshIdleTtl: 1800 });
    const { response, grant } = await signIn(w, app, user);
    assert.equal(response.expires_in, 600);
    const at = await verifyAccess(w, response.access_token);
    assert.equal(at.exp! - at.iat!, 600);
    const stored = await w.storage.refreshTokens.get(sha256(response.refresh_token!));
    assert.equal(stored?.expiresAt, grant.createdAt + 7200 * SECOND);
    assert.equal(stored?.idleExpiresAt, T0 + 1800 * SECOND);
  });
});

describe('grant_type=refresh_token', () => {
  test('rotation: a new refresh token, the old one consumed with its response kept for the grace window', async () => {
    const w = await world();
    const user = await addUser(w);
    const app = publicApp();
    const { response: first, grant } = await signIn(w, app, user);
    w.clock.advanceSeconds(10);
    const r = await refresh(w, app, first.refresh_token!);
    assert.ok(r.refresh_token);
    assert.notEqual(r.refresh_token, first.refresh_token);
    assert.notEqual(r.access_token, first.access_token);
    assert.equal(r.scope, grant.scope);
    assert.equal(r.expires_in, config.accessTokenTtlSec);
    const at = await verifyAccess(w, r.access_token);
    assert.equal(grantIdOfJti(String(at.jti)), grant.id, 'same family');
    const id = await verifyId(w, r.id_token!, app.clientId);
    assert.equal(id['nonce'], undefined, 'no nonce on refresh');

    const old = await w.storage.refreshTokens.get(sha256(first.refresh_token!));
    assert.equal(old?.consumedAt, T0 + 10 * SECOND);
    assert.equal(old?.graceUntil, T0 + (10 + config.refreshGraceSec) * SECOND);
    assert.ok(old?.successor);
    assert.ok(!old?.successor.includes(r.refresh_token!), 'the kept response is sealed');
    const next = await w.storage.refreshTokens.get(sha256(r.refresh_token!));
    assert.equal(next?.consumedAt, null);
    assert.equal(next?.grantId, grant.id);
    assert.equal(next?.expiresAt, old?.expiresAt, 'the family keeps its absolute end');
    // The successor rotates in turn.
    assert.ok((await refresh(w, app, r.refresh_token!)).refresh_token);
  });

  test('reuse after the grace window revokes the family and is audited', async () => {
    const w = await world();
    const user = await addUser(w);
    const app = publicApp(); // refreshGrace null: the server's 30 s
    const { response: first, grant } = await signIn(w, app, user);
    const second = await refresh(w, app, first.refresh_token!);
    w.clock.advance(config.refreshGraceSec * SECOND + 1);

    await rejectsWith(refresh(w, app, first.refresh_token!), 'invalid_grant', /has been revoked/);
    assert.equal((await w.storage.grants.getGrant(grant.id))?.revokedAt, w.clock.now());
    await rejectsWith(refresh(w, app, second.refresh_token!), 'invalid_grant', /revoked/);
    assert.equal(await accessRevoked(w, second.access_token), true);
    assert.equal(await accessRevoked(w, first.access_token), true);

    const events = await w.storage.audit.list({ type: 'refresh_reuse_detected' });
    assert.equal(events.length, 1);
    assert.equal(events[0]?.clientId, app.clientId);
    assert.equal(events[0]?.userId, user.id);
    assert.equal(events[0]?.ip, IP);
    assert.deepEqual(events[0]?.detail, { family: grant.id });

    // With the window off (refreshGrace 0), the first reuse is reuse.
    const strict = publicApp({ refreshGrace: 0 });
    const s = await signIn(w, strict, user);
    await refresh(w, strict, s.response.refresh_token!);
    await rejectsWith(refresh(w, strict, s.response.refresh_token!), 'invalid_grant', /has been revoked/);
    assert.notEqual((await w.storage.grants.getGrant(s.grant.id))?.revokedAt, null);
  });

  test('a retry inside the grace window gets the identical response; nothing minted, nothing revoked', async () => {
    const w = await world();
    const user = await addUser(w);
    const app = publicApp();
    const { response: first, grant } = await signIn(w, app, user);
    const rotated = await refresh(w, app, first.refresh_token!);
    const written = w.inserted.length;
    w.clock.advanceSeconds(config.refreshGraceSec); // the window's last moment
    const retry = await refresh(w, app, first.refresh_token!);
    assert.deepEqual(retry, rotated);
    assert.equal(w.inserted.length, written, 'no new refresh token');
    assert.equal((await w.storage.grants.getGrant(grant.id))?.revokedAt, null);
    assert.deepEqual(await w.storage.audit.list({ type: 'refresh_reuse_detected' }), []);
  });

  test('two concurrent refreshes of one token: one rotation, both get its response', async () => {
    const w = await world();
    const user = await addUser(w);
    const app = publicApp();
    const { response: first } = await signIn(w, app, user);
    const written = w.inserted.length;
    const [a, b] = await Promise.all([
      refresh(w, app, first.refresh_token!),
      refresh(w, app, first.refresh_token!),
    ]);
    assert.deepEqual(a, b);
    assert.equal(w.inserted.length, written + 1, 'exactly one successor');
  });

  test('a retry authenticated differently from the rotation gets nothing, and revokes nothing', async () => {
    const w = await world();
    const user = await addUser(w);
    const web = webApp();
    const { response: first, grant } = await signIn(w, web, user, { challenge: null });
    const rotated = await refresh(w, web, first.refresh_token!, { method: 'client_secret_basic' });
    await rejectsWith(
      refresh(w, web, first.refresh_token!, { method: 'client_secret_post' }),
      'invalid_grant',
      /authenticate as the first request did/,
    );
    assert.equal((await w.storage.grants.getGrant(grant.id))?.revokedAt, null);
    // The retry authenticated as the rotation was still gets the response.
    assert.deepEqual(await refresh(w, web, first.refresh_token!, { method: 'client_secret_basic' }), rotated);
  });

  test('scope: narrowing is per request; widening or a malformed scope is invalid_scope and spends nothing', async () => {
    const w = await world();
    const user = await addUser(w);
    const app = publicApp();
    const { response: first, grant } = await signIn(w, app, user, { scope: 'openid profile offline_access' });

    await rejectsWith(
      refresh(w, app, first.refresh_token!, { scope: 'openid email' }),
      'invalid_scope',
      /exceeds/,
    );
    await rejectsWith(
      refresh(w, app, first.refresh_token!, { scope: 'bad"scope' }),
      'invalid_scope',
      /malformed/,
    );
    assert.equal((await w.storage.refreshTokens.get(sha256(first.refresh_token!)))?.consumedAt, null);

    const narrow = await refresh(w, app, first.refresh_token!, { scope: 'profile' });
    assert.equal(narrow.scope, 'profile');
    assert.equal((await verifyAccess(w, narrow.access_token))['scope'], 'profile');
    assert.equal(narrow.id_token, undefined, 'no openid, no ID token');
    assert.ok(narrow.refresh_token, 'the family still rotates');
    // The family keeps the original scope: a later refresh may ask for all of it again.
    assert.equal((await w.storage.refreshTokens.get(sha256(narrow.refresh_token!)))?.scope, grant.scope);
    const full = await refresh(w, app, narrow.refresh_token!);
    assert.equal(full.scope, grant.scope);
    assert.ok(full.id_token);
  });

  test('an expired or idle-expired refresh token is refused (and not consumed)', async () => {
    const w = await world();
    const user = await addUser(w);
    const app = publicApp({ refreshTokenTtl: 3600, refreshIdleTtl: 600 });

    const idle = await signIn(w, app, user);
    w.clock.advance(600 * SECOND - 1);
    const slid = await refresh(w, app, idle.response.refresh_token!);
    const next = await w.storage.refreshTokens.get(sha256(slid.refresh_token!));
    assert.equal(next?.idleExpiresAt, w.clock.now() + 600 * SECOND, 'a fresh idle window');
    w.clock.advance(600 * SECOND);
    await rejectsWith(refresh(w, app, slid.refresh_token!), 'invalid_grant', /expired/);
    assert.equal((await w.storage.refreshTokens.get(sha256(slid.refresh_token!)))?.consumedAt, null);

    // The family's absolute end (3600 s from the grant), however recently it was used.
    const w2 = await world();
    const user2 = await addUser(w2);
    const { response, grant } = await signIn(w2, app, user2);
    let token = response.refresh_token!;
    for (let t = 0; t < 6; t++) {
      w2.clock.advance(599 * SECOND);
      token = (await refresh(w2, app, token)).refresh_token!;
    }
    const last = await w2.storage.refreshTokens.get(sha256(token));
    assert.equal(last?.expiresAt, grant.createdAt + 3600 * SECOND);
    assert.equal(last?.idleExpiresAt, last?.expiresAt, 'the idle end never passes the absolute one');
    w2.clock.advance(grant.createdAt + 3600 * SECOND - w2.clock.now());
    await rejectsWith(refresh(w2, app, token), 'invalid_grant', /expired/);
  });

  test("the application's access-token lifetime applies on refresh too", async () => {
    const w = await world();
    const user = await addUser(w);
    const app = publicApp({ accessTokenTtl: 900 });
    const { response } = await signIn(w, app, user);
    const r = await refresh(w, app, response.refresh_token!);
    assert.equal(r.expires_in, 900);
    const at = await verifyAccess(w, r.access_token);
    assert.equal(at.exp! - at.iat!, 900);
  });

  test('a rotation that fails midway leaves nothing: the presented token is not spent', async () => {
    const w = await world();
    const user = await addUser(w);
    const app = publicApp();
    const { response, grant } = await signIn(w, app, user);
    const presented = sha256(response.refresh_token!);

    // The new token's insert fails, after the consumption in the same transaction.
    w.failInTransaction = 'insert';
    await assert.rejects(refresh(w, app, response.refresh_token!), /insert failed/);
    assert.equal((await w.storage.refreshTokens.get(presented))?.consumedAt, null);

    // Storing the successor fails, after the new token was written: that is undone too.
    const before = w.inserted.length;
    w.failInTransaction = 'saveSuccessor';
    await assert.rejects(refresh(w, app, response.refresh_token!), /saveSuccessor failed/);
    assert.equal(w.inserted.length, before + 1);
    assert.equal(await w.storage.refreshTokens.get(w.inserted.at(-1)!), undefined, 'the new token is gone');
    const kept = await w.storage.refreshTokens.get(presented);
    assert.equal(kept?.consumedAt, null);
    assert.equal(kept?.successor, null);

    // So a retry is a first rotation, not a reuse.
    const r = await refresh(w, app, response.refresh_token!);
    assert.ok(r.refresh_token);
    assert.equal((await w.storage.grants.getGrant(grant.id))?.revokedAt, null);
    assert.deepEqual(await w.storage.audit.list({ type: 'refresh_reuse_detected' }), []);
  });

  test('without rotation (confidential client): the same token back, its idle end slid', async () => {
    const w = await world();
    const user = await addUser(w);
    const web = webApp({ rotateRefreshTokens: false, refreshIdleTtl: 600 });
    const { response } = await signIn(w, web, user, { challenge: null });
    w.clock.advanceSeconds(300);
    const r = await refresh(w, web, response.refresh_token!);
    assert.equal(r.refresh_token, response.refresh_token);
    const stored = await w.storage.refreshTokens.get(sha256(response.refresh_token!));
    assert.equal(stored?.consumedAt, null);
    assert.equal(stored?.idleExpiresAt, w.clock.now() + 600 * SECOND);
    w.clock.advanceSeconds(599);
    assert.equal((await refresh(w, web, response.refresh_token!)).refresh_token, response.refresh_token);

    // A public client rotates whatever its setting says.
    const app = publicApp({ rotateRefreshTokens: false });
    const p = await signIn(w, app, user);
    assert.notEqual(
      (await refresh(w, app, p.response.refresh_token!)).refresh_token,
      p.response.refresh_token,
    );
  });

  test("refused: another client's token, a revoked family, a disabled user, a missing or unknown token", async () => {
    const w = await world();
    const user = await addUser(w);
    const app = publicApp();
    const other = publicApp();
    const { response, grant } = await signIn(w, app, user);
    const token = response.refresh_token!;

    await rejectsWith(refresh(w, other, token), 'invalid_grant', /invalid/);
    assert.equal((await w.storage.refreshTokens.get(sha256(token)))?.consumedAt, null, 'not spent');
    assert.equal((await w.storage.grants.getGrant(grant.id))?.revokedAt, null, 'not revoked');

    await w.storage.users.setDisabled(user.id, true, T0);
    await rejectsWith(refresh(w, app, token), 'invalid_grant', /can no longer sign in/);
    assert.equal((await w.storage.refreshTokens.get(sha256(token)))?.consumedAt, null, 'not spent');
    await w.storage.users.setDisabled(user.id, false, T0);

    await w.storage.grants.revokeGrant(grant.id, T0);
    await rejectsWith(refresh(w, app, token), 'invalid_grant', /revoked/);

    await rejectsWith(
      refreshTokenGrant.handle(w.deps, tokenRequest(app, { grant_type: 'refresh_token' })),
      'invalid_request',
      /missing/,
    );
    await rejectsWith(refresh(w, app, randomToken(32)), 'invalid_grant', /invalid/);
    await rejectsWith(refresh(w, app, 'x'.repeat(513)), 'invalid_grant', /invalid/);
  });
});

describe('grant_type=client_credentials', () => {
  test('the allowed scopes by default; sub is the client; no refresh or ID token; no grant', async () => {
    const w = await world();
    const svc = serviceApp();
    const r = await credentials(w, svc);
    assert.deepEqual(Object.keys(r).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
    assert.equal(r.scope, 'api:read api:write');
    assert.equal(r.expires_in, config.accessTokenTtlSec);
    const at = await verifyAccess(w, r.access_token);
    assert.equal(at.sub, svc.clientId);
    assert.equal(at['client_id'], svc.clientId);
    assert.equal(at['scope'], 'api:read api:write');
    assert.equal(at['auth_time'], undefined);
    assert.equal(grantIdOfJti(String(at.jti)), null, 'a grant-less jti');
    assert.equal(await w.storage.accessTokens.isRevoked(String(at.jti), null), false);
  });

  test('a subset of the allowed scopes, with the application lifetime', async () => {
    const w = await world();
    const svc = serviceApp({ accessTokenTtl: 300 });
    const r = await credentials(w, svc, 'api:write', 'client_secret_post');
    assert.equal(r.scope, 'api:write');
    assert.equal(r.expires_in, 300);
    const at = await verifyAccess(w, r.access_token);
    assert.equal(at.exp! - at.iat!, 300);
  });

  test('refused: a public client, user scopes, scopes not allowed, a malformed scope', async () => {
    const w = await world();
    await rejectsWith(
      credentials(w, publicApp({ grantTypes: ['client_credentials'] })),
      'unauthorized_client',
      /Public clients/,
    );
    const svc = serviceApp();
    for (const scope of ['openid', 'offline_access', 'api:read profile', 'email']) {
      await rejectsWith(credentials(w, svc, scope), 'invalid_scope', /needs a user/);
    }
    await rejectsWith(credentials(w, svc, 'api:read api:admin'), 'invalid_scope', /api:admin is not allowed/);
    await rejectsWith(credentials(w, svc, 'api:read "x"'), 'invalid_scope', /malformed/);
  });

  test('an application allowed no scopes gets a token with an empty scope when it asks for none', async () => {
    const w = await world();
    const svc = serviceApp({ allowedScopes: [] });
    const r = await credentials(w, svc);
    assert.equal(r.scope, '');
    await rejectsWith(credentials(w, svc, 'api:read'), 'invalid_scope', /not allowed/);
  });
});

/**
 * RFC 8707 resource indicators (src/protocol/resources.ts): which API a request names, which of
 * its scopes an application may ask, the API of a token at /token and what a consent covers.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApiAdmin } from '../../src/admin/apis.js';
import { ManualClock } from '../../src/clock.js';
import { OAuthError } from '../../src/protocol/errors.js';
import {
  allowedScopesOf,
  authorizationScopes,
  consentedApis,
  consentItems,
  isSelfRegistered,
  parseResources,
  resolveResources,
  scopeForApi,
  tokenResource,
} from '../../src/protocol/resources.js';
import { openMemoryStorage } from '../../src/storage/memory/index.js';
import type { Client } from '../../src/storage/types.js';
import { accessTokenAlgOf, lifetimesOf } from '../../src/tokens/lifetimes.js';

const DEFAULT = 'api://default';
const ORDERS = 'https://orders.example.com';
const BILLING = 'https://billing.example.com';

function client(over: Partial<Client> = {}): Client {
  return {
    clientId: 'app',
    name: 'App',
    type: 'native',
    redirectUris: ['http://127.0.0.1/cb'],
    postLogoutRedirectUris: [],
    grantTypes: ['authorization_code', 'refresh_token'],
    tokenEndpointAuthMethod: 'none',
    secretHash: null,
    consent: 'required',
    requirePkce: true,
    accessTokenTtl: null,
    refreshTokenTtl: null,
    refreshIdleTtl: null,
    refreshGrace: null,
    rotateRefreshTokens: true,
    createdAt: 0,
    updatedAt: 0,
    ...over,
  };
}

async function lookup() {
  const apis = new ApiAdmin(openMemoryStorage().apis, new ManualClock(), DEFAULT);
  await apis.create({
    identifier: ORDERS,
    name: 'Orders',
    scopes: [
      { value: 'orders:read', description: 'Read your orders' },
      { value: 'orders:write', description: 'Place orders' },
    ],
    accessTokenTtl: 120,
    tokenAlg: 'ES256',
  });
  await apis.create({
    identifier: BILLING,
    name: 'Billing',
    scopes: [{ value: 'bills:read', description: '' }],
  });
  return apis;
}

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return e instanceof OAuthError ? e.code : 'other';
  }
  return 'none';
};
const asyncCode = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    return e instanceof OAuthError ? e.code : 'other';
  }
  return 'none';
};

describe('resource indicators (RFC 8707)', () => {
  test('§2: absolute URIs without a fragment; duplicates collapse; a bound', () => {
    assert.deepEqual(parseResources([ORDERS, ORDERS, BILLING]), [ORDERS, BILLING]);
    for (const bad of ['orders', '/relative', `${ORDERS}#frag`, 'https://a b', ''])
      assert.equal(
        code(() => parseResources([bad])),
        'invalid_target',
        bad,
      );
    const many = Array.from({ length: 11 }, (_, i) => `https://r${i}.example.com`);
    assert.equal(
      code(() => parseResources(many)),
      'invalid_target',
    );
  });

  test('no resource: the default API; unknown or not allowed: invalid_target', async () => {
    const apis = await lookup();
    assert.deepEqual(
      (await resolveResources(apis, client(), [])).map((a) => a.identifier),
      [DEFAULT],
    );
    assert.equal(
      await asyncCode(resolveResources(apis, client(), ['https://nope.example.com'])),
      'invalid_target',
    );
    assert.equal(await asyncCode(resolveResources(apis, client(), [ORDERS])), 'invalid_target');
    const allowed = client({ allowedApis: [{ identifier: ORDERS, scopes: null }] });
    assert.deepEqual(
      (await resolveResources(apis, allowed, [ORDERS])).map((a) => a.identifier),
      [ORDERS],
    );
  });

  test('an allowed API with a scope list narrows what the application may ask', async () => {
    const apis = await lookup();
    const orders = (await apis.get(ORDERS))!;
    assert.deepEqual(
      allowedScopesOf(client({ allowedApis: [{ identifier: ORDERS, scopes: null }] }), orders, DEFAULT),
      ['orders:read', 'orders:write'],
    );
    assert.deepEqual(
      allowedScopesOf(
        client({ allowedApis: [{ identifier: ORDERS, scopes: ['orders:read'] }] }),
        orders,
        DEFAULT,
      ),
      ['orders:read'],
    );
    assert.equal(allowedScopesOf(client(), orders, DEFAULT), undefined);
  });

  test('a self-registered application may ask an API that allows dynamic clients, and only that', async () => {
    const apis = await lookup();
    await apis.create({
      identifier: 'https://open.example.com',
      name: 'Open',
      scopes: [{ value: 'open:read', description: '' }],
      allowDynamicClients: true,
    });
    const open = (await apis.get('https://open.example.com'))!;
    const orders = (await apis.get(ORDERS))!;
    assert.equal(isSelfRegistered(client()), false);
    for (const registration of ['dynamic', 'metadata_document'] as const) {
      const self = client({ registration });
      assert.equal(isSelfRegistered(self), true);
      assert.deepEqual(allowedScopesOf(self, open, DEFAULT), ['open:read']);
      // An API without allowDynamicClients stays out of reach (RFC 8707 §2 invalid_target).
      assert.equal(allowedScopesOf(self, orders, DEFAULT), undefined);
      assert.equal(await asyncCode(resolveResources(apis, self, [ORDERS])), 'invalid_target');
    }
    // An application the administrator made does not get it by the API's flag.
    assert.equal(allowedScopesOf(client(), open, DEFAULT), undefined);
  });

  test("authorization scopes: OIDC ones kept, API ones placed, another API's refused, unknown ignored", async () => {
    const apis = await lookup();
    const app = client({ allowedApis: [{ identifier: ORDERS, scopes: ['orders:read'] }] });
    const named = await resolveResources(apis, app, [ORDERS]);
    const { scopes, granted } = await authorizationScopes(
      apis,
      app,
      ['openid', 'orders:read', 'whatever'],
      named,
    );
    assert.deepEqual(scopes, ['orders:read']);
    assert.deepEqual(granted, [{ identifier: ORDERS, scopes: ['orders:read'] }]);
    // A scope of the named API the application may not ask.
    assert.equal(await asyncCode(authorizationScopes(apis, app, ['orders:write'], named)), 'invalid_scope');
    // A scope of an API the request does not name.
    assert.equal(await asyncCode(authorizationScopes(apis, app, ['bills:read'], named)), 'invalid_scope');
  });

  test('§2.2 at /token: one resource the grant covers, the first by default', () => {
    assert.equal(tokenResource([], undefined, DEFAULT), DEFAULT);
    assert.equal(tokenResource([], [ORDERS, BILLING], DEFAULT), ORDERS);
    assert.equal(tokenResource([BILLING], [ORDERS, BILLING], DEFAULT), BILLING);
    assert.equal(
      code(() => tokenResource([DEFAULT], [ORDERS], DEFAULT)),
      'invalid_target',
    );
    assert.equal(
      code(() => tokenResource([ORDERS, BILLING], [ORDERS, BILLING], DEFAULT)),
      'invalid_target',
    );
  });

  test("a token for one API carries only its scopes (and OpenID Connect's)", async () => {
    const apis = await lookup();
    const app = client({
      allowedApis: [
        { identifier: ORDERS, scopes: null },
        { identifier: BILLING, scopes: null },
      ],
    });
    const grant = ['openid', 'offline_access', 'orders:read', 'bills:read'];
    assert.deepEqual(scopeForApi(grant, (await apis.get(ORDERS))!, app, DEFAULT), [
      'openid',
      'offline_access',
      'orders:read',
    ]);
    assert.deepEqual(scopeForApi(grant, (await apis.get(BILLING))!, app, DEFAULT), [
      'openid',
      'offline_access',
      'bills:read',
    ]);
  });

  test('consent items: default API plain (as before), other APIs qualified by identifier', () => {
    assert.deepEqual(consentItems(['openid', 'profile'], [{ identifier: DEFAULT, scopes: [] }], DEFAULT), [
      'openid',
      'profile',
    ]);
    assert.deepEqual(
      consentItems(['openid', 'orders:read'], [{ identifier: ORDERS, scopes: ['orders:read'] }], DEFAULT),
      ['openid', `${ORDERS}#`, `${ORDERS}#orders:read`],
    );
  });

  test('consented APIs read the items back, per API (the account page)', () => {
    const granted = [
      { identifier: DEFAULT, scopes: ['jobs:run'] },
      { identifier: ORDERS, scopes: ['orders:read', 'orders:write'] },
    ];
    assert.deepEqual(consentedApis(consentItems(['openid', 'profile'], granted, DEFAULT), DEFAULT), granted);
    assert.deepEqual(consentedApis([`${ORDERS}#`], DEFAULT), [{ identifier: ORDERS, scopes: [] }]);
    assert.deepEqual(consentedApis(['openid', 'email'], DEFAULT), [], 'OpenID Connect scopes are no API');
  });

  test('lifetime and algorithm: application > API > server', async () => {
    const apis = await lookup();
    const orders = (await apis.get(ORDERS))!;
    const server = {
      accessTokenTtlSec: 300,
      idTokenTtlSec: 300,
      refreshTokenTtlSec: 86400,
      refreshIdleTtlSec: 3600,
      refreshGraceSec: 30,
      accessTokenAlg: 'RS256' as const,
    };
    assert.deepEqual(lifetimesOf(client(), server).accessToken, { seconds: 300, source: 'server' });
    assert.deepEqual(lifetimesOf(client(), server, orders).accessToken, { seconds: 120, source: 'api' });
    assert.deepEqual(lifetimesOf(client({ accessTokenTtl: 600 }), server, orders).accessToken, {
      seconds: 600,
      source: 'application',
    });
    assert.deepEqual(accessTokenAlgOf(client(), server), { alg: 'RS256', source: 'server' });
    assert.deepEqual(accessTokenAlgOf(client(), server, orders), { alg: 'ES256', source: 'api' });
    assert.deepEqual(accessTokenAlgOf(client({ profile: 'fapi2' }), server), {
      alg: 'ES256',
      source: 'application',
    });
  });
});

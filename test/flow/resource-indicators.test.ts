/**
 * RFC 8707 resource indicators through real HTTP, with oauth4webapi and jose's remote JWKS at
 * their defaults: an application allowed two registered APIs asks for both at /authorize, the
 * consent page names each API and its scopes in the registration's words, one access token per
 * API at /token (aud = the API, scope narrowed to it), a refresh token of the grant gets a token
 * for either, and client credentials for another API. Unknown or not-allowed APIs: invalid_target.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { Browser, formOf } from '../helpers/browser.js';
import {
  authorizeQuery,
  clientCredentials,
  insecure,
  introspect,
  postToken,
  withServer,
} from '../helpers/flow.js';
import { PASSWORD } from '../helpers/server.js';

const ORDERS = 'https://orders.example.com';
const BILLING = 'https://billing.example.com/v1';
const REDIRECT = 'http://127.0.0.1:51234/callback';

describe('RFC 8707: resource at /authorize and /token, one token per API', () => {
  const s = withServer({ users: ['alice'], discover: true });
  let appId: string;
  let jwks: ReturnType<typeof createRemoteJWKSet>;

  before(async () => {
    await s.server.ctx.apis.create({
      identifier: ORDERS,
      name: 'Orders API',
      scopes: [
        { value: 'orders:read', description: 'Read your orders' },
        { value: 'orders:write', description: 'Change your orders' },
      ],
    });
    await s.server.ctx.apis.create({
      identifier: BILLING,
      name: 'Billing',
      scopes: [
        { value: 'billing:read', description: 'See your invoices' },
        { value: 'billing:pay', description: '' },
      ],
      accessTokenTtl: 300,
    });
    const { client } = await s.server.ctx.clients.create({
      name: 'Shop app',
      type: 'native',
      consent: 'required',
      redirectUris: ['http://127.0.0.1/callback'],
      allowedApis: [
        { identifier: ORDERS, scopes: null },
        { identifier: BILLING, scopes: ['billing:read'] },
      ],
    });
    appId = client.clientId;
    jwks = createRemoteJWKSet(new URL(s.as.jwks_uri!));
  });

  /** /authorize with `resources`, through sign-in; returns the consent page (or the redirect). */
  async function authorize(browser: Browser, scope: string, resources: string[]) {
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const q = authorizeQuery(
      { clientId: appId, redirectUri: REDIRECT },
      await oauth.calculatePKCECodeChallenge(verifier),
      { scope, state },
    );
    for (const r of resources) q.append('resource', r);
    let step = await browser.get(`${s.as.authorization_endpoint}?${q}`);
    for (let i = 0; i < 4 && step.location?.startsWith('/interaction/'); i++) {
      const page = await browser.get(step.location);
      const { csrf, actions } = formOf(page.body);
      if (!page.body.includes('name="password"'))
        return { consent: { body: page.body, csrf, actions }, verifier, state };
      step = await browser.post(actions.find((a) => a.endsWith('/login'))!, {
        csrf,
        username: 'alice',
        password: PASSWORD,
      });
    }
    return { redirect: step, verifier, state };
  }

  async function exchange(location: string, state: string, verifier: string, resource?: string) {
    const client: oauth.Client = { client_id: appId };
    const params = oauth.validateAuthResponse(s.as, client, new URL(location), state);
    const response = await oauth.authorizationCodeGrantRequest(
      s.as,
      client,
      oauth.None(),
      params,
      REDIRECT,
      verifier,
      { ...insecure, ...(resource ? { additionalParameters: { resource } } : {}) },
    );
    return oauth.processAuthorizationCodeResponse(s.as, client, response);
  }

  const verify = (token: string, audience: string) =>
    jwtVerify(token, jwks, {
      issuer: s.server.issuer,
      audience,
      typ: 'at+jwt',
      currentDate: new Date(s.server.clock.now()),
    });

  it('names each API and describes its scopes on the consent page; tokens per API', async () => {
    const browser = new Browser(s.server.url);
    const a = await authorize(browser, 'openid orders:read orders:write billing:read offline_access', [
      ORDERS,
      BILLING,
    ]);
    assert.ok(a.consent, 'the consent page is shown');
    const html = a.consent.body;
    assert.match(html, /<h2>Orders API<\/h2>/);
    assert.match(html, /<h2>Billing<\/h2>/);
    for (const words of ['Read your orders', 'Change your orders', 'See your invoices'])
      assert.ok(html.includes(`>${words}</li>`), words);
    assert.doesNotMatch(html, />orders:read</, 'scopes are shown in words, not as raw strings');
    const allowed = await browser.post(a.consent.actions.find((x) => x.endsWith('/consent'))!, {
      csrf: a.consent.csrf,
      decision: 'allow',
    });
    assert.ok(allowed.location?.startsWith(REDIRECT), allowed.location ?? allowed.body.slice(0, 200));

    const result = await exchange(allowed.location!, a.state, a.verifier, ORDERS);
    const orders = await verify(result.access_token, ORDERS);
    assert.equal(orders.payload['scope'], 'openid offline_access orders:read orders:write');
    assert.equal(result.scope, 'openid offline_access orders:read orders:write');
    assert.ok(result.refresh_token);

    // RFC 8707 §2.2: the refresh token of a grant covering both APIs gets a token for either.
    const client: oauth.Client = { client_id: appId };
    const forBilling = await oauth.processRefreshTokenResponse(
      s.as,
      client,
      await oauth.refreshTokenGrantRequest(s.as, client, oauth.None(), result.refresh_token!, {
        ...insecure,
        additionalParameters: { resource: BILLING },
      }),
    );
    const billing = await verify(forBilling.access_token, BILLING);
    assert.equal(billing.payload['scope'], 'openid offline_access billing:read', 'narrowed to Billing');
    assert.equal(forBilling.expires_in, 300, "the API's own access-token lifetime");
    assert.equal((billing.payload.exp ?? 0) - (billing.payload.iat ?? 0), 300);
    // A retry inside the grace window gets the same answer only when it asks for the same resource.
    const retry = (resource: string) =>
      postToken(s.server, {
        grant_type: 'refresh_token',
        refresh_token: result.refresh_token!,
        client_id: appId,
        resource,
      });
    const same = await retry(BILLING);
    assert.equal(same.status, 200);
    assert.equal(same.json['access_token'], forBilling.access_token, 'the stored answer');
    const other = await retry(ORDERS);
    assert.equal(other.status, 400);
    assert.equal(other.json['error'], 'invalid_grant');
    assert.match(String(other.json['error_description']), /same resource/);

    // Without resource: the first API the authorization request named.
    const again = await oauth.processRefreshTokenResponse(
      s.as,
      client,
      await oauth.refreshTokenGrantRequest(s.as, client, oauth.None(), forBilling.refresh_token!, insecure),
    );
    assert.equal(decodeJwt(again.access_token).aud, ORDERS);

    // Introspection and userinfo accept a token of any registered API.
    const rs = await s.server.ctx.clients.create({ name: 'Orders API server', type: 'service' });
    const seen = await introspect(
      s.server,
      { clientId: rs.client.clientId, secret: rs.secret! },
      again.access_token,
    );
    assert.equal(seen.json['active'], true);
    assert.equal(seen.json['aud'], ORDERS);
    const info = await fetch(`${s.server.url}/userinfo`, {
      headers: { authorization: `Bearer ${forBilling.access_token}` },
    });
    assert.equal(info.status, 200);

    // A resource the grant does not cover.
    await assert.rejects(
      oauth
        .refreshTokenGrantRequest(s.as, client, oauth.None(), again.refresh_token!, {
          ...insecure,
          additionalParameters: { resource: 'https://other.example.com' },
        })
        .then((r) => oauth.processRefreshTokenResponse(s.as, client, r)),
      (err: unknown) => err instanceof oauth.ResponseBodyError && err.error === 'invalid_target',
    );

    // The account page lists what was allowed, per API, in words.
    const account = await browser.get('/account');
    assert.equal(account.status, 200);
    assert.match(account.body, /Orders API: Read your orders; Change your orders/);
    assert.match(account.body, /Billing: See your invoices/);

    // The same request again: the consent covers it, no page.
    const second = await authorize(browser, 'openid orders:read', [ORDERS]);
    assert.equal(second.consent, undefined, 'no consent page for what was allowed');
    assert.ok(second.redirect?.location?.startsWith(REDIRECT));
  });

  it('PAR (RFC 9126) keeps repeated resource parameters; a token per API from the pushed request', async () => {
    const verifier = oauth.generateRandomCodeVerifier();
    const body = authorizeQuery(
      { clientId: appId, redirectUri: REDIRECT },
      await oauth.calculatePKCECodeChallenge(verifier),
      { scope: 'openid orders:read billing:read', state: 'par-state' },
    );
    body.append('resource', ORDERS);
    body.append('resource', BILLING);
    const pushed = await fetch(`${s.server.url}/par`, { method: 'POST', body });
    assert.equal(pushed.status, 201);
    const { request_uri } = (await pushed.json()) as { request_uri: string };
    // A bad resource is refused at /par itself.
    const bad = new URLSearchParams(body);
    bad.set('resource', 'https://unknown.example.com');
    const refused = await fetch(`${s.server.url}/par`, { method: 'POST', body: bad });
    assert.equal(refused.status, 400);
    assert.equal(((await refused.json()) as { error: string }).error, 'invalid_target');

    const browser = new Browser(s.server.url);
    let step = await browser.get(
      `/authorize?client_id=${appId}&request_uri=${encodeURIComponent(request_uri)}`,
    );
    for (let i = 0; i < 4 && step.location?.startsWith('/interaction/'); i++) {
      const page = await browser.get(step.location);
      const { csrf, actions } = formOf(page.body);
      step = page.body.includes('name="password"')
        ? await browser.post(actions.find((a) => a.endsWith('/login'))!, {
            csrf,
            username: 'alice',
            password: PASSWORD,
          })
        : await browser.post(actions.find((a) => a.endsWith('/consent'))!, { csrf, decision: 'allow' });
    }
    assert.ok(step.location?.startsWith(REDIRECT), step.location ?? step.body.slice(0, 200));
    const billing = await exchange(step.location!, 'par-state', verifier, BILLING);
    const claims = (await verify(billing.access_token, BILLING)).payload;
    assert.equal(claims['scope'], 'openid billing:read');
  });

  it('unknown and not-allowed resources are invalid_target; scopes outside the APIs invalid_scope', async () => {
    const browser = new Browser(s.server.url);
    const cases: [string, string[], string][] = [
      ['openid', ['https://unknown.example.com'], 'invalid_target'],
      ['openid', ['not a uri'], 'invalid_target'],
      ['openid', ['https://orders.example.com#frag'], 'invalid_target'],
      // Billing allows this application billing:read only.
      ['openid billing:pay', [BILLING], 'invalid_scope'],
      // A scope of Orders without naming Orders.
      ['openid orders:read', [BILLING], 'invalid_scope'],
    ];
    for (const [scope, resources, error] of cases) {
      const a = await authorize(browser, scope, resources);
      const location = a.redirect?.location ?? '';
      assert.ok(location.startsWith(REDIRECT), `${resources}: ${location || a.redirect?.body.slice(0, 200)}`);
      const url = new URL(location);
      assert.equal(url.searchParams.get('error'), error, `${scope} ${resources}`);
      assert.equal(url.searchParams.get('iss'), s.server.issuer);
    }
    // An application with no allowed APIs may ask only for the default one.
    const { client } = await s.server.ctx.clients.create({
      name: 'Other',
      type: 'native',
      redirectUris: ['http://127.0.0.1/callback'],
    });
    const q = authorizeQuery({ clientId: client.clientId, redirectUri: REDIRECT }, 'x'.repeat(43), {
      scope: 'openid',
      resource: ORDERS,
    });
    const r = await browser.get(`/authorize?${q}`);
    assert.equal(new URL(r.location!).searchParams.get('error'), 'invalid_target');
  });

  it('an API taken away from the application: its grants get no more tokens for it', async () => {
    const browser = new Browser(s.server.url);
    const a = await authorize(browser, 'openid orders:read offline_access', [ORDERS]);
    let location = a.redirect?.location;
    if (a.consent) {
      const allowed = await browser.post(a.consent.actions.find((x) => x.endsWith('/consent'))!, {
        csrf: a.consent.csrf,
        decision: 'allow',
      });
      location = allowed.location;
    }
    const tokens = await exchange(location!, a.state, a.verifier);
    assert.equal(decodeJwt(tokens.access_token).aud, ORDERS);
    await s.server.ctx.clients.update(appId, { disallowApis: [ORDERS] });
    for (const extra of [{ resource: ORDERS }, {}] as Record<string, string>[]) {
      const r = await postToken(s.server, {
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token!,
        client_id: appId,
        ...extra,
      });
      assert.equal(r.status, 400, JSON.stringify(extra));
      assert.equal(r.json['error'], 'invalid_target');
    }
    await s.server.ctx.clients.update(appId, { allowApis: [{ identifier: ORDERS, scopes: null }] });
  });

  it('client credentials for another API: its allowed scopes, invalid_target for the others', async () => {
    const { client, secret } = await s.server.ctx.clients.create({
      name: 'Worker',
      type: 'service',
      allowedScopes: ['jobs:run'],
      allowedApis: [{ identifier: ORDERS, scopes: ['orders:read'] }],
    });
    const creds = { clientId: client.clientId, secret: secret! };
    const orders = await clientCredentials(s.server, creds, { resource: ORDERS, scope: 'orders:read' });
    assert.equal(orders.status, 200, JSON.stringify(orders.json));
    const claims = (await verify(orders.json['access_token'] as string, ORDERS)).payload;
    assert.equal(claims['scope'], 'orders:read');
    assert.equal(claims.sub, client.clientId);
    const all = await clientCredentials(s.server, creds, { resource: ORDERS });
    assert.equal(all.json['scope'], 'orders:read', 'without scope: what it is allowed');
    const write = await clientCredentials(s.server, creds, { resource: ORDERS, scope: 'orders:write' });
    assert.equal(write.status, 400);
    assert.equal(write.json['error'], 'invalid_scope');
    const billing = await clientCredentials(s.server, creds, { resource: BILLING });
    assert.equal(billing.status, 400);
    assert.equal(billing.json['error'], 'invalid_target');
    // The default API keeps allowed_scopes as before.
    const def = await clientCredentials(s.server, creds, { scope: 'jobs:run' });
    assert.equal(def.status, 200);
    assert.equal(decodeJwt(def.json['access_token'] as string).aud, 'api://default');
  });
});

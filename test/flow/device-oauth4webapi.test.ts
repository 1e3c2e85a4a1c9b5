/**
 * The device authorization grant (RFC 8628) driven by a certified client library, oauth4webapi,
 * at its defaults (only plain http allowed, for the test server): deviceAuthorizationRequest →
 * processDeviceAuthorizationResponse (§3.2) → deviceCodeGrantRequest / processDeviceCodeResponse
 * (§3.4, §3.5: authorization_pending as its ResponseBodyError), approved through the real
 * /device pages, with an RFC 8707 resource: the access token is for that API. Time moves on the
 * server's ManualClock.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { Browser } from '../helpers/browser.js';
import { approveInBrowser, createDeviceClient } from '../helpers/device.js';
import { insecure, withServer } from '../helpers/flow.js';

const ORDERS = 'https://orders.example.com';

describe('device authorization grant, driven by oauth4webapi', () => {
  const s = withServer({ users: ['alice'], discover: true });
  let client: oauth.Client;
  before(async () => {
    await s.server.ctx.apis.create({
      identifier: ORDERS,
      name: 'Orders API',
      scopes: [{ value: 'orders:read', description: 'Read your orders' }],
    });
    const app = await createDeviceClient(s.server, { allowedApis: [{ identifier: ORDERS, scopes: null }] });
    client = { client_id: app.clientId };
  });

  const poll = async (deviceCode: string) =>
    oauth.processDeviceCodeResponse(
      s.as,
      client,
      await oauth.deviceCodeGrantRequest(s.as, client, oauth.None(), deviceCode, insecure),
    );

  it('pending, approved at /device, then tokens: the ID token, and an access token for the resource', async () => {
    const response = await oauth.deviceAuthorizationRequest(
      s.as,
      client,
      oauth.None(),
      new URLSearchParams([
        ['scope', 'openid profile orders:read'],
        ['resource', ORDERS],
      ]),
      insecure,
    );
    const codes = await oauth.processDeviceAuthorizationResponse(s.as, client, response);
    assert.equal(codes.verification_uri, `${s.server.issuer}/device`);
    assert.equal(codes.interval, 5);
    assert.equal(codes.expires_in, 600);
    assert.ok(codes.verification_uri_complete);

    // Not yet approved: authorization_pending, as oauth4webapi's ResponseBodyError.
    s.server.clock.advanceSeconds(codes.interval!);
    await assert.rejects(
      poll(codes.device_code),
      (e: unknown) => e instanceof oauth.ResponseBodyError && e.error === 'authorization_pending',
    );

    const { final, confirmation } = await approveInBrowser(new Browser(s.server.url), {
      user_code: codes.user_code,
      verification_uri_complete: codes.verification_uri_complete,
    });
    assert.equal(final.status, 200);
    assert.ok(confirmation?.includes('Orders API'));
    s.server.clock.advanceSeconds(codes.interval!);
    const result = await poll(codes.device_code);
    assert.equal(result.token_type, 'bearer');
    assert.equal(result.scope, 'openid profile orders:read');
    const jwks = createRemoteJWKSet(new URL(s.as.jwks_uri!));
    const at = await jwtVerify(result.access_token, jwks, {
      issuer: s.server.issuer,
      audience: ORDERS,
      typ: 'at+jwt',
      currentDate: new Date(s.server.clock.now()),
    });
    assert.equal(at.payload.sub, s.user.id);
    assert.equal(at.payload['scope'], 'openid profile orders:read');
    // processDeviceCodeResponse checked the ID token's iss, aud and times; its subject is alice.
    const claims = oauth.getValidatedIdTokenClaims(result);
    assert.equal(claims?.sub, s.user.id);
    assert.equal(claims?.aud, client.client_id);
  });

  it('denied: access_denied as a ResponseBodyError', async () => {
    const codes = await oauth.processDeviceAuthorizationResponse(
      s.as,
      client,
      await oauth.deviceAuthorizationRequest(s.as, client, oauth.None(), { scope: 'openid' }, insecure),
    );
    await approveInBrowser(
      new Browser(s.server.url),
      { user_code: codes.user_code, verification_uri_complete: codes.verification_uri_complete! },
      'deny',
    );
    s.server.clock.advanceSeconds(codes.interval!);
    await assert.rejects(
      poll(codes.device_code),
      (e: unknown) => e instanceof oauth.ResponseBodyError && e.error === 'access_denied',
    );
  });
});

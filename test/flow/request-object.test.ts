/**
 * Request objects by value (RFC 9101) through real HTTP: oauth4webapi's issueRequestObject
 * signed with the application's registered key, at /authorize and inside /par; only the
 * object's parameters count; every refusal (alg none, another key, wrong aud or iss, expired,
 * another client_id, a wrong typ, a non-string or nested parameter) is invalid_request_object,
 * as an error page on the front channel and JSON at /par.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import * as oauth from 'oauth4webapi';
import { authorizeThroughBrowser, Browser } from '../helpers/browser.js';
import { assertErrorPage, getPushedCode, insecure, pkce, postForm, withServer } from '../helpers/flow.js';

const REDIRECT = 'https://jar.example.com/cb';

describe('request objects (RFC 9101), with oauth4webapi', () => {
  const s = withServer({ users: ['alice'], discover: true });
  let clientId: string;
  let key: CryptoKey;
  let otherKey: CryptoKey;
  let auth: oauth.ClientAuth;
  const client = () => ({ client_id: clientId }) as oauth.Client;

  before(async () => {
    const kp = await generateKeyPair('ES256');
    key = kp.privateKey;
    otherKey = (await generateKeyPair('ES256')).privateKey;
    const made = await s.server.ctx.clients.create({
      name: 'JAR app',
      type: 'web',
      redirectUris: [REDIRECT],
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwks: { keys: [{ ...(await exportJWK(kp.publicKey)), kid: 'jar' }] },
    });
    clientId = made.client.clientId;
    auth = oauth.PrivateKeyJwt({ key, kid: 'jar' });
  });

  const requestParams = (p: { challenge: string }, state: string) => ({
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: 'openid',
    code_challenge: p.challenge,
    code_challenge_method: 'S256',
    state,
  });

  /** A hand-made object, for the refusals oauth4webapi would never sign. */
  const nowSec = () => Math.floor(s.server.clock.now() / 1000);
  const handMade = (claims: Record<string, unknown>, opts: { key?: CryptoKey; typ?: string } = {}) =>
    new SignJWT({
      iss: clientId,
      aud: s.server.issuer,
      client_id: clientId,
      exp: nowSec() + 60,
      ...requestParams(pkce(), 'st'),
      ...claims,
    })
      .setProtectedHeader({ alg: 'ES256', kid: 'jar', typ: opts.typ ?? 'oauth-authz-req+jwt' })
      .sign(opts.key ?? key);

  const front = (request: string, extra = '') =>
    authorizeThroughBrowser(
      new Browser(s.server.url),
      `/authorize?client_id=${clientId}&request=${encodeURIComponent(request)}${extra}`,
    );

  it('discovery: request objects by value yes, by reference only from /par', () => {
    assert.equal(s.as.request_parameter_supported, true);
    assert.equal(s.as['request_uri_parameter_supported'], false);
    assert.ok(s.as.request_object_signing_alg_values_supported?.includes('ES256'));
    assert.ok(!s.as.request_object_signing_alg_values_supported?.includes('none'));
  });

  it('at /authorize: only the object counts (the outer state is ignored), the flow completes', async () => {
    const p = pkce();
    const request = await oauth.issueRequestObject(s.as, client(), requestParams(p, 'inner-state'), key);
    const final = await front(request, '&state=outer-state&scope=openid%20profile');
    assert.equal(final.status, 303, final.body.slice(0, 300));
    const url = new URL(final.location!);
    assert.equal(url.origin + url.pathname, REDIRECT);
    assert.equal(url.searchParams.get('state'), 'inner-state');
    const params = oauth.validateAuthResponse(s.as, client(), url, 'inner-state');
    const res = await oauth.authorizationCodeGrantRequest(
      s.as,
      client(),
      auth,
      params,
      REDIRECT,
      p.verifier,
      insecure,
    );
    const tokens = await oauth.processAuthorizationCodeResponse(s.as, client(), res);
    assert.equal(tokens.scope, 'openid', 'the scope of the object, not the outer one');
  });

  it('inside /par: the object is unpacked once and the pushed request used as usual', async () => {
    const p = pkce();
    const request = await oauth.issueRequestObject(s.as, client(), requestParams(p, 'pushed-jar'), key);
    const pushed = await oauth.pushedAuthorizationRequest(s.as, client(), auth, { request }, insecure);
    const par = await oauth.processPushedAuthorizationResponse(s.as, client(), pushed);
    const got = await getPushedCode(s.server, { clientId, redirectUri: REDIRECT }, p, par.request_uri);
    assert.equal(got.url.searchParams.get('state'), 'pushed-jar');
  });

  it('a number keeps its meaning (max_age, OIDC Core §6.1): the request goes through', async () => {
    const final = await front(await handMade({ max_age: 3600, state: 'numbers' }));
    assert.equal(final.status, 303, final.body.slice(0, 300));
    const url = new URL(final.location!);
    assert.equal(url.searchParams.get('state'), 'numbers');
    assert.ok(url.searchParams.get('code'));
  });

  const refusals: [string, () => Promise<string>][] = [
    ['alg none', async () => `${b64({ alg: 'none' })}.${b64({ iss: clientId, aud: s.server.issuer })}.`],
    ['signed by another key', () => handMade({}, { key: otherKey })],
    ['aud another server', () => handMade({ aud: 'https://other.example.com' })],
    ['iss another client', () => handMade({ iss: 'someone-else' })],
    ['expired', () => handMade({ exp: nowSec() - 300 })],
    ['no exp', () => handMade({ exp: undefined })],
    ['exp a day away', () => handMade({ exp: nowSec() + 86400 })],
    ['client_id another client', () => handMade({ client_id: 'someone-else' })],
    ['typ of an access token', () => handMade({}, { typ: 'at+jwt' })],
    ['a parameter that is a list', () => handMade({ scope: ['openid'] })],
    ['a request inside', () => handMade({ request: 'eyJ.e30.x' })],
    ['not a JWT', async () => 'not-a-jwt'],
  ];
  for (const [name, make] of refusals) {
    it(`${name}: an error page at /authorize, JSON at /par (invalid_request_object)`, async () => {
      const request = await make();
      const page = await front(request);
      assertErrorPage(page);
      assert.match(page.body, /invalid_request_object/);
      const pushed = await oauth.pushedAuthorizationRequest(s.as, client(), auth, { request }, insecure);
      assert.equal(pushed.status, 400);
      assert.equal(((await pushed.json()) as { error: string }).error, 'invalid_request_object');
    });
  }

  it('a public application without keys: request is not supported (at the client, as before)', async () => {
    const native = await s.server.ctx.clients.create({
      name: 'native',
      type: 'native',
      redirectUris: ['http://127.0.0.1/cb'],
    });
    const r = await postForm(`${s.server.url}/par`, {
      client_id: native.client.clientId,
      request: await handMade({}),
    });
    assert.equal(r.status, 400);
    assert.equal(r.json['error'], 'request_not_supported');
  });
});

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

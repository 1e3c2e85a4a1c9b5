/**
 * Pushed Authorization Requests (RFC 9126) through real HTTP: oauth4webapi pushes and completes
 * the flow; every refusal of /par is a JSON error and stores nothing; a request_uri is used once,
 * only by its client, only before it expires; a front-channel parameter beside it counts for
 * nothing; an application or the server may require PAR.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as oauth from 'oauth4webapi';
import { databaseForTests } from '../../src/storage/index.js';
import { authorizeThroughBrowser, Browser } from '../helpers/browser.js';
import {
  assertErrorPage,
  assertRfcError,
  basic,
  EXAMPLE_CHALLENGE,
  insecure,
  postForm,
  withServer,
} from '../helpers/flow.js';
import { createClient, type TestServer } from '../helpers/server.js';

const REDIRECT = 'http://127.0.0.1/callback';

async function storedRequests(server: TestServer): Promise<number> {
  const r = await databaseForTests(server.ctx.storage)
    .selectFrom('pushed_requests')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** A public client's pushed request (form fields as given). */
const push = (server: TestServer, form: Record<string, string>, headers: Record<string, string> = {}) =>
  postForm(`${server.url}/par`, form, headers);

const pushedForm = (clientId: string, over: Record<string, string> = {}) => ({
  client_id: clientId,
  response_type: 'code',
  redirect_uri: REDIRECT,
  scope: 'openid',
  code_challenge: EXAMPLE_CHALLENGE,
  code_challenge_method: 'S256',
  state: 'pushed-state',
  ...over,
});

/** The /authorize URL that takes a pushed request back. */
const authorizeWith = (server: TestServer, clientId: string, requestUri: string, extra = '') =>
  `${server.url}/authorize?client_id=${encodeURIComponent(clientId)}&request_uri=${encodeURIComponent(requestUri)}${extra}`;

describe('pushed authorization requests (RFC 9126)', () => {
  const s = withServer({ users: ['alice'], discover: true });

  it('discovery names the endpoint and whether every request must use it (§5)', () => {
    assert.equal(s.as.pushed_authorization_request_endpoint, `${s.server.issuer}/par`);
    assert.equal(s.as.require_pushed_authorization_requests, false);
    assert.equal(s.as['request_uri_parameter_supported'], false, 'request_uri only from /par');
  });

  for (const type of ['native', 'web'] as const) {
    it(`oauth4webapi pushes, then completes the flow (${type}, PAR required for the app)`, async () => {
      const app = await createClient(s.server, {
        type,
        requirePar: true,
        redirectUris: [type === 'web' ? 'https://rp.example.com/cb' : REDIRECT],
      });
      const redirectUri = app.redirectUri;
      const client: oauth.Client = { client_id: app.clientId };
      const auth = app.secret ? oauth.ClientSecretBasic(app.secret) : oauth.None();
      const verifier = oauth.generateRandomCodeVerifier();
      const state = oauth.generateRandomState();
      const nonce = oauth.generateRandomNonce();
      const pushed = await oauth.pushedAuthorizationRequest(
        s.as,
        client,
        auth,
        {
          response_type: 'code',
          redirect_uri: redirectUri,
          scope: 'openid profile',
          code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
          state,
          nonce,
        },
        insecure,
      );
      assert.equal(pushed.status, 201);
      assert.equal(pushed.headers.get('cache-control'), 'no-store');
      const par = await oauth.processPushedAuthorizationResponse(s.as, client, pushed);
      assert.match(par.request_uri, /^urn:ietf:params:oauth:request_uri:[A-Za-z0-9_-]{43}$/);
      assert.equal(par.expires_in, 60);

      const final = await authorizeThroughBrowser(
        new Browser(s.server.url),
        authorizeWith(s.server, app.clientId, par.request_uri),
      );
      assert.equal(final.status, 303, final.body.slice(0, 300));
      const callback = new URL(final.location!);
      assert.equal(callback.origin + callback.pathname, redirectUri);
      const params = oauth.validateAuthResponse(s.as, client, callback, state);
      const response = await oauth.authorizationCodeGrantRequest(
        s.as,
        client,
        auth,
        params,
        redirectUri,
        verifier,
        insecure,
      );
      const tokens = await oauth.processAuthorizationCodeResponse(s.as, client, response, {
        expectedNonce: nonce,
        requireIdToken: true,
      });
      assert.equal(tokens.scope, 'openid profile');
    });
  }

  it('a front-channel parameter beside request_uri counts for nothing (§4)', async () => {
    const app = await createClient(s.server);
    const r = await push(s.server, pushedForm(app.clientId));
    assert.equal(r.status, 201, JSON.stringify(r.json));
    const browser = new Browser(s.server.url);
    const final = await authorizeThroughBrowser(
      browser,
      authorizeWith(
        s.server,
        app.clientId,
        String(r.json['request_uri']),
        '&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&state=front&scope=openid%20email&prompt=none',
      ),
    );
    assert.equal(final.status, 303);
    const cb = new URL(final.location!);
    assert.equal(cb.origin + cb.pathname, REDIRECT, 'the pushed redirect URI');
    assert.equal(cb.searchParams.get('state'), 'pushed-state');
    assert.ok(cb.searchParams.get('code'), 'signed in: the pushed request had no prompt=none');
  });

  it('a request_uri is used once; another client cannot use it, and its own client still can', async () => {
    const app = await createClient(s.server);
    const other = await createClient(s.server);
    const r = await push(s.server, pushedForm(app.clientId));
    const uri = String(r.json['request_uri']);
    const browser = new Browser(s.server.url);
    const stolen = await browser.get(authorizeWith(s.server, other.clientId, uri));
    assertErrorPage(stolen);
    assert.match(stolen.body, /request_uri is unknown, already used, expired/);
    const first = await authorizeThroughBrowser(browser, authorizeWith(s.server, app.clientId, uri));
    assert.equal(first.status, 303);
    assert.ok(first.location?.startsWith(`${REDIRECT}?code=`));
    assertErrorPage(await browser.get(authorizeWith(s.server, app.clientId, uri)));
    // Unknown, missing client_id, twice: error pages too.
    for (const bad of [
      authorizeWith(s.server, app.clientId, 'urn:ietf:params:oauth:request_uri:nope'),
      `${s.server.url}/authorize?request_uri=${encodeURIComponent(uri)}`,
      `${authorizeWith(s.server, app.clientId, uri)}&request_uri=x`,
    ])
      assertErrorPage(await browser.get(bad));
  });

  it('a request_uri expires after expires_in (the clock moves, nobody sleeps)', async () => {
    const app = await createClient(s.server);
    const r = await push(s.server, pushedForm(app.clientId));
    s.server.clock.advanceSeconds(61);
    const step = await new Browser(s.server.url).get(
      authorizeWith(s.server, app.clientId, String(r.json['request_uri'])),
    );
    assertErrorPage(step);
  });

  it('every refusal is a JSON error (§2.3), never a redirect, and nothing is stored', async () => {
    const app = await createClient(s.server);
    const web = await createClient(s.server, { type: 'web', redirectUris: ['https://rp.example.com/cb'] });
    const service = await createClient(s.server, { type: 'service' });
    const before = await storedRequests(s.server);
    const cases: [Record<string, string>, Record<string, string>, number, string][] = [
      [pushedForm(app.clientId, { redirect_uri: 'https://evil.example/cb' }), {}, 400, 'invalid_request'],
      [pushedForm(app.clientId, { redirect_uri: `${REDIRECT}/` }), {}, 400, 'invalid_request'],
      [pushedForm(app.clientId, { scope: 'openid "quoted"' }), {}, 400, 'invalid_scope'],
      [pushedForm(app.clientId, { code_challenge: '' }), {}, 400, 'invalid_request'],
      [pushedForm(app.clientId, { code_challenge_method: 'plain' }), {}, 400, 'invalid_request'],
      [pushedForm(app.clientId, { response_type: 'token' }), {}, 400, 'unsupported_response_type'],
      [
        pushedForm(app.clientId, { request_uri: 'urn:ietf:params:oauth:request_uri:x' }),
        {},
        400,
        'invalid_request',
      ],
      [pushedForm(app.clientId, { prompt: 'sometimes' }), {}, 400, 'invalid_request'],
      [pushedForm('no-such-client'), {}, 401, 'invalid_client'],
      [pushedForm(web.clientId, { redirect_uri: 'https://rp.example.com/cb' }), {}, 401, 'invalid_client'],
      [
        pushedForm(web.clientId, { redirect_uri: 'https://rp.example.com/cb' }),
        { authorization: basic(web.clientId, 'wrong') },
        401,
        'invalid_client',
      ],
      [pushedForm(service.clientId, { client_secret: service.secret! }), {}, 400, 'unauthorized_client'],
    ];
    for (const [form, headers, status, error] of cases) {
      const r = await push(s.server, form, headers);
      assert.equal(r.headers.get('location'), null);
      assertRfcError(r, status, error);
    }
    const json = await fetch(`${s.server.url}/par`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(pushedForm(app.clientId)),
    });
    assert.equal(json.status, 400);
    assert.equal(((await json.json()) as { error: string }).error, 'invalid_request');
    const twice = await fetch(`${s.server.url}/par`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `${new URLSearchParams(pushedForm(app.clientId))}&state=again`,
    });
    assert.equal(twice.status, 400);
    assert.equal(await storedRequests(s.server), before, 'no refused request was kept');
  });

  it('an application that requires PAR gets an error page for a front-channel request', async () => {
    const app = await createClient(s.server, { requirePar: true });
    const step = await new Browser(s.server.url).get(
      `${s.server.url}/authorize?${new URLSearchParams(pushedForm(app.clientId))}`,
    );
    assertErrorPage(step);
    assert.match(step.body, /must push its authorization requests/);
  });
});

describe('LATCHKEY_REQUIRE_PAR: every application must push', () => {
  const s = withServer({ users: ['alice'], discover: true, overrides: { requirePar: true } });

  it('discovery says so; a front-channel request is an error page; a pushed one works', async () => {
    assert.equal(s.as.require_pushed_authorization_requests, true);
    const app = await createClient(s.server);
    const browser = new Browser(s.server.url);
    assertErrorPage(
      await browser.get(`${s.server.url}/authorize?${new URLSearchParams(pushedForm(app.clientId))}`),
    );
    const r = await push(s.server, pushedForm(app.clientId));
    assert.equal(r.status, 201);
    const final = await authorizeThroughBrowser(
      browser,
      authorizeWith(s.server, app.clientId, String(r.json['request_uri'])),
    );
    assert.ok(final.location?.startsWith(`${REDIRECT}?code=`), final.location ?? final.body.slice(0, 200));
  });
});

/**
 * Dynamic Client Registration (RFC 7591) and its management (RFC 7592) over real HTTP: a public
 * native client registered with oauth4webapi runs the code flow with PKCE; read, update, delete
 * with and without the registration access token; initial access tokens (required, used up,
 * revoked, expired); refused metadata and malformed requests (never a 500); the per-IP limit;
 * self-registered clients and APIs with or without allowDynamicClients (RFC 8707), the consent
 * page shown every time with its "not verified" notice. On SQLite and on PostgreSQL.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { REGISTRATION_LIMIT, REGISTRATION_WINDOW_MS } from '../../src/admin/registration.js';
import { type Browser as B, Browser, formOf, type Step } from '../helpers/browser.js';
import { PG_SKIP } from '../helpers/databases.js';
import { authorizeQuery, insecure, pkce, redeem, withServer } from '../helpers/flow.js';
import { PASSWORD } from '../helpers/server.js';

const NATIVE_REDIRECT = 'http://127.0.0.1/callback';

interface Answer {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
}

async function call(
  url: string,
  init: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const res = await fetch(url, {
    method: init.method ?? 'POST',
    headers: init.headers ?? {},
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    json = { raw: text };
  }
  return { status: res.status, headers: res.headers, json };
}

const postJson = (base: string, body: unknown, headers: Record<string, string> = {}) =>
  call(`${base}/register`, {
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
  });

const bearer = (token: unknown) => ({ authorization: `Bearer ${String(token)}` });

function assertError(a: Answer, status: number, error: string): void {
  assert.equal(a.status, status, JSON.stringify(a.json));
  assert.equal(a.json['error'], error, JSON.stringify(a.json));
  assert.equal(typeof a.json['error_description'], 'string');
  assert.match(a.headers.get('content-type') ?? '', /^application\/json/);
}

const nativeMetadata = (over: Record<string, unknown> = {}) => ({
  client_name: 'My CLI',
  application_type: 'native',
  token_endpoint_auth_method: 'none',
  redirect_uris: [NATIVE_REDIRECT],
  grant_types: ['authorization_code', 'refresh_token'],
  ...over,
});

/** Signs in through the form and returns the page after it (the consent page, or a redirect). */
async function toConsent(browser: B, url: string): Promise<Step> {
  const first = await browser.get(url);
  assert.equal(first.status, 303, first.body.slice(0, 300));
  if (!first.location?.startsWith('/interaction/')) return first;
  const page = await browser.get(first.location);
  if (!page.body.includes('name="password"')) return page;
  const { csrf, actions } = formOf(page.body);
  const after = await browser.post(actions.find((a) => a.endsWith('/login'))!, {
    csrf,
    username: 'alice',
    password: PASSWORD,
  });
  if (after.status === 303 && after.location?.startsWith('/interaction/')) return browser.get(after.location);
  return after;
}

async function allow(browser: B, consentPage: Step): Promise<Step> {
  const { csrf, actions } = formOf(consentPage.body);
  return browser.post(actions.find((a) => a.endsWith('/consent'))!, { csrf, decision: 'allow' });
}

for (const backend of [
  { name: 'sqlite', skip: false as const },
  { name: 'postgres', skip: PG_SKIP },
]) {
  describe(`dynamic client registration, open (${backend.name})`, { skip: backend.skip }, () => {
    const s = withServer({
      ...(backend.name === 'postgres' ? { postgres: 'latchkey_dcr' } : {}),
      users: ['alice'],
      discover: true,
      overrides: { registration: 'open', rateLimit: false },
    });
    before(() => assert.equal(s.server.ctx.storage.dialect, backend.name));

    it('discovery names the registration endpoint (RFC 8414 §2)', () => {
      assert.equal(s.as.registration_endpoint, `${s.server.issuer}/register`);
      assert.equal(s.as['client_id_metadata_document_supported'], undefined);
    });

    it('a public native client registered with oauth4webapi completes the code flow with PKCE', async () => {
      const response = await oauth.dynamicClientRegistrationRequest(s.as, nativeMetadata(), insecure);
      assert.equal(response.status, 201);
      assert.equal(response.headers.get('cache-control'), 'no-store');
      const registered = await oauth.processDynamicClientRegistrationResponse(response);
      assert.equal(typeof registered.client_id, 'string');
      assert.equal(registered['client_secret'], undefined);
      assert.equal(registered.token_endpoint_auth_method, 'none');
      assert.equal(registered['client_name'], 'My CLI');
      assert.equal(registered['application_type'], 'native');
      assert.equal(typeof registered['client_id_issued_at'], 'number');
      assert.equal(typeof registered['registration_access_token'], 'string');
      assert.equal(
        registered['registration_client_uri'],
        `${s.server.issuer}/register/${registered.client_id}`,
      );
      const stored = await s.server.ctx.storage.clients.get(registered.client_id);
      assert.equal(stored?.registration, 'dynamic');
      assert.equal(stored?.consent, 'required');

      const client: oauth.Client = { client_id: registered.client_id };
      const verifier = oauth.generateRandomCodeVerifier();
      const state = oauth.generateRandomState();
      const nonce = oauth.generateRandomNonce();
      const redirectUri = 'http://127.0.0.1:51234/callback';
      const url = new URL(s.as.authorization_endpoint!);
      url.search = authorizeQuery(
        { clientId: client.client_id, redirectUri },
        await oauth.calculatePKCECodeChallenge(verifier),
        { scope: 'openid profile offline_access', state, nonce },
      ).toString();

      const browser = new Browser(s.server.url);
      const consent = await toConsent(browser, url.toString());
      assert.equal(consent.status, 200);
      assert.match(consent.body, /not verified by the administrator/);
      assert.doesNotMatch(
        consent.body,
        /id="loopback-only"/,
        'the loopback warning is for metadata documents',
      );
      assert.match(consent.body, /<strong>127\.0\.0\.1:51234<\/strong>/);
      const final = await allow(browser, consent);
      assert.equal(final.status, 303);
      const callback = new URL(final.location!);
      const params = oauth.validateAuthResponse(s.as, client, callback, state);
      const tokenResponse = await oauth.authorizationCodeGrantRequest(
        s.as,
        client,
        oauth.None(),
        params,
        redirectUri,
        verifier,
        insecure,
      );
      const result = await oauth.processAuthorizationCodeResponse(s.as, client, tokenResponse, {
        expectedNonce: nonce,
        requireIdToken: true,
      });
      assert.ok(result.refresh_token, 'refresh_token was registered');
      const jwks = createRemoteJWKSet(new URL(s.as.jwks_uri!));
      const id = await jwtVerify(result.id_token!, jwks, {
        issuer: s.server.issuer,
        audience: client.client_id,
        currentDate: new Date(s.server.clock.now()),
      });
      assert.equal(id.payload.sub, s.user.id);

      // The consent is asked again next time: a self-registered client is never trusted silently.
      const again = new URL(url);
      again.searchParams.set('state', 'st-2');
      const second = await browser.get(again.toString());
      assert.equal(second.status, 303);
      assert.ok(second.location?.startsWith('/interaction/'), `consent again, got ${second.location}`);
      const page = await browser.get(second.location!);
      assert.match(page.body, /name="decision"/);
      assert.match(page.body, /not verified by the administrator/);
      // prompt=none cannot skip it: consent_required (OIDC Core §3.1.2.6), back to the client.
      const silent = new URL(url);
      silent.searchParams.set('state', 'st-3');
      silent.searchParams.set('prompt', 'none');
      const none = await browser.get(silent.toString());
      assert.equal(none.status, 303);
      assert.equal(new URL(none.location!).searchParams.get('error'), 'consent_required');
    });

    it('RFC 7592: read, update and delete with the registration access token only', async () => {
      const made = await postJson(s.server.url, nativeMetadata({ client_name: 'Managed' }));
      assert.equal(made.status, 201);
      const id = String(made.json['client_id']);
      const uri = String(made.json['registration_client_uri']);
      const token = made.json['registration_access_token'];

      // No token, a wrong one, another client's path: 401 invalid_token with a Bearer challenge.
      const none = await call(uri, { method: 'GET' });
      assertError(none, 401, 'invalid_token');
      assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer /);
      assertError(await call(uri, { method: 'GET', headers: bearer('nope') }), 401, 'invalid_token');
      const other = await postJson(s.server.url, nativeMetadata());
      assertError(
        await call(String(other.json['registration_client_uri']), { method: 'GET', headers: bearer(token) }),
        401,
        'invalid_token',
      );
      // An administrator's application has no registration access token at all.
      const adminMade = await s.server.ctx.clients.create({
        name: 'Admin app',
        type: 'native',
        redirectUris: [NATIVE_REDIRECT],
      });
      assertError(
        await call(`${s.server.url}/register/${adminMade.client.clientId}`, {
          method: 'GET',
          headers: bearer(token),
        }),
        401,
        'invalid_token',
      );

      const read = await call(uri, { method: 'GET', headers: bearer(token) });
      assert.equal(read.status, 200, JSON.stringify(read.json));
      assert.equal(read.json['client_id'], id);
      assert.equal(read.json['client_name'], 'Managed');
      assert.equal(read.headers.get('cache-control'), 'no-store');

      // §2.2: client_id must be sent and be the client's; the server's own members are refused.
      const put = (body: unknown, t: unknown = token) =>
        call(uri, {
          method: 'PUT',
          body: JSON.stringify(body),
          headers: { 'content-type': 'application/json', ...bearer(t) },
        });
      assertError(await put(nativeMetadata()), 400, 'invalid_client_metadata');
      assertError(await put(nativeMetadata({ client_id: 'someone-else' })), 400, 'invalid_client_metadata');
      assertError(
        await put(nativeMetadata({ client_id: id, registration_access_token: token })),
        400,
        'invalid_request',
      );
      // Public cannot become confidential by an update.
      assertError(
        await put({
          client_id: id,
          redirect_uris: ['https://app.example.com/cb'],
          token_endpoint_auth_method: 'client_secret_basic',
        }),
        400,
        'invalid_client_metadata',
      );

      const updated = await put(
        nativeMetadata({ client_id: id, client_name: 'Renamed', redirect_uris: ['http://127.0.0.1/other'] }),
      );
      assert.equal(updated.status, 200, JSON.stringify(updated.json));
      assert.equal(updated.json['client_name'], 'Renamed');
      assert.deepEqual(updated.json['redirect_uris'], ['http://127.0.0.1/other']);
      const rotated = updated.json['registration_access_token'];
      assert.notEqual(rotated, token);
      // The old token stopped working; the new one works.
      assertError(await call(uri, { method: 'GET', headers: bearer(token) }), 401, 'invalid_token');
      assert.equal((await call(uri, { method: 'GET', headers: bearer(rotated) })).status, 200);
      assert.equal((await s.server.ctx.storage.clients.get(id))?.name, 'Renamed');

      assertError(await call(uri, { method: 'DELETE' }), 401, 'invalid_token');
      const gone = await call(uri, { method: 'DELETE', headers: bearer(rotated) });
      assert.equal(gone.status, 204);
      assert.equal(await s.server.ctx.storage.clients.get(id), undefined);
      assertError(await call(uri, { method: 'GET', headers: bearer(rotated) }), 401, 'invalid_token');
      assertError(await call(uri, { method: 'DELETE', headers: bearer(rotated) }), 401, 'invalid_token');
    });

    it('a confidential web client gets a client secret that authenticates it', async () => {
      const made = await postJson(s.server.url, {
        client_name: 'Web app',
        redirect_uris: ['https://app.example.com/callback'],
      });
      assert.equal(made.status, 201, JSON.stringify(made.json));
      // RFC 7591 §2: client_secret_basic when the method is omitted.
      assert.equal(made.json['token_endpoint_auth_method'], 'client_secret_basic');
      assert.equal(typeof made.json['client_secret'], 'string');
      assert.equal(made.json['client_secret_expires_at'], 0);
      assert.equal(made.json['application_type'], 'web');
      // Authenticated at /token (the code is bogus: invalid_grant, not invalid_client).
      const wrong = await redeem(
        s.server,
        { clientId: String(made.json['client_id']), redirectUri: 'https://app.example.com/callback' },
        'no-such-code',
        pkce().verifier,
        { client_secret: 'wrong' },
      );
      assert.equal(wrong.json['error'], 'invalid_client');
      const right = await redeem(
        s.server,
        { clientId: String(made.json['client_id']), redirectUri: 'https://app.example.com/callback' },
        'no-such-code',
        pkce().verifier,
        { client_secret: String(made.json['client_secret']) },
      );
      assert.equal(right.json['error'], 'invalid_grant', JSON.stringify(right.json));
    });

    it('RFC 7592 §2.2 for a confidential client: its own client_secret only, never a chosen one', async () => {
      const made = await postJson(s.server.url, {
        client_name: 'Secret app',
        redirect_uris: ['https://app.example.com/callback'],
        token_endpoint_auth_method: 'client_secret_post',
      });
      assert.equal(made.status, 201, JSON.stringify(made.json));
      const uri = String(made.json['registration_client_uri']);
      const put = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
        call(uri, {
          method: 'PUT',
          body: JSON.stringify(body),
          headers: {
            'content-type': 'application/json',
            ...bearer(made.json['registration_access_token']),
            ...headers,
          },
        });
      const base = {
        client_id: made.json['client_id'],
        client_name: 'Secret app, renamed',
        redirect_uris: ['https://app.example.com/callback'],
        token_endpoint_auth_method: 'client_secret_post',
      };
      assertError(
        await put({ ...base, client_secret: 'chosen-by-the-client' }),
        400,
        'invalid_client_metadata',
      );
      assertError(await put(base, { 'content-type': 'text/plain' }), 400, 'invalid_request');
      const ok = await put({ ...base, client_secret: made.json['client_secret'] });
      assert.equal(ok.status, 200, JSON.stringify(ok.json));
      assert.equal(ok.json['client_name'], 'Secret app, renamed');
      // The secret still authenticates (the update did not change it).
      const reply = await redeem(
        s.server,
        { clientId: String(made.json['client_id']), redirectUri: 'https://app.example.com/callback' },
        'no-such-code',
        pkce().verifier,
        { client_secret: String(made.json['client_secret']) },
      );
      assert.equal(reply.json['error'], 'invalid_grant', JSON.stringify(reply.json));
      // A path that is not a client, very long, or oddly encoded: 401 or 4xx, never a 500.
      for (const path of [
        '/register/%E0%A4%A',
        `/register/${'a'.repeat(300)}`,
        '/register/..%2F..%2Fadmin',
      ]) {
        const a = await call(`${s.server.url}${path}`, { method: 'GET', headers: bearer('x') });
        assert.ok(a.status >= 400 && a.status < 500, `${path}: ${a.status}`);
      }
    });

    it('refused metadata: RFC 7591 §3.2.2 errors, never a 500', async () => {
      const base = s.server.url;
      const web = (over: Record<string, unknown>) => ({
        redirect_uris: ['https://app.example.com/cb'],
        ...over,
      });
      const cases: [string, unknown, string][] = [
        [
          'http redirect for a web client',
          web({ redirect_uris: ['http://app.example.com/cb'] }),
          'invalid_redirect_uri',
        ],
        ['a fragment', web({ redirect_uris: ['https://app.example.com/cb#x'] }), 'invalid_redirect_uri'],
        ['no redirect URI', { token_endpoint_auth_method: 'none' }, 'invalid_redirect_uri'],
        [
          'redirect_uris not an array',
          web({ redirect_uris: 'https://app.example.com/cb' }),
          'invalid_redirect_uri',
        ],
        ['an unknown auth method', web({ token_endpoint_auth_method: 'magic' }), 'invalid_client_metadata'],
        [
          'client_secret_jwt',
          web({ token_endpoint_auth_method: 'client_secret_jwt' }),
          'invalid_client_metadata',
        ],
        [
          'a native app with a secret',
          nativeMetadata({ token_endpoint_auth_method: 'client_secret_basic' }),
          'invalid_client_metadata',
        ],
        ['an unavailable grant', web({ grant_types: ['client_credentials'] }), 'invalid_client_metadata'],
        ['implicit', web({ response_types: ['token'] }), 'invalid_client_metadata'],
        ['a software statement', web({ software_statement: 'eyJ.x.y' }), 'unapproved_software_statement'],
        ['client_name not a string', web({ client_name: 7 }), 'invalid_client_metadata'],
        ['an array', [1, 2], 'invalid_client_metadata'],
        ['a string', '"hello"', 'invalid_client_metadata'],
        [
          'a member twice',
          '{"redirect_uris":["https://a.example.com/cb"],"redirect_uris":["https://b.example.com/cb"]}',
          'invalid_client_metadata',
        ],
        ['malformed JSON', '{"redirect_uris": [', 'invalid_request'],
        ['trailing text', '{} x', 'invalid_request'],
        ['JSON with a comment', '{/* */}', 'invalid_request'],
      ];
      for (const [what, body, error] of cases) {
        const a = await postJson(base, body);
        assert.equal(a.status, 400, `${what}: ${JSON.stringify(a.json)}`);
        assert.equal(a.json['error'], error, `${what}: ${JSON.stringify(a.json)}`);
      }
      // Transport: wrong content type, no body, a huge body.
      assertError(
        await call(`${base}/register`, {
          body: 'redirect_uris=https://a.example.com/cb',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        }),
        400,
        'invalid_request',
      );
      assertError(
        await call(`${base}/register`, { body: '{}', headers: { 'content-type': 'text/plain' } }),
        400,
        'invalid_request',
      );
      assertError(
        await call(`${base}/register`, { headers: { 'content-type': 'application/json' } }),
        400,
        'invalid_request',
      );
      assertError(await call(`${base}/register`), 400, 'invalid_request');
      const huge = JSON.stringify(web({ client_name: 'x'.repeat(100_000) }));
      assertError(await postJson(base, huge), 413, 'invalid_request');
      assertError(await postJson(base, `${'['.repeat(5000)}${']'.repeat(5000)}`), 400, 'invalid_request');
      // Bytes that are not UTF-8, a body said to be compressed (it is not), an odd charset.
      const raw = await fetch(`${base}/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
      });
      assert.ok(raw.status === 400, `invalid UTF-8: ${raw.status}`);
      const gz = await call(`${base}/register`, {
        body: JSON.stringify(web({})),
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      });
      assert.ok(gz.status < 500, `gzip: ${gz.status}`);
      const charset = await call(`${base}/register`, {
        body: JSON.stringify(web({})),
        headers: { 'content-type': 'application/json; charset=ebcdic' },
      });
      assert.ok(charset.status < 500, `charset: ${charset.status}`);
      // Nothing was made by any of these.
      const dynamic = (await s.server.ctx.storage.clients.list()).filter((c) => c.registration === 'dynamic');
      assert.ok(dynamic.every((c) => c.name !== 'x'.repeat(100_000)));
      // Refusals are audited.
      const audit = await s.server.ctx.storage.audit.list({
        type: 'client_registration_refused',
        limit: 100,
      });
      assert.ok(audit.length >= cases.length - 4, `refusals audited: ${audit.length}`);
    });

    it('RFC 8707: a self-registered client reaches only APIs that allow dynamic clients', async () => {
      await s.server.ctx.apis.create({
        identifier: 'https://open.example.com',
        name: 'Open API',
        scopes: [{ value: 'open:read', description: 'Read the open API' }],
        allowDynamicClients: true,
      });
      await s.server.ctx.apis.create({
        identifier: 'https://closed.example.com',
        name: 'Closed API',
        scopes: [{ value: 'closed:read', description: 'Read the closed API' }],
      });
      const made = await postJson(s.server.url, nativeMetadata());
      const app = { clientId: String(made.json['client_id']), redirectUri: NATIVE_REDIRECT };
      const p = pkce();
      const browser = new Browser(s.server.url);

      const closed = await toConsent(
        browser,
        `/authorize?${authorizeQuery(app, p.challenge, { scope: 'closed:read', state: 's1', resource: 'https://closed.example.com' })}`,
      );
      assert.equal(closed.status, 303);
      assert.equal(new URL(closed.location!).searchParams.get('error'), 'invalid_target');

      const open = await toConsent(
        browser,
        `/authorize?${authorizeQuery(app, p.challenge, { scope: 'openid open:read', state: 's2', resource: 'https://open.example.com' })}`,
      );
      assert.equal(open.status, 200, open.body.slice(0, 300));
      assert.match(open.body, /not verified by the administrator/);
      const final = await allow(browser, open);
      const code = new URL(final.location!).searchParams.get('code');
      assert.ok(code, final.location ?? '');
      const token = await redeem(s.server, app, code, p.verifier, { resource: 'https://open.example.com' });
      assert.equal(token.status, 200, JSON.stringify(token.json));
      assert.equal(decodeJwt(String(token.json['access_token'])).aud, 'https://open.example.com');

      // An administrator's application does not get in by the API's flag.
      const adminApp = await s.server.ctx.clients.create({
        name: 'Admin app',
        type: 'native',
        redirectUris: [NATIVE_REDIRECT],
      });
      const refused = await browser.get(
        `/authorize?${authorizeQuery({ clientId: adminApp.client.clientId, redirectUri: NATIVE_REDIRECT }, p.challenge, { scope: 'open:read', state: 's3', resource: 'https://open.example.com' })}`,
      );
      assert.equal(refused.status, 303);
      assert.equal(new URL(refused.location!).searchParams.get('error'), 'invalid_target');
    });
  });
}

describe('registration with initial access tokens (LATCHKEY_REGISTRATION=token)', () => {
  const s = withServer({ overrides: { registration: 'token', rateLimit: false } });

  it('refuses without a token, admits with one until it is used up, revoked or expired', async () => {
    const base = s.server.url;
    const none = await postJson(base, nativeMetadata());
    assertError(none, 401, 'invalid_token');
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer /);
    assertError(await postJson(base, nativeMetadata(), bearer('not-a-token')), 401, 'invalid_token');

    const two = await s.server.ctx.registrar.createInitialToken(3600, 2);
    // Refused metadata does not spend a use; no token at all is refused before the metadata is read.
    assertError(
      await postJson(base, { redirect_uris: ['http://x.example.com/cb'] }, bearer(two.token)),
      400,
      'invalid_redirect_uri',
    );
    // Nor does metadata that only the application rules refuse (a name of 201 characters).
    assertError(
      await postJson(base, { ...nativeMetadata(), client_name: 'n'.repeat(201) }, bearer(two.token)),
      400,
      'invalid_client_metadata',
    );
    assertError(await postJson(base, '{not json'), 401, 'invalid_token');
    assert.equal((await postJson(base, nativeMetadata(), bearer(two.token))).status, 201);
    assert.equal((await postJson(base, nativeMetadata(), bearer(two.token))).status, 201);
    assertError(await postJson(base, nativeMetadata(), bearer(two.token)), 401, 'invalid_token');
    const listed = await s.server.ctx.registrar.listInitialTokens();
    assert.equal(listed.find((t) => t.id === two.record.id)?.uses, 2);

    const revoked = await s.server.ctx.registrar.createInitialToken(3600, 5);
    assert.equal(await s.server.ctx.registrar.revokeInitialToken(revoked.record.id), true);
    assertError(await postJson(base, nativeMetadata(), bearer(revoked.token)), 401, 'invalid_token');

    const expiring = await s.server.ctx.registrar.createInitialToken(60, 5);
    s.server.clock.advanceSeconds(61);
    assertError(await postJson(base, nativeMetadata(), bearer(expiring.token)), 401, 'invalid_token');

    // The made clients' audit records name the initial access token.
    const events = await s.server.ctx.storage.audit.list({ type: 'client_registered', limit: 10 });
    assert.ok(events.some((e) => JSON.stringify(e).includes(two.record.id)));
  });
});

describe('registration off (the default)', () => {
  const s = withServer({ discover: true });

  it('has no endpoint and discovery names none', async () => {
    assert.equal(s.as.registration_endpoint, undefined);
    assertError(await postJson(s.server.url, nativeMetadata()), 404, 'not_found');
    assertError(await call(`${s.server.url}/register/abc`, { method: 'GET' }), 404, 'not_found');
  });
});

describe('registration per-IP limit', () => {
  const s = withServer({ overrides: { registration: 'open' } });

  it(`refuses past ${REGISTRATION_LIMIT} attempts per window with 429, then admits again`, async () => {
    for (let i = 0; i < REGISTRATION_LIMIT; i++) {
      // Failed attempts count too.
      const a = await postJson(s.server.url, i % 2 === 0 ? nativeMetadata() : '{');
      assert.ok(a.status === 201 || a.status === 400, JSON.stringify(a.json));
    }
    const limited = await postJson(s.server.url, nativeMetadata());
    assertError(limited, 429, 'slow_down');
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
    s.server.clock.advance(REGISTRATION_WINDOW_MS + 1000);
    assert.equal((await postJson(s.server.url, nativeMetadata())).status, 201);
  });
});

describe('registration through the MCP TypeScript SDK (its client auth functions)', () => {
  const s = withServer({ users: ['alice'], overrides: { registration: 'open', rateLimit: false } });

  it('discovers, registers, authorizes with PKCE and exchanges the code', async () => {
    const sdk = await import('@modelcontextprotocol/sdk/client/auth.js');
    const metadata = await sdk.discoverAuthorizationServerMetadata(s.server.issuer);
    assert.ok(metadata, 'metadata found');
    assert.equal(metadata.registration_endpoint, `${s.server.issuer}/register`);
    const redirectUrl = 'http://127.0.0.1:33418/callback';
    const info = await sdk.registerClient(s.server.issuer, {
      metadata,
      clientMetadata: {
        client_name: 'MCP test client',
        redirect_uris: [redirectUrl],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
      },
    });
    assert.equal(typeof info.client_id, 'string');
    const { authorizationUrl, codeVerifier } = await sdk.startAuthorization(s.server.issuer, {
      metadata,
      clientInformation: info,
      redirectUrl,
      scope: 'openid offline_access',
      state: 'mcp-state',
    });
    const browser = new Browser(s.server.url);
    const consent = await toConsent(browser, authorizationUrl.toString());
    assert.match(consent.body, /not verified by the administrator/);
    const final = await allow(browser, consent);
    const back = new URL(final.location!);
    assert.equal(back.searchParams.get('state'), 'mcp-state');
    const tokens = await sdk.exchangeAuthorization(s.server.issuer, {
      metadata,
      clientInformation: info,
      authorizationCode: back.searchParams.get('code')!,
      codeVerifier,
      redirectUri: redirectUrl,
    });
    assert.equal(typeof tokens.access_token, 'string');
    assert.equal(typeof tokens.refresh_token, 'string');
  });
});

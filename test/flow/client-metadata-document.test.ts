/**
 * Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document) over real HTTP: a
 * client whose client_id is the URL of its metadata document, served by a local server
 * (LATCHKEY_DEV_ALLOW_LOCAL_CLIENT_METADATA), runs the code flow with PKCE through oauth4webapi;
 * a document that does not match its URL, cannot be fetched or is invalid gives an error page,
 * never a redirect; without the development flag a private address is never fetched.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { Browser, formOf } from '../helpers/browser.js';
import {
  assertErrorPage,
  authorizeQuery,
  EXAMPLE_CHALLENGE,
  getCode,
  insecure,
  pkce,
  redeem,
  withServer,
} from '../helpers/flow.js';
import { freePort, PASSWORD } from '../helpers/server.js';

const REDIRECT = 'http://127.0.0.1/callback';

/** A local server of documents: path → what it answers; every request it gets is counted. */
interface DocServer {
  base: string;
  docs: Map<string, { status?: number; body: string; type?: string }>;
  hits: string[];
  close(): Promise<void>;
}

async function docServer(): Promise<DocServer> {
  const docs = new Map<string, { status?: number; body: string; type?: string }>();
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? '');
    const doc = docs.get(req.url ?? '');
    if (!doc) {
      res.writeHead(404).end('not found');
      return;
    }
    res
      .writeHead(doc.status ?? 200, {
        'content-type': doc.type ?? 'application/json',
        'cache-control': 'max-age=0',
      })
      .end(doc.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    docs,
    hits,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const documentFor = (clientId: string, over: Record<string, unknown> = {}) =>
  JSON.stringify({
    client_id: clientId,
    client_name: 'Document App',
    application_type: 'native',
    redirect_uris: [REDIRECT],
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code'],
    ...over,
  });

describe('client ID metadata documents', () => {
  const s = withServer({
    users: ['alice'],
    discover: true,
    overrides: {
      clientMetadataDocuments: true,
      devAllowLocalClientMetadata: true,
      // The private_key_jwt client's jwks_uri is on the same loopback server.
      fetchAllowLoopback: true,
      rateLimit: false,
    },
  });
  let d: DocServer;
  before(async () => {
    d = await docServer();
  });
  after(() => d.close());
  beforeEach(() => {
    d.hits.length = 0;
  });

  /** The /authorize page (or redirect) for `clientId`, in a fresh browser. */
  const authorize = (clientId: string, extra: Record<string, string> = {}) =>
    new Browser(s.server.url).get(
      `/authorize?${authorizeQuery({ clientId, redirectUri: REDIRECT }, EXAMPLE_CHALLENGE, { scope: 'openid', state: 's', ...extra })}`,
    );

  it('discovery says client_id_metadata_document_supported, and no registration endpoint', () => {
    assert.equal(s.as['client_id_metadata_document_supported'], true);
    assert.equal(s.as.registration_endpoint, undefined);
  });

  it('a document client completes the code flow with PKCE (oauth4webapi), consent asked and marked', async () => {
    const clientId = `${d.base}/clients/app.json`;
    d.docs.set('/clients/app.json', { body: documentFor(clientId) });
    const client: oauth.Client = { client_id: clientId };
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const nonce = oauth.generateRandomNonce();
    const url = new URL(s.as.authorization_endpoint!);
    url.search = authorizeQuery(
      { clientId, redirectUri: REDIRECT },
      await oauth.calculatePKCECodeChallenge(verifier),
      { scope: 'openid profile', state, nonce },
    ).toString();

    const browser = new Browser(s.server.url);
    const first = await browser.get(url.toString());
    assert.equal(first.status, 303, first.body.slice(0, 300));
    const signIn = await browser.get(first.location!);
    assert.match(signIn.body, /Document App/);
    const login = formOf(signIn.body);
    const afterLogin = await browser.post(login.actions.find((a) => a.endsWith('/login'))!, {
      csrf: login.csrf,
      username: 'alice',
      password: PASSWORD,
    });
    assert.equal(afterLogin.status, 303);
    const consent = await browser.get(afterLogin.location!);
    assert.equal(consent.status, 200);
    assert.match(consent.body, /not verified by the administrator/);
    // The document's host, and the other host the code goes to.
    const docHost = new URL(d.base).host;
    assert.ok(
      consent.body.includes(`<strong>${docHost} (it sends you back to 127.0.0.1)</strong>`),
      consent.body,
    );
    // Each redirect URI's host, and the warning for a document with loopback redirect URIs only.
    assert.match(consent.body, /It receives your sign-in at: <span><strong>127\.0\.0\.1<\/strong><\/span>\./);
    assert.match(consent.body, /id="loopback-only"/);
    const c = formOf(consent.body);
    const final = await browser.post(c.actions.find((a) => a.endsWith('/consent'))!, {
      csrf: c.csrf,
      decision: 'allow',
    });
    assert.equal(final.status, 303);
    const params = oauth.validateAuthResponse(s.as, client, new URL(final.location!), state);
    const response = await oauth.authorizationCodeGrantRequest(
      s.as,
      client,
      oauth.None(),
      params,
      REDIRECT,
      verifier,
      insecure,
    );
    const result = await oauth.processAuthorizationCodeResponse(s.as, client, response, {
      expectedNonce: nonce,
      requireIdToken: true,
    });
    const id = await jwtVerify(result.id_token!, createRemoteJWKSet(new URL(s.as.jwks_uri!)), {
      issuer: s.server.issuer,
      audience: clientId,
      currentDate: new Date(s.server.clock.now()),
    });
    assert.equal(id.payload.sub, s.user.id);
    assert.ok(d.hits.length >= 1, 'the document was fetched');
    // Nothing was stored for the client: it is its document.
    assert.equal(await s.server.ctx.storage.clients.get(clientId), undefined);
    // The account page names it by where it is (without fetching the document again).
    const hits = d.hits.length;
    const account = await browser.get('/account');
    assert.equal(account.status, 200, account.body.slice(0, 200));
    assert.ok(account.body.includes(`An application at ${docHost}`), 'named on the account page');
    assert.equal(d.hits.length, hits);
  });

  it('a private_key_jwt document client (keys at its jwks_uri) authenticates at /token', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    d.docs.set('/clients/jwks.json', {
      body: JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] }),
    });
    const clientId = `${d.base}/clients/web.json`;
    const redirectUri = 'https://app.example.com/callback';
    d.docs.set('/clients/web.json', {
      body: documentFor(clientId, {
        application_type: 'web',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks_uri: `${d.base}/clients/jwks.json`,
        redirect_uris: [redirectUri],
      }),
    });
    const app = { clientId, redirectUri };
    const client: oauth.Client = { client_id: clientId };
    // Without the assertion: refused.
    const first = await getCode(s.server, app);
    const bare = await redeem(s.server, app, first.code, first.verifier);
    assert.equal(bare.json['error'], 'invalid_client', JSON.stringify(bare.json));
    const got = await getCode(s.server, app, pkce(), { state: 'st-jwt' });
    const params = oauth.validateAuthResponse(s.as, client, got.url, 'st-jwt');
    const res = await oauth.authorizationCodeGrantRequest(
      s.as,
      client,
      oauth.PrivateKeyJwt({ key: privateKey, kid: 'k1' }),
      params,
      redirectUri,
      got.verifier,
      insecure,
    );
    const tokens = await oauth.processAuthorizationCodeResponse(s.as, client, res);
    assert.equal(typeof tokens.access_token, 'string');
  });

  it('a redirect URI the document does not list: an error page, no redirect', async () => {
    const clientId = `${d.base}/clients/narrow.json`;
    d.docs.set('/clients/narrow.json', { body: documentFor(clientId) });
    const step = await authorize(clientId, { redirect_uri: 'http://127.0.0.1/elsewhere' });
    assertErrorPage(step);
  });

  const broken: [string, string, { status?: number; body: string; type?: string } | undefined, RegExp][] = [
    [
      'a document naming another client_id',
      'mismatch.json',
      { body: documentFor('https://other.example.com/c.json') },
      /client_id is not the URL/,
    ],
    ['no document (404)', 'missing.json', undefined, /HTTP 404/],
    ['a server error', 'error.json', { status: 500, body: '{}' }, /HTTP 500/],
    ['not JSON', 'notjson.json', { body: '<html>hello</html>', type: 'text/html' }, /could not be used/],
    ['a client_secret in the document', 'secret.json', { body: '' }, /client_secret/],
    ['a shared-secret method', 'method.json', { body: '' }, /token_endpoint_auth_method/],
    ['no redirect URIs', 'noredirect.json', { body: '' }, /redirect_uris/],
    ['too large', 'large.json', { body: '' }, /larger than/],
    ['a member given twice', 'twice.json', { body: '' }, /not JSON/],
  ];
  for (const [what, file, doc, message] of broken) {
    it(`${what}: an error page at /authorize, invalid_client at /token`, async () => {
      const clientId = `${d.base}/clients/${file}`;
      const own = {
        'secret.json': documentFor(clientId, { client_secret: 'shh' }),
        'method.json': documentFor(clientId, {
          token_endpoint_auth_method: 'client_secret_basic',
          application_type: 'web',
        }),
        'noredirect.json': documentFor(clientId, { redirect_uris: [] }),
        'large.json': documentFor(clientId, { client_name: 'x'.repeat(10_000) }),
        'twice.json': documentFor(clientId).replace(/}$/, ',"redirect_uris":["http://127.0.0.1/evil"]}'),
      }[file];
      if (own !== undefined) d.docs.set(`/clients/${file}`, { body: own });
      else if (doc) d.docs.set(`/clients/${file}`, doc);
      const step = await authorize(clientId);
      assertErrorPage(step);
      assert.equal(step.headers.get('www-authenticate'), null, 'no authentication challenge on a page');
      assert.match(step.body, message);
      const token = await redeem(
        s.server,
        { clientId, redirectUri: REDIRECT },
        'no-such-code',
        pkce().verifier,
      );
      assert.equal(token.status, 400, JSON.stringify(token.json));
      assert.equal(token.json['error'], 'invalid_client');
    });
  }

  it('a server that does not answer: an error page', async () => {
    const port = await freePort();
    assertErrorPage(await authorize(`http://127.0.0.1:${port}/clients/app.json`));
  });
});

describe('client ID metadata documents without the development flag', () => {
  const s = withServer({ overrides: { clientMetadataDocuments: true, rateLimit: false } });
  let d: DocServer;
  before(async () => {
    d = await docServer();
  });
  after(() => d.close());

  it('a loopback (private) address is refused without being fetched', async () => {
    const port = new URL(d.base).port;
    for (const clientId of [
      `https://127.0.0.1:${port}/clients/app.json`,
      `https://localhost:${port}/clients/app.json`,
    ]) {
      d.docs.set('/clients/app.json', { body: documentFor(clientId) });
      const step = await new Browser(s.server.url).get(
        `/authorize?${authorizeQuery({ clientId, redirectUri: REDIRECT }, EXAMPLE_CHALLENGE, { scope: 'openid' })}`,
      );
      assertErrorPage(step);
      assert.match(step.body, /metadata document could not be used: .*not public/);
    }
    // http is not a document URL at all: an unknown client.
    const plain = await new Browser(s.server.url).get(
      `/authorize?${authorizeQuery({ clientId: `${d.base}/clients/app.json`, redirectUri: REDIRECT }, EXAMPLE_CHALLENGE, { scope: 'openid' })}`,
    );
    assertErrorPage(plain);
    assert.match(plain.body, /not registered/);
    assert.deepEqual(d.hits, [], 'nothing fetched');
  });
});

describe('client ID metadata documents off (the default)', () => {
  const s = withServer({ discover: true });

  it('an https client_id is only an unknown client', async () => {
    assert.equal(s.as['client_id_metadata_document_supported'], undefined);
    const step = await new Browser(s.server.url).get(
      `/authorize?${authorizeQuery({ clientId: 'https://app.example.com/client.json', redirectUri: REDIRECT }, EXAMPLE_CHALLENGE, { scope: 'openid' })}`,
    );
    assertErrorPage(step);
    assert.match(step.body, /not registered/);
  });
});

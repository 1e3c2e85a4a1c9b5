/**
 * Discovery where clients look for it: with an issuer that has a path, the same document at the
 * RFC 8414 §3.1 location (suffix inserted before the path), the OIDC Discovery §4 one (appended)
 * and the OIDC name inserted (tried by MCP clients), as well as at the root; oauth4webapi's
 * discovery in both modes. An issuer without a path keeps the two root locations only.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oauth from 'oauth4webapi';
import { ConfigError, loadConfig } from '../../src/config.js';
import { freePort, startTestServer, type TestServer } from '../helpers/server.js';

const insecure = { [oauth.allowInsecureRequests]: true } as const;

const LOCATIONS = [
  '/.well-known/oauth-authorization-server/tenant1',
  '/.well-known/openid-configuration/tenant1',
  '/tenant1/.well-known/openid-configuration',
  '/.well-known/openid-configuration',
  '/.well-known/oauth-authorization-server',
];

describe('discovery with an issuer that has a path', () => {
  let server: TestServer;
  let issuer = '';

  before(async () => {
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}/tenant1`;
    server = await startTestServer({ port, overrides: { issuer } });
  });
  after(() => server.cleanup());

  it('every location answers 200 with the same document, whose issuer is the configured one', async () => {
    assert.equal(server.issuer, issuer);
    const bodies: string[] = [];
    for (const path of LOCATIONS) {
      const res = await fetch(`${server.url}${path}`);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/, path);
      bodies.push(await res.text());
    }
    for (const body of bodies) assert.equal(body, bodies[0]);
    const doc = JSON.parse(bodies[0]!) as Record<string, unknown>;
    assert.equal(doc['issuer'], issuer);
    assert.deepEqual(doc['code_challenge_methods_supported'], ['S256']);
    assert.equal(doc['token_endpoint'], `${issuer}/token`);
  });

  it('HEAD and the CORS preflight answer at the issuer-path locations too', async () => {
    for (const path of LOCATIONS.slice(0, 3)) {
      assert.equal((await fetch(`${server.url}${path}`, { method: 'HEAD' })).status, 200, path);
      const pre = await fetch(`${server.url}${path}`, {
        method: 'OPTIONS',
        headers: { origin: 'https://spa.example.com', 'access-control-request-method': 'GET' },
      });
      assert.equal(pre.status, 204, path);
    }
  });

  it('nothing at near misses', async () => {
    for (const path of [
      '/.well-known/oauth-authorization-server/tenant2',
      '/.well-known/oauth-authorization-server/tenant1/',
      '/tenant1/.well-known/oauth-authorization-server/x',
      '/tenant2/.well-known/openid-configuration',
    ])
      assert.equal((await fetch(`${server.url}${path}`)).status, 404, path);
  });

  it('oauth4webapi discovers it with algorithm oauth2 (RFC 8414) and oidc', async () => {
    const id = new URL(issuer);
    for (const algorithm of ['oauth2', 'oidc'] as const) {
      const as = await oauth.processDiscoveryResponse(
        id,
        await oauth.discoveryRequest(id, { algorithm, ...insecure }),
      );
      assert.equal(as.issuer, issuer, algorithm);
      assert.deepEqual(as.code_challenge_methods_supported, ['S256'], algorithm);
    }
  });
});

describe('discovery with an issuer without a path', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.cleanup());

  it('the two root locations, as before, and no others', async () => {
    const a = await (await fetch(`${server.url}/.well-known/openid-configuration`)).text();
    const b = await (await fetch(`${server.url}/.well-known/oauth-authorization-server`)).text();
    assert.equal(a, b);
    assert.equal((JSON.parse(a) as Record<string, unknown>)['issuer'], server.issuer);
    for (const path of ['/.well-known/oauth-authorization-server/', '/.well-known/openid-configuration/x'])
      assert.equal((await fetch(`${server.url}${path}`)).status, 404, path);
    const id = new URL(server.issuer);
    for (const algorithm of ['oauth2', 'oidc'] as const) {
      const as = await oauth.processDiscoveryResponse(
        id,
        await oauth.discoveryRequest(id, { algorithm, ...insecure }),
      );
      assert.equal(as.issuer, server.issuer);
    }
  });
});

describe('issuer paths', () => {
  it('a path with a colon is served literally; percent-encoding and * are refused at start-up', async () => {
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}/t:1`;
    const server = await startTestServer({ port, overrides: { issuer } });
    try {
      for (const path of [
        '/.well-known/oauth-authorization-server/t:1',
        '/t:1/.well-known/openid-configuration',
      ]) {
        const res = await fetch(`${server.url}${path}`);
        assert.equal(res.status, 200, path);
        assert.equal(((await res.json()) as Record<string, unknown>)['issuer'], issuer);
      }
      assert.equal((await fetch(`${server.url}/.well-known/oauth-authorization-server/t:2`)).status, 404);
    } finally {
      await server.cleanup();
    }
    for (const bad of ['https://id.example.com/a%20b', 'https://id.example.com/a*'])
      assert.throws(
        () => loadConfig({}, { LATCHKEY_ISSUER: bad }),
        (e: unknown) =>
          e instanceof ConfigError &&
          /^LATCHKEY_ISSUER .*must have a path of letters, digits/.test(e.message),
        bad,
      );
    assert.equal(
      loadConfig({}, { LATCHKEY_ISSUER: 'https://id.example.com/tenant1/' }).issuer,
      'https://id.example.com/tenant1',
    );
  });
});

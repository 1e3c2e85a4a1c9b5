/**
 * RFC 9728 protected-resource metadata: the document, where it is served (§3.1) through Express
 * and Fastify over real HTTP, `resource_metadata` on the guards' challenges (§5.1), the option
 * checks, and oauth4webapi reading it all from the sample API and a real Latchkey server.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import { SignJWT } from 'jose';
import * as oauth from 'oauth4webapi';
import {
  createVerifier,
  expressProtectedResource,
  expressRequireToken,
  fastifyProtectedResource,
  type ProtectedResourceOptions,
  protectedResourceMetadata,
  protectedResourceMetadataUrl,
  requireToken,
  VerificationError,
  withResourceMetadata,
} from '../../src/resource/index.js';
import { buildSampleApi } from '../../src/resource/sample-api.js';
import { freePort, startTestServer, type TestServer } from '../helpers/server.js';

const AS = 'https://id.example.com';
const WK = '/.well-known/oauth-protected-resource';

const isArgError = (pattern: RegExp) => (e: unknown) =>
  e instanceof VerificationError && e.code === 'LATCHKEY_INVALID_ARGUMENT' && pattern.test(e.message);

describe('protectedResourceMetadata', () => {
  it('the document: resource, authorization_servers, bearer_methods_supported header by default', () => {
    assert.deepEqual(
      protectedResourceMetadata({ resource: 'https://api.example.com', authorizationServers: [AS] }),
      {
        resource: 'https://api.example.com',
        authorization_servers: [AS],
        bearer_methods_supported: ['header'],
      },
    );
    assert.deepEqual(
      protectedResourceMetadata({
        resource: 'https://api.example.com/mcp',
        authorizationServers: [AS, 'http://localhost:3000'],
        scopesSupported: ['profile', 'orders:read'],
        resourceName: 'Orders API',
        bearerMethodsSupported: ['header', 'body'],
      }),
      {
        resource: 'https://api.example.com/mcp',
        authorization_servers: [AS, 'http://localhost:3000'],
        scopes_supported: ['profile', 'orders:read'],
        bearer_methods_supported: ['header', 'body'],
        resource_name: 'Orders API',
      },
    );
    // §3.2: no empty scopes_supported.
    const doc = protectedResourceMetadata({
      resource: 'https://a.example',
      authorizationServers: [AS],
      scopesSupported: [],
    });
    assert.equal('scopes_supported' in doc, false);
  });

  it('the resource member is the identifier exactly as given (§3.3)', () => {
    for (const resource of [
      'https://api.example.com/',
      'https://api.example.com/mcp/',
      'http://127.0.0.1:8081',
    ]) {
      assert.equal(protectedResourceMetadata({ resource, authorizationServers: [AS] })['resource'], resource);
    }
  });

  it('the metadata URL: the well-known suffix between host and path (§3.1)', () => {
    const cases: [string, string][] = [
      ['https://api.example.com', `https://api.example.com${WK}`],
      ['https://api.example.com/', `https://api.example.com${WK}`],
      ['https://api.example.com/mcp', `https://api.example.com${WK}/mcp`],
      ['https://api.example.com/v1/orders', `https://api.example.com${WK}/v1/orders`],
      ['https://api.example.com/mcp/', `https://api.example.com${WK}/mcp/`],
      ['https://api.example.com:8443/a:b', `https://api.example.com:8443${WK}/a:b`],
      ['http://localhost:8081', `http://localhost:8081${WK}`],
      ['http://[::1]:8081/x', `http://[::1]:8081${WK}/x`],
    ];
    for (const [resource, url] of cases) assert.equal(protectedResourceMetadataUrl(resource), url, resource);
  });

  it('refuses bad options with LATCHKEY_INVALID_ARGUMENT and a message naming the option', () => {
    const ok: ProtectedResourceOptions = {
      resource: 'https://api.example.com/mcp',
      authorizationServers: [AS],
    };
    const cases: [Partial<ProtectedResourceOptions> | Record<string, unknown>, RegExp][] = [
      [{ resource: '' }, /resource must be a non-empty string/],
      [{ resource: 'api.example.com/mcp' }, /resource must be an absolute URL/],
      [{ resource: 'http://api.example.com/mcp' }, /resource must use https/],
      [{ resource: 'ftp://api.example.com/mcp' }, /resource must use https/],
      [{ resource: 'https://api.example.com/mcp?tenant=a' }, /resource must not have a query/],
      [{ resource: 'https://api.example.com/mcp?' }, /resource must not have a query/],
      [{ resource: 'https://api.example.com/mcp#x' }, /resource must not have a fragment/],
      [{ resource: 'https://user:pw@api.example.com/' }, /resource must not carry credentials/],
      [{ resource: 'https://api.example.com/a%20b' }, /resource's path may hold only/],
      [{ resource: 'https://api.example.com/a*' }, /resource's path may hold only/],
      [{ authorizationServers: [] }, /authorizationServers must list at least one issuer/],
      [{ authorizationServers: undefined }, /authorizationServers must list/],
      [{ authorizationServers: [AS, 'http://id.example.com'] }, /authorizationServers\[1\] must use https/],
      [
        { authorizationServers: ['https://id.example.com/?x'] },
        /authorizationServers\[0\] must not have a query/,
      ],
      [{ scopesSupported: ['a b'] }, /scopesSupported/],
      [{ scopesSupported: [''] }, /scopesSupported/],
      [{ bearerMethodsSupported: ['cookie'] }, /bearerMethodsSupported/],
      [{ resourceName: '' }, /resourceName/],
      [{ alsoAtRoot: 'yes' }, /alsoAtRoot/],
    ];
    for (const [over, pattern] of cases) {
      const opts = { ...ok, ...over } as ProtectedResourceOptions;
      assert.throws(() => protectedResourceMetadata(opts), isArgError(pattern), JSON.stringify(over));
      assert.throws(() => expressProtectedResource(opts), isArgError(pattern), JSON.stringify(over));
      assert.throws(
        () => fastifyProtectedResource(Fastify(), opts),
        isArgError(pattern),
        JSON.stringify(over),
      );
    }
    assert.throws(() => protectedResourceMetadataUrl('https://api.example.com/?q'), isArgError(/query/));
  });

  it('withResourceMetadata appends the auth-param to any challenge, keeping the others', () => {
    const url = `https://api.example.com${WK}`;
    const p = `resource_metadata="${url}"`;
    const add = (c: string) => withResourceMetadata({ 'www-authenticate': c }, url)['www-authenticate'];
    assert.equal(add('Bearer'), `Bearer ${p}`);
    assert.equal(add('Bearer realm="api"'), `Bearer realm="api", ${p}`);
    assert.equal(
      add('DPoP algs="ES256", error="invalid_token", error_description="x"'),
      `DPoP algs="ES256", error="invalid_token", error_description="x", ${p}`,
    );
    assert.deepEqual(withResourceMetadata({ 'cache-control': 'no-store' }, url), {
      'cache-control': 'no-store',
    });
    assert.deepEqual(withResourceMetadata({ 'www-authenticate': 'Bearer' }, undefined), {
      'www-authenticate': 'Bearer',
    });
  });
});

/** The resources each framework serves in one app, and where (§3.1). */
const RESOURCES: { opts: ProtectedResourceOptions; at: string[]; notAt: string[] }[] = [
  {
    opts: { resource: 'https://api.example.com', authorizationServers: [AS], resourceName: 'Root API' },
    at: [WK],
    notAt: [`${WK}/`, `${WK}x`],
  },
  {
    opts: {
      resource: 'https://api.example.com/mcp',
      authorizationServers: [AS],
      scopesSupported: ['profile'],
    },
    at: [`${WK}/mcp`],
    notAt: [`${WK}/mcp/`, `${WK}/MCP`, `/mcp${WK}`, `${WK}/mc`],
  },
  {
    // A terminating slash: served as written and without it.
    opts: { resource: 'https://api.example.com/v1/', authorizationServers: [AS] },
    at: [`${WK}/v1/`, `${WK}/v1`],
    notAt: [`${WK}/v1//`, `/v1${WK}`],
  },
  {
    opts: { resource: 'https://api.example.com/a:b', authorizationServers: [AS] },
    at: [`${WK}/a:b`],
    notAt: [`${WK}/a:c`],
  },
];

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

function locations(name: string, base: () => string) {
  const get = async (path: string, method = 'GET'): Promise<Answer> => {
    const res = await fetch(`${base()}${path}`, { method });
    return { status: res.status, headers: res.headers, text: await res.text() };
  };

  describe(`${name}: where the document is served`, () => {
    it('each resource at its derived location(s), the document of protectedResourceMetadata', async () => {
      for (const { opts, at } of RESOURCES) {
        for (const path of at) {
          const r = await get(path);
          assert.equal(r.status, 200, path);
          assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
          assert.equal(r.headers.get('access-control-allow-origin'), '*');
          assert.match(r.headers.get('cache-control') ?? '', /max-age=\d+/);
          assert.deepEqual(JSON.parse(r.text), protectedResourceMetadata(opts), path);
        }
      }
    });

    it('HEAD answers too; a query string does not change the location', async () => {
      const head = await get(`${WK}/mcp`, 'HEAD');
      assert.equal(head.status, 200);
      assert.equal(head.text, '');
      const q = await get(`${WK}/mcp?x=1`);
      assert.equal(JSON.parse(q.text)['resource'], 'https://api.example.com/mcp');
    });

    it('nothing at other paths, and not for other methods', async () => {
      for (const { notAt } of RESOURCES) {
        for (const path of notAt) assert.equal((await get(path)).status, 404, path);
      }
      assert.equal((await get(`${WK}/mcp`, 'POST')).status, 404);
    });
  });
}

describe('serving the document', () => {
  const fastifyApp: FastifyInstance = Fastify();
  for (const { opts } of RESOURCES) fastifyProtectedResource(fastifyApp, opts);
  const expressApp = express();
  let fallthrough = 0;
  for (const { opts } of RESOURCES) expressApp.use(expressProtectedResource(opts));
  // Whatever the middleware leaves reaches the next handler.
  expressApp.use((_req, res) => {
    fallthrough++;
    res.status(404).json({ error: 'not_found' });
  });
  let listener: ReturnType<typeof expressApp.listen>;
  let fastifyUrl = '';
  let expressUrl = '';

  before(async () => {
    fastifyUrl = await fastifyApp.listen({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((resolve) => {
      listener = expressApp.listen(0, '127.0.0.1', () => resolve());
    });
    expressUrl = `http://127.0.0.1:${(listener.address() as AddressInfo).port}`;
  });
  after(async () => {
    await fastifyApp.close();
    await new Promise((r) => listener.close(r));
  });

  locations('Fastify', () => fastifyUrl);
  locations('Express', () => expressUrl);

  it('Express calls next() for other paths and methods, and not at the document', async () => {
    const before = fallthrough;
    await fetch(`${expressUrl}/hello`);
    await fetch(`${expressUrl}${WK}/mcp`, { method: 'POST' });
    assert.equal(fallthrough, before + 2);
    await fetch(`${expressUrl}${WK}/mcp`);
    assert.equal(fallthrough, before + 2);
  });

  it('Express matches the full path when mounted under a prefix', async () => {
    const app = express();
    app.use(
      '/api',
      expressProtectedResource({ resource: 'https://api.example.com/api', authorizationServers: [AS] }),
    );
    app.use(
      expressProtectedResource({ resource: 'https://api.example.com/api', authorizationServers: [AS] }),
    );
    app.use((_req, res) => res.status(404).end());
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      assert.equal((await fetch(`${url}${WK}/api`)).status, 200);
      assert.equal((await fetch(`${url}/api${WK}/api`)).status, 404);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('alsoAtRoot: a copy at the bare location for a resource with a path, only when asked', async () => {
    const opts = { resource: 'https://api.example.com/mcp', authorizationServers: [AS] };
    const f = Fastify();
    fastifyProtectedResource(f, { ...opts, alsoAtRoot: true });
    const f2 = Fastify();
    fastifyProtectedResource(f2, opts);
    const e = express();
    e.use(expressProtectedResource({ ...opts, alsoAtRoot: true }));
    e.use((_req, res) => res.status(404).end());
    const server = e.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const eUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const fUrl = await f.listen({ port: 0, host: '127.0.0.1' });
    const f2Url = await f2.listen({ port: 0, host: '127.0.0.1' });
    try {
      for (const base of [fUrl, eUrl]) {
        const root = await fetch(`${base}${WK}`);
        assert.equal(root.status, 200, base);
        assert.deepEqual(await root.json(), protectedResourceMetadata(opts));
        assert.equal((await fetch(`${base}${WK}/mcp`)).status, 200);
      }
      assert.equal((await fetch(`${f2Url}${WK}`)).status, 404);
      // No path: alsoAtRoot changes nothing (one route, no duplicate).
      const f3 = Fastify();
      fastifyProtectedResource(f3, {
        resource: 'https://api.example.com/',
        authorizationServers: [AS],
        alsoAtRoot: true,
      });
      assert.equal((await f3.inject({ url: WK })).statusCode, 200);
      await f3.close();
    } finally {
      await Promise.all([f.close(), f2.close(), new Promise((r) => server.close(r))]);
    }
  });

  it('Fastify: refused on an instance with a route prefix', async () => {
    const app = Fastify();
    let err: unknown;
    await app.register(
      async (scoped) => {
        try {
          fastifyProtectedResource(scoped, {
            resource: 'https://api.example.com',
            authorizationServers: [AS],
          });
        } catch (e) {
          err = e;
        }
      },
      { prefix: '/v1' },
    );
    assert.ok(isArgError(/prefix/)(err));
    await app.close();
  });
});

// ---------------------------------------------------------------------------------------------
// The guards' challenges

const ISSUER = 'https://issuer.test';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwks = { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' }] };
const verifier = createVerifier({ issuer: ISSUER, audience: 'api://default', jwks });

async function token(scope: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: ISSUER,
    aud: 'api://default',
    sub: 'u',
    client_id: 'app',
    scope,
    jti: `j${Math.random()}`,
  })
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'k1' })
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .sign(privateKey);
}

describe('resource_metadata on the guards’ challenges (RFC 9728 §5.1)', () => {
  const RESOURCE = 'https://api.example.com/mcp';
  const META = protectedResourceMetadataUrl(RESOURCE);
  const param = `resource_metadata="${META}"`;
  const guard = { resourceMetadataUrl: META };

  const fastifyApp = Fastify();
  fastifyApp.get('/mcp', { preHandler: requireToken(verifier, guard) }, async () => ({ ok: true }));
  fastifyApp.get(
    '/mcp/admin',
    { preHandler: requireToken(verifier, { ...guard, realm: 'api', requiredScopes: ['admin'] }) },
    async () => ({ ok: true }),
  );
  fastifyApp.get('/plain', { preHandler: requireToken(verifier) }, async () => ({ ok: true }));
  const expressApp = express();
  expressApp.get('/mcp', expressRequireToken(verifier, guard), (_req, res) => res.json({ ok: true }));
  expressApp.get(
    '/mcp/admin',
    expressRequireToken(verifier, { ...guard, realm: 'api', requiredScopes: ['admin'] }),
    (_req, res) => res.json({ ok: true }),
  );
  expressApp.get('/plain', expressRequireToken(verifier), (_req, res) => res.json({ ok: true }));
  let listener: ReturnType<typeof expressApp.listen>;
  const bases: Record<string, string> = {};

  before(async () => {
    bases['Fastify'] = await fastifyApp.listen({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((resolve) => {
      listener = expressApp.listen(0, '127.0.0.1', () => resolve());
    });
    bases['Express'] = `http://127.0.0.1:${(listener.address() as AddressInfo).port}`;
  });
  after(async () => {
    await fastifyApp.close();
    await new Promise((r) => listener.close(r));
  });

  const challenge = async (base: string, path: string, authorization?: string) => {
    const res = await fetch(`${base}${path}`, { headers: authorization ? { authorization } : {} });
    return { status: res.status, header: res.headers.get('www-authenticate') ?? '' };
  };

  for (const name of ['Fastify', 'Express']) {
    it(`${name}: on every challenge, with the existing auth-params`, async () => {
      const base = bases[name]!;
      const missing = await challenge(base, '/mcp');
      assert.equal(missing.status, 401);
      assert.equal(missing.header, `Bearer ${param}`);

      const bad = await challenge(base, '/mcp', 'Bearer not.a.jwt');
      assert.equal(bad.status, 401);
      assert.match(
        bad.header,
        /^Bearer error="invalid_token", error_description="[^"]+", resource_metadata="/,
      );
      assert.ok(bad.header.endsWith(param));

      const realm = await challenge(base, '/mcp/admin');
      assert.equal(realm.header, `Bearer realm="api", ${param}`);

      const scope = await challenge(base, '/mcp/admin', `Bearer ${await token('profile')}`);
      assert.equal(scope.status, 403);
      assert.match(scope.header, /error="insufficient_scope".*scope="admin", resource_metadata="/);

      const malformed = await challenge(base, '/mcp', 'Bearer two words');
      assert.equal(malformed.status, 400);
      assert.ok(malformed.header.endsWith(param));

      assert.equal((await challenge(base, '/mcp', `Bearer ${await token('profile')}`)).status, 200);
      // Without the option: no resource_metadata.
      assert.equal((await challenge(base, '/plain')).header, 'Bearer');
    });
  }

  it('a bad resourceMetadataUrl is refused when the guard is made', () => {
    for (const url of [
      'not a url',
      'http://api.example.com/x',
      'https://api.example.com/"x',
      'https://a.example/#f',
    ]) {
      assert.throws(
        () => requireToken(verifier, { resourceMetadataUrl: url }),
        isArgError(/resourceMetadataUrl/),
        url,
      );
      assert.throws(
        () => expressRequireToken(verifier, { resourceMetadataUrl: url }),
        isArgError(/resourceMetadataUrl/),
        url,
      );
    }
  });
});

// ---------------------------------------------------------------------------------------------
// A real client library

describe('oauth4webapi against the sample API and a Latchkey server', () => {
  let server: TestServer;
  let api: FastifyInstance;
  let resource = '';

  before(async () => {
    server = await startTestServer();
    const port = await freePort();
    resource = `http://127.0.0.1:${port}`;
    api = buildSampleApi({ issuer: server.issuer, resource });
    await api.listen({ port, host: '127.0.0.1' });
  });
  after(async () => {
    await api.close();
    await server.cleanup();
  });

  it('401 → resource_metadata → the resource’s metadata → the authorization server’s', async () => {
    const insecure = { [oauth.allowInsecureRequests]: true } as const;
    // The client's own parser reads the challenge.
    const err = await oauth
      .protectedResourceRequest('junk', 'GET', new URL(`${resource}/hello`), undefined, undefined, insecure)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(err instanceof oauth.WWWAuthenticateChallengeError);
    const [c] = err.cause;
    assert.equal(c?.scheme, 'bearer');
    assert.equal(c?.parameters.error, 'invalid_token');
    assert.equal(c?.parameters.resource_metadata, `${resource}${WK}`);

    // Discovery by resource identifier, with the library's defaults (§3.1 location, §3.3 check).
    const prm = await oauth.processResourceDiscoveryResponse(
      new URL(resource),
      await oauth.resourceDiscoveryRequest(new URL(resource), insecure),
    );
    assert.equal(prm.resource, resource);
    assert.deepEqual(prm.authorization_servers, [server.issuer]);
    assert.deepEqual(prm.scopes_supported, ['profile']);
    assert.deepEqual(prm.bearer_methods_supported, ['header']);
    assert.equal(prm.resource_name, 'Latchkey sample API');
    // The document the challenge names is the same one.
    assert.deepEqual(await (await fetch(c!.parameters.resource_metadata!)).json(), prm);

    const issuer = new URL(prm.authorization_servers![0]!);
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, insecure));
    assert.equal(as.issuer, server.issuer);
    assert.deepEqual(as.code_challenge_methods_supported, ['S256']);
  });

  it('the sample API without a resource serves no metadata and names none', async () => {
    const plain = buildSampleApi({ issuer: server.issuer });
    assert.equal((await plain.inject({ url: WK })).statusCode, 404);
    assert.equal(
      (await plain.inject({ url: '/hello' })).headers['www-authenticate'],
      'Bearer realm="latchkey-sample-api"',
    );
    await plain.close();
  });
});

/**
 * /authorize, rule by rule, over real HTTP: response_type, client and redirect URI matching
 * (RFC 9700 §4.1.3, RFC 8252 §7.3), PKCE (S256 only), scope, state, nonce, response_mode,
 * login_hint, unknown and repeated parameters, iss on every response (RFC 9207), 303, no CORS.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { Browser } from '../helpers/browser.js';
import {
  assertErrorPage,
  authorizePath,
  callback,
  getCode,
  pkce,
  redeem,
  withServer,
} from '../helpers/flow.js';
import { createClient } from '../helpers/server.js';

describe('/authorize request rules', () => {
  const s = withServer({
    users: ['alice'],
    app: { type: 'native', redirectUris: ['http://127.0.0.1/callback'] },
  });
  const p = pkce();

  const get = (path: string, headers: Record<string, string> = {}) =>
    new Browser(s.server.url).get(path, headers);

  /** An error sent back to the client: 303, error, error_description, state, iss. */
  async function expectClientError(
    path: string,
    error: string,
    opts: { state?: string | null; redirect?: string } = {},
  ) {
    const step = await get(path);
    assert.equal(step.status, 303, step.body.slice(0, 300));
    const url = callback(step.location);
    assert.ok(step.location!.startsWith(`${opts.redirect ?? s.app.redirectUri}?`), step.location!);
    assert.equal(url.searchParams.get('error'), error);
    assert.ok(url.searchParams.get('error_description'));
    assert.equal(url.searchParams.get('iss'), s.server.issuer);
    assert.equal(url.searchParams.get('code'), null);
    const st = opts.state === undefined ? 'st-123' : opts.state;
    assert.equal(url.searchParams.get('state'), st);
    return url;
  }

  describe('response_type', () => {
    for (const rt of ['token', 'id_token', 'code id_token', 'code token', 'none']) {
      it(`response_type=${rt} → unsupported_response_type at the client`, async () => {
        await expectClientError(authorizePath(s.app, p, { response_type: rt }), 'unsupported_response_type');
      });
    }
    it('missing response_type → invalid_request at the client', async () => {
      await expectClientError(authorizePath(s.app, p, { response_type: null }), 'invalid_request');
    });
  });

  describe('client_id and redirect_uri', () => {
    it('unknown client → 400 error page, no Location', async () => {
      const step = await get(
        authorizePath({ clientId: 'no-such-client', redirectUri: s.app.redirectUri }, p),
      );
      assertErrorPage(step);
      assert.match(step.body, /not registered/);
    });
    it('missing client_id → 400 error page', async () => {
      assertErrorPage(await get(authorizePath(s.app, p, { client_id: null })));
    });
    it('unregistered redirect URI → 400 error page, no Location', async () => {
      for (const bad of [
        'https://evil.example/callback',
        'http://127.0.0.1/callback/extra',
        'http://127.0.0.1/Callback',
        'http://127.0.0.1/callback?x=1',
        'http://127.0.0.1/callback#frag',
        'http://127.0.0.2/callback',
        'http://localhost/callback',
        'https://127.0.0.1/callback',
        'http://127.0.0.1:99999/callback',
      ]) {
        const step = await get(authorizePath(s.app, p, { redirect_uri: bad }));
        assertErrorPage(step);
      }
    });
    it('loopback IP redirect may use any port (RFC 8252 §7.3), 127.0.0.1 and [::1]', async () => {
      const v6 = await createClient(s.server, { redirectUris: ['http://[::1]/callback'] });
      for (const [a, uri] of [
        [s.app, 'http://127.0.0.1:8080/callback'],
        [s.app, 'http://127.0.0.1:1/callback'],
        [s.app, 'http://127.0.0.1/callback'],
        [v6, 'http://[::1]:49152/callback'],
      ] as const) {
        const { code, url } = await getCode(s.server, { clientId: a.clientId, redirectUri: uri }, p);
        assert.ok(url.href.startsWith(`${uri}?`), url.href);
        const tok = await redeem(s.server, { clientId: a.clientId, redirectUri: uri }, code, p.verifier);
        assert.equal(tok.status, 200, JSON.stringify(tok.json));
      }
    });
    it('http://localhost is matched exactly: another port is refused', async () => {
      const lh = await createClient(s.server, { redirectUris: ['http://localhost:7777/cb'] });
      assertErrorPage(await get(authorizePath({ ...lh, redirectUri: 'http://localhost:7778/cb' }, p)));
      assertErrorPage(await get(authorizePath({ ...lh, redirectUri: 'http://localhost/cb' }, p)));
      const ok = await getCode(s.server, lh, p);
      assert.ok(ok.url.href.startsWith('http://localhost:7777/cb?'));
    });
    it('redirect_uri is required when openid is requested', async () => {
      const step = await get(authorizePath(s.app, p, { redirect_uri: null, scope: 'openid' }));
      assertErrorPage(step);
      assert.match(step.body, /redirect_uri/);
    });
    it('without openid, redirect_uri may be omitted when exactly one is registered', async () => {
      const { code, url } = await getCode(s.server, s.app, p, { redirect_uri: null, scope: 'profile' });
      assert.ok(url.href.startsWith(`${s.app.redirectUri}?`));
      // Not given at /authorize, so /token must not require it (RFC 6749 §4.1.3).
      const tok = await redeem(s.server, s.app, code, p.verifier, { redirect_uri: '' });
      // An empty redirect_uri is not the registered one → refused; omitting it works.
      assert.equal(tok.status, 400);
      const again = await getCode(s.server, s.app, p, { redirect_uri: null, scope: 'profile' });
      const res = await fetch(`${s.server.url}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code: again.code,
          client_id: s.app.clientId,
          code_verifier: p.verifier,
        }),
      });
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal(((await res.json()) as { scope: string }).scope, 'profile');
    });
    it('without openid and several registered URIs, omitting redirect_uri → error page', async () => {
      const two = await createClient(s.server, {
        redirectUris: ['http://127.0.0.1/a', 'http://127.0.0.1/b'],
      });
      assertErrorPage(
        await get(authorizePath({ ...two, redirectUri: 'x' }, p, { redirect_uri: null, scope: 'profile' })),
      );
    });
    it('errors to a registered URI with a query keep that query and append to it', async () => {
      const q = await createClient(s.server, {
        type: 'web',
        redirectUris: ['https://rp.example.com/cb?tenant=a%20b'],
      });
      const step = await get(authorizePath(q, p, { response_type: 'token' }));
      assert.equal(step.status, 303);
      assert.ok(
        step.location?.startsWith('https://rp.example.com/cb?tenant=a%20b&error='),
        step.location ?? '',
      );
      const url = callback(step.location);
      assert.equal(url.searchParams.get('tenant'), 'a b');
      assert.equal(url.searchParams.get('error'), 'unsupported_response_type');
      assert.equal(url.searchParams.get('iss'), s.server.issuer);
    });
    it('a service (client_credentials) client cannot use /authorize → error page', async () => {
      const svc = await createClient(s.server, { type: 'service' });
      assertErrorPage(
        await get(authorizePath({ clientId: svc.clientId, redirectUri: s.app.redirectUri }, p)),
      );
    });
  });

  describe('PKCE', () => {
    it('missing code_challenge → invalid_request at the client', async () => {
      const url = await expectClientError(
        authorizePath(s.app, p, { code_challenge: null, code_challenge_method: null }),
        'invalid_request',
      );
      assert.match(url.searchParams.get('error_description')!, /S256/);
    });
    it('code_challenge_method=plain → invalid_request saying S256 is required', async () => {
      const url = await expectClientError(
        authorizePath(s.app, p, { code_challenge: p.verifier, code_challenge_method: 'plain' }),
        'invalid_request',
      );
      assert.match(url.searchParams.get('error_description')!, /S256/);
    });
    it('omitted code_challenge_method → invalid_request saying S256 is required', async () => {
      const url = await expectClientError(
        authorizePath(s.app, p, { code_challenge_method: null }),
        'invalid_request',
      );
      assert.match(url.searchParams.get('error_description')!, /S256/);
    });
    it('challenge must be exactly 43 base64url characters', async () => {
      for (const bad of [
        p.challenge.slice(0, 42),
        `${p.challenge}A`,
        `${p.challenge.slice(0, 42)}=`,
        `${p.challenge.slice(0, 42)}+`,
        '',
      ]) {
        await expectClientError(authorizePath(s.app, p, { code_challenge: bad }), 'invalid_request');
      }
    });
    it('s256 lowercase is not S256', async () => {
      await expectClientError(authorizePath(s.app, p, { code_challenge_method: 's256' }), 'invalid_request');
    });
  });

  describe('scope, state, nonce', () => {
    it('unknown scope values are ignored and the granted scope is returned at /token', async () => {
      const { code } = await getCode(s.server, s.app, p, {
        scope: 'openid  profile unknown:thing email admin',
      });
      const tok = await redeem(s.server, s.app, code, p.verifier);
      assert.equal(tok.status, 200);
      assert.equal(tok.json['scope'], 'openid profile email');
    });
    it('offline_access is granted to a client allowed refresh tokens', async () => {
      const { code } = await getCode(s.server, s.app, p, {
        scope: 'openid offline_access',
        prompt: 'consent',
      });
      const tok = await redeem(s.server, s.app, code, p.verifier);
      assert.equal(tok.status, 200);
      assert.equal(tok.json['scope'], 'openid offline_access');
    });
    it('state is echoed untouched, odd characters and all', async () => {
      const odd = `a b+c&d=e%25f/?#é😀<>"'\\;,~`;
      const { url } = await getCode(s.server, s.app, p, { state: odd });
      assert.equal(url.searchParams.get('state'), odd);
      assert.equal(url.searchParams.get('iss'), s.server.issuer);
    });
    it('no state given → no state returned', async () => {
      const { url } = await getCode(s.server, s.app, p, { state: null });
      assert.equal(url.searchParams.has('state'), false);
    });
    it('nonce goes into the ID token; no nonce → no nonce claim (code flow allows it)', async () => {
      const nonce = 'n-0S6_WzA2Mj';
      const a = await getCode(s.server, s.app, p, { nonce });
      const t1 = await redeem(s.server, s.app, a.code, p.verifier);
      assert.equal(decodeJwt(t1.json['id_token'] as string)['nonce'], nonce);
      const b = await getCode(s.server, s.app, p, { nonce: null });
      const t2 = await redeem(s.server, s.app, b.code, p.verifier);
      assert.equal(t2.status, 200);
      assert.equal(decodeJwt(t2.json['id_token'] as string)['nonce'], undefined);
    });
  });

  describe('response_mode', () => {
    it('query is the default and may be named', async () => {
      const { url } = await getCode(s.server, s.app, p, { response_mode: 'query' });
      assert.ok(url.searchParams.get('code'));
    });
    it('form_post: an auto-submitting page whose script runs under the CSP nonce', async () => {
      const browser = new Browser(s.server.url);
      const { authorizeThroughBrowser } = await import('../helpers/browser.js');
      const step = await authorizeThroughBrowser(
        browser,
        authorizePath(s.app, p, { response_mode: 'form_post', state: 'a&b"<c>' }),
      );
      assert.equal(step.status, 200);
      assert.equal(step.location, null);
      const csp = step.headers.get('content-security-policy') ?? '';
      const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
      assert.ok(nonce, `CSP with a script nonce: ${csp}`);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.match(csp, /default-src 'none'/);
      assert.ok(step.body.includes(`<script nonce="${nonce}">`), 'the script carries the nonce');
      assert.equal(step.headers.get('x-latchkey-script-nonce'), null, 'internal header removed');
      assert.equal(step.headers.get('cache-control'), 'no-store');
      const action = /<form method="post" action="([^"]+)"/.exec(step.body)?.[1];
      assert.equal(action, s.app.redirectUri);
      const fields = Object.fromEntries(
        [...step.body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [
          m[1],
          m[2]!
            .replace(/&quot;/g, '"')
            .replace(/&lt;/g, '<')
            .replace(/&gt;/g, '>')
            .replace(/&amp;/g, '&'),
        ]),
      );
      assert.deepEqual(Object.keys(fields).sort(), ['code', 'iss', 'state']);
      assert.equal(fields['state'], 'a&b"<c>');
      assert.equal(fields['iss'], s.server.issuer);
      const tok = await redeem(s.server, s.app, fields['code']!, p.verifier);
      assert.equal(tok.status, 200);
    });
    it('form_post errors are posted back too', async () => {
      const step = await get(authorizePath(s.app, p, { response_mode: 'form_post', response_type: 'token' }));
      assert.equal(step.status, 200);
      assert.match(step.body, /name="error" value="unsupported_response_type"/);
      assert.match(step.body, /name="iss"/);
    });
    it('unknown response_mode → invalid_request at the client (query)', async () => {
      await expectClientError(authorizePath(s.app, p, { response_mode: 'fragment' }), 'invalid_request');
    });
  });

  describe('parameters', () => {
    it('unknown parameters are ignored', async () => {
      const { url } = await getCode(s.server, s.app, p, {
        foo: 'bar',
        claims_locales: 'fr',
        ui_locales: 'de',
        x: '',
      });
      assert.ok(url.searchParams.get('code'));
    });
    it('login_hint pre-fills the sign-in name', async () => {
      const b = new Browser(s.server.url);
      const step = await b.get(authorizePath(s.app, p, { login_hint: 'bob"<x>' }));
      assert.equal(step.status, 303);
      const page = await b.get(step.location!);
      assert.match(page.body, /id="username"[^>]*value="bob&quot;&lt;x>"|value="bob&quot;&lt;x&gt;"/);
    });
    for (const name of ['state', 'scope', 'response_type', 'code_challenge', 'nonce', 'foo']) {
      it(`${name} given twice → invalid_request redirected to the client`, async () => {
        const path = `${authorizePath(s.app, p, { nonce: 'n1', foo: 'f1' })}&${name}=again`;
        // state is echoed only when it was given once.
        await expectClientError(path, 'invalid_request', { state: name === 'state' ? null : 'st-123' });
      });
    }
    it('client_id given twice → error page', async () => {
      assertErrorPage(await get(`${authorizePath(s.app, p)}&client_id=${s.app.clientId}`));
    });
    it('redirect_uri given twice → error page', async () => {
      assertErrorPage(
        await get(`${authorizePath(s.app, p)}&redirect_uri=${encodeURIComponent(s.app.redirectUri)}`),
      );
    });
    it('request and request_uri are refused at the client', async () => {
      await expectClientError(authorizePath(s.app, p, { request: 'eyJ.x.y' }), 'request_not_supported');
      await expectClientError(
        authorizePath(s.app, p, { request_uri: 'https://x/y' }),
        'request_uri_not_supported',
      );
    });
    it('bad prompt and max_age → invalid_request at the client', async () => {
      await expectClientError(authorizePath(s.app, p, { prompt: 'none login' }), 'invalid_request');
      await expectClientError(authorizePath(s.app, p, { prompt: 'sometimes' }), 'invalid_request');
      await expectClientError(authorizePath(s.app, p, { max_age: '-1' }), 'invalid_request');
      await expectClientError(authorizePath(s.app, p, { max_age: '1.5' }), 'invalid_request');
    });
  });

  describe('POST /authorize', () => {
    it('a form POST works like GET and redirects with 303', async () => {
      const b = new Browser(s.server.url);
      const q = new URL(authorizePath(s.app, p), s.server.url).searchParams;
      const step = await b.post('/authorize', Object.fromEntries(q));
      assert.equal(step.status, 303);
      assert.ok(step.location?.startsWith('/interaction/'));
    });
    it('an error after a POST is a 303 to the client', async () => {
      const q = new URL(authorizePath(s.app, p, { response_type: 'token' }), s.server.url).searchParams;
      const step = await new Browser(s.server.url).post('/authorize', Object.fromEntries(q));
      assert.equal(step.status, 303);
      assert.equal(callback(step.location).searchParams.get('error'), 'unsupported_response_type');
    });
    it('a JSON POST → 400 error page', async () => {
      const res = await fetch(`${s.server.url}/authorize`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/json', accept: 'text/html' },
        body: JSON.stringify({ client_id: s.app.clientId }),
      });
      assert.equal(res.status, 400);
      assert.equal(res.headers.get('location'), null);
      assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    });
  });

  describe('headers', () => {
    it('no CORS on /authorize, even for a registered SPA origin', async () => {
      const spa = await createClient(s.server, { type: 'spa', redirectUris: ['https://spa.example.com/cb'] });
      const headers = { origin: 'https://spa.example.com' };
      const step = await get(authorizePath(spa, p), headers);
      assert.equal(step.status, 303);
      assert.equal(step.headers.get('access-control-allow-origin'), null);
      const err = await get(authorizePath(spa, p, { response_type: 'token' }), headers);
      assert.equal(err.headers.get('access-control-allow-origin'), null);
      const pre = await fetch(`${s.server.url}/authorize`, {
        method: 'OPTIONS',
        headers: { ...headers, 'access-control-request-method': 'GET' },
      });
      assert.equal(pre.headers.get('access-control-allow-origin'), null);
      // …while /token does answer that origin (the control).
      const tok = await fetch(`${s.server.url}/.well-known/openid-configuration`, { headers });
      assert.equal(tok.headers.get('access-control-allow-origin'), 'https://spa.example.com');
    });
    it('redirects are 303 with no-store; HTML pages forbid framing', async () => {
      const step = await get(authorizePath(s.app, p));
      assert.equal(step.status, 303);
      assert.equal(step.headers.get('cache-control'), 'no-store');
      const bad = await get(authorizePath(s.app, p, { client_id: 'nope' }));
      assert.equal(bad.headers.get('x-frame-options'), 'DENY');
      assert.match(bad.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
      assert.equal(bad.headers.get('referrer-policy'), 'no-referrer');
    });
    it('discovery advertises authorization_response_iss_parameter_supported', async () => {
      const d = (await (await fetch(`${s.server.url}/.well-known/openid-configuration`)).json()) as Record<
        string,
        unknown
      >;
      assert.equal(d['authorization_response_iss_parameter_supported'], true);
      assert.deepEqual(d['code_challenge_methods_supported'], ['S256']);
      assert.deepEqual(d['response_types_supported'], ['code']);
    });
  });
});

/**
 * Bad input at every endpoint of the authorization code flow. Whatever arrives, the answer is a
 * clear 4xx (an error page or RFC 6749 §5.2 JSON): never a 500, never a stack trace, never a
 * redirect to a URI the client did not register. Raw sockets and undici.request send what
 * fetch would normalise.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { Browser, formOf } from '../helpers/browser.js';
import { authorizePath, pkce, withServer } from '../helpers/flow.js';
import { PASSWORD } from '../helpers/server.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

describe('bad input', () => {
  const s = withServer({ users: ['alice'], app: {} });
  let base: string;
  const agent = new Agent({ pipelining: 0 });

  before(() => {
    base = authorizePath(s.app, pkce());
  });
  after(() => agent.close());

  async function send(
    path: string,
    opts: {
      method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
      headers?: Record<string, string>;
      body?: string;
    } = {},
  ): Promise<Answer> {
    const res = await request(s.server.url + path, {
      method: opts.method ?? 'GET',
      dispatcher: agent,
      headers: opts.headers ?? {},
      ...(opts.body !== undefined ? { body: opts.body } : {}),
    });
    return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
  }

  /** The invariant: 4xx, our error shape, no stack, no redirect anywhere but the registered URI. */
  function assertClean(
    a: Answer,
    label: string,
    opts: { status?: number; allowClientRedirect?: boolean } = {},
  ) {
    const where = `${label}: ${a.status} ${String(a.headers['location'] ?? '')} ${a.body.slice(0, 200)}`;
    if (opts.allowClientRedirect && a.status === 303) {
      const loc = String(a.headers['location']);
      assert.ok(loc.startsWith(`${s.app.redirectUri}?`), where);
      const url = new URL(loc);
      assert.equal(url.searchParams.get('error'), 'invalid_request', where);
      assert.equal(url.searchParams.get('iss'), s.server.issuer, where);
      assert.equal(url.searchParams.get('code'), null, where);
      return;
    }
    assert.ok(a.status >= 400 && a.status < 500, where);
    if (opts.status !== undefined) assert.equal(a.status, opts.status, where);
    assert.equal(a.headers['location'], undefined, `no redirect: ${where}`);
    assert.doesNotMatch(a.body, /\n\s+at |node_modules|\.ts:\d+|FST_ERR/, `no stack or internals: ${where}`);
    const type = String(a.headers['content-type'] ?? '');
    if (type.startsWith('application/json')) {
      const json = JSON.parse(a.body) as Record<string, unknown>;
      assert.equal(typeof json['error'], 'string', where);
    } else {
      assert.match(type, /^text\/html/, where);
      assert.match(a.body, /<h1>/, where);
    }
  }

  describe('/authorize query', () => {
    it('bad percent-encoding in state → invalid_request at the client, state not echoed mangled', async () => {
      for (const bad of ['%zz', '%', '%E0%A4%A', 'ok%', '%ff', '%C0%AF']) {
        const a = await send(base.replace('state=st-123', `state=${bad}`));
        assertClean(a, bad, { allowClientRedirect: true });
        assert.equal(a.status, 303, bad);
        const url = new URL(String(a.headers['location']));
        assert.equal(url.searchParams.get('state'), null, `no mangled state for ${bad}`);
        assert.match(url.searchParams.get('error_description') ?? '', /state/);
      }
    });
    it('bad percent-encoding in client_id or redirect_uri → error page, no redirect', async () => {
      assertClean(await send(base.replace(`client_id=${s.app.clientId}`, 'client_id=%zz')), 'client_id', {
        status: 400,
      });
      assertClean(
        await send(base.replace(/redirect_uri=[^&]+/, 'redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb%E0%A4%A')),
        'redirect',
        {
          status: 400,
        },
      );
      assertClean(await send(`${base.replace(/redirect_uri=[^&]+/, 'redirect_uri=%')}`), 'lone %', {
        status: 400,
      });
    });
    it('a badly encoded parameter name → invalid_request', async () => {
      assertClean(await send(`${base}&%zz=1`), 'name', { allowClientRedirect: true });
    });
    it('NUL bytes in values → invalid_request; in client_id → error page', async () => {
      assertClean(await send(base.replace('state=st-123', 'state=a%00b')), 'nul state', {
        allowClientRedirect: true,
      });
      assertClean(
        await send(base.replace(`client_id=${s.app.clientId}`, `client_id=${s.app.clientId}%00`)),
        'nul id',
        {
          status: 400,
        },
      );
      assertClean(
        await send(base.replace(/redirect_uri=[^&]+/, 'redirect_uri=http%3A%2F%2F127.0.0.1%2Fcallback%00')),
        'nul uri',
        {
          status: 400,
        },
      );
    });
    it('a 10 KB state → invalid_request at the client (state not echoed)', async () => {
      const a = await send(base.replace('state=st-123', `state=${'s'.repeat(10_000)}`));
      assertClean(a, '10k state', { allowClientRedirect: true });
      assert.equal(a.status, 303);
      assert.ok(String(a.headers['location']).length < 1000);
    });
    it('a 3 KB state (under the parameter cap, over the state cap) → invalid_request', async () => {
      const a = await send(base.replace('state=st-123', `state=${'s'.repeat(3000)}`));
      assertClean(a, '3k state', { allowClientRedirect: true });
      assert.equal(a.status, 303);
    });
    it('a 100 KB query → 4xx', async () => {
      assertClean(await send(`${base}&x=${'a'.repeat(100_000)}`), '100k');
    });
    it('a 10 KB redirect_uri → error page', async () => {
      assertClean(
        await send(
          base.replace(/redirect_uri=[^&]+/, `redirect_uri=http%3A%2F%2F127.0.0.1%2F${'a'.repeat(10_000)}`),
        ),
        'long uri',
        {
          status: 400,
        },
      );
    });
    it('hundreds of parameters → error page', async () => {
      const many = base + Array.from({ length: 300 }, (_, i) => `&p${i}=1`).join('');
      assertClean(await send(many), 'many', { status: 400 });
      const same = base + '&state=x'.repeat(300);
      assertClean(await send(same), 'repeated', { allowClientRedirect: true });
    });
    it('bracket and prototype-looking names are just unknown parameters', async () => {
      for (const extra of [
        '&scope[]=x',
        '&a[b]=c',
        '&__proto__=x',
        '&constructor=y&toString=z',
        '&hasOwnProperty=1',
      ]) {
        const a = await send(base + extra);
        assert.equal(a.status, 303, extra);
        assert.match(String(a.headers['location']), /^\/interaction\//, extra);
      }
    });
    it('__proto__ as client_id → error page', async () => {
      assertClean(
        await send(base.replace(`client_id=${s.app.clientId}`, 'client_id=__proto__')),
        'proto id',
        {
          status: 400,
        },
      );
    });
    it('unknown methods on /authorize → 4xx', async () => {
      assertClean(await send(base, { method: 'PUT' }), 'PUT');
      assertClean(await send(base, { method: 'DELETE' }), 'DELETE');
    });
  });

  describe('bodies and content types', () => {
    const form = 'application/x-www-form-urlencoded';
    it('/token: JSON, XML, text, multipart, none, broken JSON → 400 invalid_request JSON', async () => {
      for (const [type, body] of [
        ['application/json', '{"grant_type":"authorization_code"}'],
        ['application/json', '{not json'],
        ['application/xml', '<x/>'],
        ['text/plain', 'grant_type=authorization_code'],
        ['multipart/form-data; boundary=b', '--b\r\n'],
        ['', 'grant_type=authorization_code'],
      ] as const) {
        const a = await send('/token', {
          method: 'POST',
          headers: type ? { 'content-type': type } : {},
          body,
        });
        assertClean(a, `token ${type}`, { status: 400 });
        assert.equal(JSON.parse(a.body).error, 'invalid_request');
      }
    });
    it('/token: a huge body → 413 JSON', async () => {
      const a = await send('/token', {
        method: 'POST',
        headers: { 'content-type': form },
        body: `a=${'x'.repeat(300_000)}`,
      });
      assertClean(a, 'huge token', { status: 413 });
    });
    it('/token: hundreds of parameters, NULs, bad encoding → 4xx JSON', async () => {
      const many = Array.from({ length: 500 }, (_, i) => `p${i}=1`).join('&');
      for (const body of [
        many,
        'grant_type=authorization_code%00',
        'grant_type=%&code=%E0%A4%A',
        `code=%zz&grant_type=authorization_code&client_id=${s.app.clientId}`,
      ]) {
        assertClean(
          await send('/token', { method: 'POST', headers: { 'content-type': form }, body }),
          body.slice(0, 30),
        );
      }
    });
    it('/token: garbage Authorization headers → 401 invalid_client', async () => {
      for (const auth of [
        'Basic %%%',
        `Basic ${Buffer.from('%zz:%zz').toString('base64')}`,
        `Basic ${Buffer.from('nocolon').toString('base64')}`,
        'Basic',
        'Digest x',
        `Basic ${'A'.repeat(8000)}`,
      ]) {
        const a = await send('/token', {
          method: 'POST',
          headers: { 'content-type': form, authorization: auth },
          body: 'grant_type=authorization_code&code=x',
        });
        assertClean(a, auth.slice(0, 20));
        assert.equal(a.status, 401, auth.slice(0, 20));
        assert.ok(a.headers['www-authenticate'], 'WWW-Authenticate on 401');
      }
    });
    it('POST /authorize: JSON, broken JSON and huge bodies → error page', async () => {
      assertClean(
        await send('/authorize', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{bad',
        }),
        'json',
        {
          status: 400,
        },
      );
      assertClean(
        await send('/authorize', {
          method: 'POST',
          headers: { 'content-type': form },
          body: `a=${'x'.repeat(300_000)}`,
        }),
        'huge',
        {
          status: 413,
        },
      );
      assertClean(
        await send('/authorize', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'a' }),
        'text',
      );
    });
    it('POST /authorize: bad percent-encoding in the form → invalid_request at the client, state not mangled', async () => {
      for (const bad of ['%zz', '%', '%E0%A4%A']) {
        const body = `${base.split('?')[1]!.replace('state=st-123', `state=${bad}`)}`;
        const a = await send('/authorize', { method: 'POST', headers: { 'content-type': form }, body });
        assertClean(a, `post ${bad}`, { allowClientRedirect: true });
        assert.equal(a.status, 303);
        const url = new URL(String(a.headers['location']));
        assert.equal(url.searchParams.get('state'), null);
        assert.match(url.searchParams.get('error_description') ?? '', /state/);
      }
      // A well-formed POST still works, non-ASCII state and all.
      const ok = await send('/authorize', {
        method: 'POST',
        headers: { 'content-type': form },
        body: base.split('?')[1]!.replace('state=st-123', 'state=%C3%A9t%C3%A9'),
      });
      assert.equal(ok.status, 303);
      assert.match(String(ok.headers['location']), /^\/interaction\//);
      // A chunked body (no Content-Length) over the limit → 413 page.
      const big = await request(`${s.server.url}/authorize`, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': form },
        body: Readable.from(
          (function* () {
            for (let i = 0; i < 20; i++) yield Buffer.alloc(8192, 0x61);
          })(),
        ),
      });
      const text = await big.body.text();
      assertClean({ status: big.statusCode, headers: big.headers, body: text }, 'chunked', { status: 413 });
    });
    it('POST /interaction/…/login: huge body, JSON, wrong id → error page', async () => {
      const id = 'a'.repeat(32);
      for (const [type, body] of [
        [form, `a=${'x'.repeat(300_000)}`],
        ['application/json', '{bad'],
        [form, 'csrf=x&username=alice&password=x'],
      ] as const) {
        assertClean(
          await send(`/interaction/${id}/login`, {
            method: 'POST',
            headers: { 'content-type': type, accept: 'text/html' },
            body,
          }),
          type,
        );
      }
    });
  });

  describe('paths', () => {
    it('unknown paths → 404 (HTML for browsers, JSON otherwise)', async () => {
      for (const p of [
        '/nope',
        '/../../etc/passwd',
        '/authorize/extra',
        '/token/',
        '/.well-known/nope',
        '/%2e%2e/%2e%2e/etc/passwd',
      ]) {
        assertClean(await send(p), p, { status: 404 });
        const html = await send(p, { headers: { accept: 'text/html' } });
        assertClean(html, p, { status: 404 });
        assert.match(String(html.headers['content-type']), /text\/html/);
      }
    });
    it('malformed interaction ids → 4xx in our own shape', async () => {
      for (const id of ['%zz', 'abc%00def', 'a'.repeat(500), '..%2F..%2Fetc', '%E0%A4%A', '<script>']) {
        assertClean(await send(`/interaction/${id}`, { headers: { accept: 'text/html' } }), id);
        assertClean(await send(`/interaction/${id}`), id);
      }
    });
  });

  describe('cookies', () => {
    it('garbage, very long or forged session cookies are ignored: the user is asked to sign in', async () => {
      for (const value of [
        'x',
        'A'.repeat(43),
        'A'.repeat(5000),
        '"%zz\\;é',
        '%E0%A4%A',
        '../../../../etc/passwd',
        '\u00e9\u00e8',
        'a=b=c',
      ]) {
        const a = await send(base, { headers: { cookie: `latchkey_session=${encodeURI(value)}` } });
        assert.equal(a.status, 303, value);
        assert.match(String(a.headers['location']), /^\/interaction\//, value);
      }
      const twice = await send(base, { headers: { cookie: 'latchkey_session=a; latchkey_session=b' } });
      assert.equal(twice.status, 303);
    });
    it('prompt=none with a forged session → login_required at the client', async () => {
      const a = await send(authorizePath(s.app, pkce(), { prompt: 'none' }), {
        headers: { cookie: `latchkey_session=${'A'.repeat(43)}` },
      });
      assert.equal(a.status, 303);
      assert.equal(new URL(String(a.headers['location'])).searchParams.get('error'), 'login_required');
    });
    it('a forged interaction cookie does not open the interaction', async () => {
      const b = new Browser(s.server.url);
      const start = await b.get(base);
      b.cookies.set('latchkey_interaction', 'x'.repeat(32));
      const page = await b.get(start.location!);
      assert.equal(page.status, 403);
      assert.equal(page.location, null);
    });
  });

  describe('replays', () => {
    it('posting the same sign-in form twice: the second gets an error page, not a second code', async () => {
      const b = new Browser(s.server.url);
      const start = await b.get(base);
      const page = await b.get(start.location!);
      const { csrf, actions } = formOf(page.body);
      const login = actions.find((x) => x.endsWith('/login'))!;
      const first = await b.post(login, { csrf, username: 'alice', password: PASSWORD });
      assert.equal(first.status, 303);
      assert.ok(new URL(first.location!).searchParams.get('code'));
      const second = await b.post(login, { csrf, username: 'alice', password: PASSWORD });
      assert.equal(second.status, 400);
      assert.equal(second.location, null);
      assert.match(second.body, /expired or was already used/);
      // And the page itself is gone.
      assert.equal((await b.get(start.location!)).status, 400);
    });
    it('two concurrent posts of the same sign-in form: at most one code', async () => {
      const b = new Browser(s.server.url);
      const start = await b.get(base);
      const page = await b.get(start.location!);
      const { csrf, actions } = formOf(page.body);
      const login = actions.find((x) => x.endsWith('/login'))!;
      const results = await Promise.all(
        Array.from({ length: 5 }, () => b.post(login, { csrf, username: 'alice', password: PASSWORD })),
      );
      const codes = results.filter((r) => r.status === 303 && r.location?.includes('code='));
      assert.equal(codes.length, 1, results.map((r) => r.status).join(','));
      for (const r of results) assert.ok(r.status === 303 || r.status === 400, String(r.status));
    });
  });

  describe('raw HTTP', () => {
    function raw(text: string): Promise<string> {
      const { port } = new URL(s.server.url);
      return new Promise((resolve, reject) => {
        const sock = connect(Number(port), '127.0.0.1');
        let out = '';
        sock.setTimeout(5000, () => {
          sock.destroy();
          resolve(out);
        });
        sock.on('data', (d) => {
          out += d.toString('latin1');
        });
        sock.on('end', () => resolve(out));
        sock.on('error', (e) => (out ? resolve(out) : reject(e)));
        sock.write(text, 'latin1');
      });
    }
    it('NUL, control characters and spaces in the request line → 400 from the HTTP layer', async () => {
      for (const target of [`${base}&state=a\u0000b`, '/authorize?state=a\u0001b', '/authorize?a b=c']) {
        const out = await raw(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(out)?.[1]);
        assert.ok(status >= 400 && status < 500, `${JSON.stringify(target)} → ${out.slice(0, 80)}`);
        assert.doesNotMatch(out, /\n\s+at /);
      }
    });
    it('a body longer than its Content-Length, or a lying Content-Length → no 500', async () => {
      const out = await raw(
        'POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 5\r\nConnection: close\r\n\r\ngrant_type=authorization_code',
      );
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(out)?.[1]);
      assert.ok(status >= 400 && status < 500, out.slice(0, 120));
    });
    it('invalid UTF-8 bytes in a form body → 4xx JSON', async () => {
      const body = Buffer.concat([
        Buffer.from('grant_type=authorization_code&code='),
        Buffer.from([0xff, 0xfe, 0xc0]),
      ]);
      const res = await request(`${s.server.url}/token`, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      const text = await res.body.text();
      assert.ok(res.statusCode >= 400 && res.statusCode < 500, text);
      assert.equal(typeof JSON.parse(text).error, 'string');
    });
  });
});

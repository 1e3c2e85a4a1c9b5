/**
 * The admin API for APIs (resource servers) over real HTTP: GET/POST /admin/api/apis,
 * GET/PATCH/DELETE /admin/api/apis/:identifier (URL-encoded), the same JSON as `apis --json`,
 * 400 for bad input, 404 for an unknown identifier, 401 without the token.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { withServer } from '../helpers/flow.js';

const TOKEN = 'admin-token-for-tests-0123456789';

// biome-ignore lint/suspicious/noExplicitAny: the answers are JSON of several shapes, read field by field
type AnswerJson = any;

describe('admin API: /admin/api/apis', () => {
  const s = withServer({ overrides: { adminToken: TOKEN } });
  let call: (
    method: string,
    path: string,
    body?: unknown,
    token?: string,
  ) => Promise<{ status: number; json: AnswerJson }>;

  before(() => {
    call = async (method, path, body, token = TOKEN) => {
      const headers: Record<string, string> = { authorization: `Bearer ${token}` };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${s.server.url}/admin/api${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      assert.doesNotMatch(text, /at [\w.<>]+ \(|node_modules/, 'no stack trace');
      return { status: res.status, json: text ? JSON.parse(text) : {} };
    };
  });

  const path = (identifier: string) => `/apis/${encodeURIComponent(identifier)}`;

  it('POST creates (201), GET reads it back, the list has the default API first', async () => {
    const created = await call('POST', '/apis', {
      identifier: 'https://orders.example.com/v1',
      name: 'Orders API',
      scopes: [{ value: 'orders:read', description: 'Read your orders' }, { value: 'orders:write' }],
      access_token_ttl: 600,
      token_alg: 'ES256',
      allow_dynamic_clients: true,
    });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    assert.deepEqual(created.json.scopes, [
      { value: 'orders:read', description: 'Read your orders' },
      { value: 'orders:write', description: '' },
    ]);
    assert.equal(created.json.access_token_ttl, 600);
    assert.equal(created.json.allow_dynamic_clients, true);
    const got = await call('GET', path('https://orders.example.com/v1'));
    assert.deepEqual(got.json, created.json);
    const list = await call('GET', '/apis');
    assert.deepEqual(
      list.json.map((a: { identifier: string }) => a.identifier),
      [s.server.ctx.config.audience, 'https://orders.example.com/v1'],
    );
    const [event] = await s.server.ctx.storage.audit.list({ type: 'api_created' });
    assert.equal(event?.detail?.['via'], 'api');
  });

  it('PATCH changes what it is given; null goes back to the server default', async () => {
    const r = await call('PATCH', path('https://orders.example.com/v1'), {
      access_token_ttl: null,
      name: 'Orders',
    });
    assert.equal(r.status, 200);
    assert.equal(r.json.access_token_ttl, null);
    assert.equal(r.json.name, 'Orders');
    assert.equal(r.json.token_alg, 'ES256');
  });

  it('bad input → 400 with a clear message; unknown → 404; no token → 401', async () => {
    const bad: unknown[] = [
      { name: 'X' },
      { identifier: 'relative/path', name: 'X' },
      { identifier: 'https://x.example', name: 'X', scopes: 'orders:read' },
      { identifier: 'https://x.example', name: 'X', scopes: [{ value: 'openid' }] },
      { identifier: 'https://x.example', name: 'X', scopes: [{ value: 'a', extra: 1 }] },
      { identifier: 'https://x.example', name: 'X', access_token_ttl: '1h' },
      { identifier: 'https://x.example', name: 'X', token_alg: 'none' },
      { identifier: 'https://x.example', name: 'X', unknown: true },
      { identifier: 'https://x.example', name: 'x'.repeat(500) },
      { identifier: 'https://orders.example.com/v1', name: 'again' },
    ];
    for (const body of bad) {
      const r = await call('POST', '/apis', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.json.error, 'invalid_request');
      assert.ok(typeof r.json.error_description === 'string' && r.json.error_description.length > 0);
    }
    assert.equal((await call('PATCH', path('https://orders.example.com/v1'), {})).status, 400);
    assert.equal((await call('GET', path('https://nowhere.example'))).status, 404);
    assert.equal((await call('PATCH', path('https://nowhere.example'), { name: 'N' })).status, 404);
    assert.equal((await call('DELETE', path(s.server.ctx.config.audience))).status, 400);
    assert.equal((await call('GET', '/apis', undefined, 'wrong-token-0123456789')).status, 401);
    assert.equal((await s.server.ctx.storage.apis.list()).length, 1, 'nothing else stored');
  });

  it('DELETE removes it; a second DELETE is 404', async () => {
    const r = await call('DELETE', path('https://orders.example.com/v1'));
    assert.deepEqual(r.json, { identifier: 'https://orders.example.com/v1', deleted: true });
    assert.equal((await call('DELETE', path('https://orders.example.com/v1'))).status, 404);
  });
});

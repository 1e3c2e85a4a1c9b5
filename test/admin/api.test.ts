/** The admin API over real HTTP: bearer auth, applications, users, audit, and bad input → 4xx. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { obtainTokens, postForm, withServer } from '../helpers/flow.js';
import { createUser, PASSWORD, startTestServer, type TestServer } from '../helpers/server.js';

const TOKEN = 'admin-token-for-tests-0123456789';

interface Res {
  status: number;
  json: Record<string, unknown>;
  list: Record<string, unknown>[];
  headers: Headers;
}

function api(server: TestServer, token: string | null = TOKEN) {
  return async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Res> => {
    const h: Record<string, string> = { ...headers };
    if (token !== null) h['authorization'] = `Bearer ${token}`;
    let payload: string | undefined;
    if (body !== undefined) {
      h['content-type'] ??= 'application/json';
      payload = typeof body === 'string' ? body : JSON.stringify(body);
    }
    const res = await fetch(`${server.url}/admin/api${path}`, { method, headers: h, body: payload });
    const text = await res.text();
    const parsed: unknown = text ? JSON.parse(text) : {};
    return {
      status: res.status,
      json: Array.isArray(parsed) ? {} : (parsed as Record<string, unknown>),
      list: Array.isArray(parsed) ? (parsed as Record<string, unknown>[]) : [],
      headers: res.headers,
    };
  };
}

describe('admin API', () => {
  const s = withServer({ overrides: { adminToken: TOKEN }, discover: true });
  let call: ReturnType<typeof api>;
  before(() => {
    call = api(s.server);
  });

  it('needs the bearer token: 401 without or with a wrong one', async () => {
    const none = await api(s.server, null)('GET', '/clients');
    assert.equal(none.status, 401);
    assert.equal(none.json['error'], 'invalid_token');
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
    const wrong = await api(s.server, `${TOKEN}x`)('GET', '/clients');
    assert.equal(wrong.status, 401);
    const short = await api(s.server, 'x')('GET', '/users');
    assert.equal(short.status, 401);
    const basic = await fetch(`${s.server.url}/admin/api/clients`, {
      headers: { authorization: `Basic ${Buffer.from(`a:${TOKEN}`).toString('base64')}` },
    });
    assert.equal(basic.status, 401);
    assert.equal((await call('GET', '/clients')).status, 200);
  });

  it('answers 404 when no admin token is configured', async () => {
    const off = await startTestServer();
    try {
      const r = await api(off)('GET', '/clients');
      assert.equal(r.status, 404);
      assert.equal((await api(off, null)('GET', '/users')).status, 404);
    } finally {
      await off.cleanup();
    }
  });

  it('creates a native client (no secret) that then works through the real flow', async () => {
    await createUser(s.server, 'alice');
    const r = await call('POST', '/clients', {
      name: 'CLI app',
      type: 'native',
      redirect_uris: ['http://127.0.0.1/callback'],
    });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assert.equal(r.json['type'], 'native');
    assert.equal(r.json['token_endpoint_auth_method'], 'none');
    assert.equal(r.json['client_secret'], undefined);
    const clientId = String(r.json['client_id']);
    const { tokens } = await obtainTokens(s.server, s.as, {
      clientId,
      redirectUri: 'http://127.0.0.1/callback',
    });
    assert.ok(tokens.access_token);
    const got = await call('GET', `/clients/${clientId}`);
    assert.equal(got.status, 200);
    assert.equal(got.json['client_secret'], undefined, 'the secret is never shown again');
    const listed = await call('GET', '/clients');
    assert.ok(listed.list.some((c) => c['client_id'] === clientId));
    const events = await s.server.ctx.audit.list({ type: 'client_created', clientId });
    assert.equal(events[0]?.detail?.['via'], 'api');
  });

  it('creates web and service clients with a secret shown once', async () => {
    const web = await call('POST', '/clients', {
      name: 'Web',
      type: 'web',
      redirect_uris: ['https://app.example.com/cb'],
      consent: 'required',
    });
    assert.equal(web.status, 201);
    assert.equal(web.json['token_endpoint_auth_method'], 'client_secret_basic');
    assert.equal(typeof web.json['client_secret'], 'string');
    assert.ok(String(web.json['client_secret']).length >= 40);
    const svc = await call('POST', '/clients', { name: 'Batch', type: 'service' });
    assert.equal(svc.status, 201);
    assert.deepEqual(svc.json['grant_types'], ['client_credentials']);
    const secret = String(svc.json['client_secret']);
    const cc = await postForm(`${s.server.url}/token`, {
      grant_type: 'client_credentials',
      client_id: String(svc.json['client_id']),
      client_secret: secret,
    });
    assert.equal(cc.status, 200, JSON.stringify(cc.json));
    const again = await call('GET', `/clients/${svc.json['client_id']}`);
    assert.equal(again.json['client_secret'], undefined);
  });

  it('refuses bad client input with 400 and a clear message', async () => {
    const cases: [unknown, RegExp][] = [
      [{ name: 'X', type: 'native', redirect_uris: ['http://evil.example.com/cb'] }, /redirect URI/i],
      [{ name: 'X', type: 'native', redirect_uris: ['https://a.example/cb#frag'] }, /redirect URI/i],
      [{ name: 'X', type: 'native' }, /redirect/i],
      [{ name: 'X', type: 'desktop', redirect_uris: ['http://127.0.0.1/cb'] }, /type must be one of/],
      [{ name: 42, type: 'native' }, /name must be a string/],
      [{ name: 'X', type: 'native', redirect_uris: 'http://127.0.0.1/cb' }, /array of strings/],
      [{ name: 'X', type: 'native', redirect_uris: [1] }, /array of strings/],
      [
        { name: 'X', type: 'native', redirect_uris: ['http://127.0.0.1/cb'], require_pkce: 'no' },
        /true or false/,
      ],
      [
        { name: 'X', type: 'native', redirect_uris: ['http://127.0.0.1/cb'], colour: 'red' },
        /Unknown field: colour/,
      ],
      [{ type: 'native' }, /name is required/],
      [{ name: 'X' }, /type is required/],
      [{ name: 'X', type: 'service', redirect_uris: ['https://a.example/cb'] }, /no redirect URIs/],
      [{ name: 'X', type: 'spa', redirect_uris: ['http://127.0.0.1/cb'], require_pkce: false }, /PKCE/],
      [[1, 2], /JSON object/],
      ['null', /JSON object/],
    ];
    for (const [body, msg] of cases) {
      const r = await call('POST', '/clients', body);
      assert.equal(r.status, 400, `${JSON.stringify(body)} → ${r.status} ${JSON.stringify(r.json)}`);
      assert.equal(r.json['error'], 'invalid_request');
      assert.match(String(r.json['error_description']), msg, JSON.stringify(body));
    }
  });

  it('refuses malformed JSON, wrong content types and empty bodies with 400', async () => {
    const broken = await call('POST', '/clients', '{"name": "x",');
    assert.equal(broken.status, 400);
    assert.equal(broken.json['error'], 'invalid_request');
    const form = await call('POST', '/clients', 'name=x&type=native', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    assert.equal(form.status, 400);
    assert.match(String(form.json['error_description']), /application\/json/);
    const text = await call('POST', '/users', 'hello', { 'content-type': 'text/plain' });
    assert.equal(text.status, 400);
    const empty = await fetch(`${s.server.url}/admin/api/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    });
    assert.equal(empty.status, 400);
    const big = await call('POST', '/users', { username: 'x'.repeat(100_000), password: 'p' });
    assert.equal(big.status, 413);
  });

  it('PATCHes settings, with type checks and the admin layer’s validation', async () => {
    const c = await call('POST', '/clients', {
      name: 'Patch me',
      type: 'native',
      redirect_uris: ['http://127.0.0.1/cb'],
    });
    const id = String(c.json['client_id']);
    const r = await call('PATCH', `/clients/${id}`, {
      name: 'Patched',
      redirect_uris: ['http://127.0.0.1/cb', 'com.example.app:/cb'],
      consent: 'required',
      access_token_ttl: 600,
      refresh_grace: 30,
      refresh_tokens: false,
      require_pushed_authorization_requests: true,
    });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json['require_pushed_authorization_requests'], true);
    assert.equal(r.json['name'], 'Patched');
    assert.equal(r.json['consent'], 'required');
    assert.equal(r.json['access_token_ttl'], 600);
    assert.equal(r.json['refresh_grace'], 30);
    assert.deepEqual(r.json['grant_types'], ['authorization_code']);
    assert.deepEqual(r.json['redirect_uris'], ['http://127.0.0.1/cb', 'com.example.app:/cb']);
    // Times are seconds or a duration string, as everywhere else.
    const durations = await call('PATCH', `/clients/${id}`, { access_token_ttl: '15m', refresh_grace: '5s' });
    assert.equal(durations.status, 200, JSON.stringify(durations.json));
    assert.equal(durations.json['access_token_ttl'], 900);
    assert.equal(durations.json['refresh_grace'], 5);
    const reset = await call('PATCH', `/clients/${id}`, { access_token_ttl: null, refresh_tokens: true });
    assert.equal(reset.json['access_token_ttl'], null);
    assert.deepEqual(reset.json['grant_types'], ['authorization_code', 'refresh_token']);
    for (const [body, status] of [
      [{ refresh_grace: 61 }, 400],
      [{ refresh_grace: '5 seconds' }, 400],
      [{ refresh_grace: true }, 400],
      [{ refresh_grace: 1.5 }, 400],
      [{ access_token_ttl: 10 }, 400],
      [{ consent: 'maybe' }, 400],
      [{ redirect_uris: [] }, 400],
      [{ type: 'web' }, 400],
      [{}, 400],
    ] as const) {
      const bad = await call('PATCH', `/clients/${id}`, body);
      assert.equal(bad.status, status, `${JSON.stringify(body)} → ${JSON.stringify(bad.json)}`);
      assert.equal(bad.json['error'], 'invalid_request');
    }
    assert.equal((await call('PATCH', '/clients/nope', { name: 'x' })).status, 404);
    const events = await s.server.ctx.audit.list({ type: 'client_updated', clientId: id });
    assert.equal(events.length, 3);
  });

  it('refresh_grace: shows the grace in force; 0 turns it off, null goes back to the server default', async () => {
    const c = await call('POST', '/clients', {
      name: 'Grace',
      type: 'native',
      redirect_uris: ['http://127.0.0.1/cb'],
    });
    assert.equal(c.json['refresh_grace'], 30, 'the server default (LATCHKEY_REFRESH_GRACE)');
    assert.equal(c.json['refresh_grace_source'], 'server');
    const id = String(c.json['client_id']);
    assert.equal((await s.server.ctx.storage.clients.get(id))?.refreshGrace, null);
    const off = await call('PATCH', `/clients/${id}`, { refresh_grace: 0 });
    assert.equal(off.status, 200, JSON.stringify(off.json));
    assert.equal(off.json['refresh_grace'], 0);
    assert.equal(off.json['refresh_grace_source'], 'application');
    const back = await call('PATCH', `/clients/${id}`, { refresh_grace: null });
    assert.equal(back.json['refresh_grace'], 30);
    assert.equal(back.json['refresh_grace_source'], 'server');
    assert.equal((await s.server.ctx.storage.clients.get(id))?.refreshGrace, null);
    const own = await call('POST', '/clients', {
      name: 'Own grace',
      type: 'native',
      redirect_uris: ['http://127.0.0.1/cb'],
      refresh_grace: 10,
    });
    assert.equal(own.status, 201, JSON.stringify(own.json));
    assert.equal(own.json['refresh_grace'], 10);
    assert.equal(own.json['refresh_grace_source'], 'application');
    const bad = await call('POST', '/clients', {
      name: 'Bad grace',
      type: 'native',
      redirect_uris: ['http://127.0.0.1/cb'],
      refresh_grace: 61,
    });
    assert.equal(bad.status, 400);
  });

  it('rotates a secret: the old one then fails at /token with invalid_client', async () => {
    const c = await call('POST', '/clients', { name: 'Svc', type: 'service' });
    const id = String(c.json['client_id']);
    const old = String(c.json['client_secret']);
    const rot = await call('POST', `/clients/${id}/rotate-secret`);
    assert.equal(rot.status, 200);
    const fresh = String(rot.json['client_secret']);
    assert.notEqual(fresh, old);
    const withOld = await postForm(`${s.server.url}/token`, {
      grant_type: 'client_credentials',
      client_id: id,
      client_secret: old,
    });
    assert.equal(withOld.status, 401);
    assert.equal(withOld.json['error'], 'invalid_client');
    const withNew = await postForm(`${s.server.url}/token`, {
      grant_type: 'client_credentials',
      client_id: id,
      client_secret: fresh,
    });
    assert.equal(withNew.status, 200);
    const native = await call('POST', '/clients', {
      name: 'Pub',
      type: 'native',
      redirect_uris: ['http://127.0.0.1/cb'],
    });
    const pub = await call('POST', `/clients/${native.json['client_id']}/rotate-secret`);
    assert.equal(pub.status, 400);
    assert.match(String(pub.json['error_description']), /public/);
    assert.equal((await call('POST', '/clients/nope/rotate-secret')).status, 404);
  });

  it('deletes a client', async () => {
    const c = await call('POST', '/clients', { name: 'Doomed', type: 'service' });
    const id = String(c.json['client_id']);
    const del = await call('DELETE', `/clients/${id}`);
    assert.equal(del.status, 200);
    assert.deepEqual(del.json, { client_id: id, deleted: true });
    assert.equal((await call('GET', `/clients/${id}`)).status, 404);
    assert.equal((await call('DELETE', `/clients/${id}`)).status, 404);
    const cc = await postForm(`${s.server.url}/token`, {
      grant_type: 'client_credentials',
      client_id: id,
      client_secret: String(c.json['client_secret']),
    });
    assert.equal(cc.json['error'], 'invalid_client');
    assert.equal((await s.server.ctx.audit.list({ type: 'client_deleted', clientId: id })).length, 1);
  });

  it('creates users; a duplicate username is 409 with a clear message; bad fields 400', async () => {
    const r = await call('POST', '/users', {
      username: 'bob',
      email: 'bob@example.com',
      name: 'Bob Example',
      password: PASSWORD,
    });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    assert.equal(r.json['username'], 'bob');
    assert.equal(r.json['is_admin'], false);
    assert.equal(r.json['password'], undefined);
    assert.equal(r.json['password_hash'], undefined);
    const dup = await call('POST', '/users', { username: 'bob', password: PASSWORD });
    assert.equal(dup.status, 409);
    assert.match(String(dup.json['error_description']), /bob is taken/);
    for (const [body, msg] of [
      [{ username: 'carol', password: 'short' }, /at least 8/],
      [{ username: 'carol' }, /password is required/],
      [{ username: 'has space', password: PASSWORD }, /username/],
      [{ username: 'carol', password: PASSWORD, email: 'nope' }, /email/],
      [{ username: 'carol', password: PASSWORD, is_admin: 'yes' }, /true or false/],
      [{ username: ['carol'], password: PASSWORD }, /username must be a string/],
      [{ username: 'carol', password: PASSWORD, role: 'root' }, /Unknown field/],
    ] as const) {
      const bad = await call('POST', '/users', body);
      assert.equal(bad.status, 400, JSON.stringify(body));
      assert.match(String(bad.json['error_description']), msg);
    }
    const admin = await call('POST', '/users', { username: 'root2', password: PASSWORD, is_admin: true });
    assert.equal(admin.json['is_admin'], true);
    const bobId = String(r.json['id']);
    const granted = await call('POST', `/users/${bobId}/grant-admin`);
    assert.equal(granted.status, 200);
    assert.equal(granted.json['is_admin'], true);
    const revoked = await call('POST', `/users/${bobId}/revoke-admin`);
    assert.equal(revoked.json['is_admin'], false);
    assert.equal((await call('POST', '/users/nope/grant-admin')).status, 404);
    const one = await call('GET', `/users/${bobId}`);
    assert.equal(one.json['username'], 'bob');
    const users = await call('GET', '/users');
    assert.ok(users.list.some((u) => u['username'] === 'bob'));
  });

  it('disabling a user revokes their refresh token; enable and set password work', async () => {
    const u = await call('POST', '/users', { username: 'dave', password: PASSWORD });
    const userId = String(u.json['id']);
    const c = await call('POST', '/clients', {
      name: 'Dave app',
      type: 'native',
      redirect_uris: ['http://127.0.0.1/cb'],
    });
    const app = { clientId: String(c.json['client_id']), redirectUri: 'http://127.0.0.1/cb' };
    const { tokens } = await obtainTokens(s.server, s.as, app, { username: 'dave' });
    assert.ok(tokens.refresh_token);
    const dis = await call('POST', `/users/${userId}/disable`);
    assert.equal(dis.status, 200);
    assert.equal(dis.json['disabled'], true);
    assert.ok(Number(dis.json['grants_revoked']) >= 1);
    const refreshed = await postForm(`${s.server.url}/token`, {
      grant_type: 'refresh_token',
      client_id: app.clientId,
      refresh_token: tokens.refresh_token,
    });
    assert.equal(refreshed.status, 400);
    assert.equal(refreshed.json['error'], 'invalid_grant');
    const en = await call('POST', `/users/${userId}/enable`);
    assert.equal(en.json['disabled'], false);
    const pw = await call('POST', `/users/${userId}/password`, { password: 'another long password' });
    assert.equal(pw.status, 200);
    const short = await call('POST', `/users/${userId}/password`, { password: 'x' });
    assert.equal(short.status, 400);
    const wrongType = await call('POST', `/users/${userId}/password`, { password: 12345678 });
    assert.equal(wrongType.status, 400);
    assert.equal((await call('POST', '/users/nope/disable')).status, 404);
    assert.equal((await call('POST', `/users/${userId}/disable`, { extra: 1 })).status, 400);
    const user = await s.server.ctx.storage.users.getByUsername('dave');
    assert.equal(user?.disabled, false);
    const events = await s.server.ctx.audit.list({ userId });
    const types = events.map((e) => e.type);
    for (const t of ['user_created', 'user_disabled', 'user_enabled', 'user_password_set'])
      assert.ok(types.includes(t), `${t} in ${types.join(',')}`);
    assert.ok(events.filter((e) => e.type.startsWith('user_')).every((e) => e.detail?.['via'] === 'api'));
  });

  it('lists the audit log with filters and validates the query', async () => {
    await call('POST', '/clients', { name: 'Audited', type: 'service' });
    const all = await call('GET', '/audit');
    assert.equal(all.status, 200);
    assert.ok(all.list.length > 5);
    assert.ok(all.list.every((e) => typeof e['at'] === 'string' && typeof e['type'] === 'string'));
    const created = await call('GET', '/audit?type=client_created&limit=2');
    assert.equal(created.list.length, 2);
    assert.ok(created.list.every((e) => e['type'] === 'client_created'));
    const clientId = String(created.list[0]?.['client_id']);
    const byClient = await call('GET', `/audit?client_id=${encodeURIComponent(clientId)}`);
    assert.ok(byClient.list.length >= 1);
    assert.ok(byClient.list.every((e) => e['client_id'] === clientId));
    const dave = await s.server.ctx.storage.users.getByUsername('dave');
    const byUser = await call('GET', `/audit?user_id=${dave!.id}&type=user_disabled`);
    assert.equal(byUser.list.length, 1);
    // since: the last while (a duration); an event recorded two hours ago is outside the last hour.
    await s.server.ctx.storage.audit.record({
      id: 'two-hours-ago',
      at: s.server.ctx.clock.now() - 2 * 3600_000,
      type: 'client_deleted',
      clientId: 'gone-long-ago',
      userId: null,
      ip: null,
      detail: null,
    });
    const recent = await call('GET', '/audit?client_id=gone-long-ago&since=1h');
    assert.equal(recent.status, 200);
    assert.equal(recent.list.length, 0);
    assert.equal((await call('GET', '/audit?client_id=gone-long-ago&since=3h')).list.length, 1);
    assert.ok((await call('GET', '/audit?since=1h')).list.length > 5);
    for (const q of [
      'limit=0',
      'limit=abc',
      'limit=5000',
      'type=DROP%20TABLE',
      'type=a&type=b',
      'since=yesterday',
      'since=-1h',
    ]) {
      const bad = await call('GET', `/audit?${q}`);
      assert.equal(bad.status, 400, q);
      assert.equal(bad.json['error'], 'invalid_request');
    }
  });
});

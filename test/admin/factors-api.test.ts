/**
 * The admin API for a person's factors and sessions, and an application's MFA policy, over real
 * HTTP: GET /users/:id/factors, DELETE /users/:id/factors/:factor_id, POST
 * /users/:id/require-enrolment, POST /users/:id/logout, `mfa` on POST and PATCH /clients.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { Browser, formOf } from '../helpers/browser.js';
import { authorizePath, getCode, obtainTokens, pkce, refresh, withServer } from '../helpers/flow.js';
import { createUser, PASSWORD, type TestServer } from '../helpers/server.js';
import { addFactors, type MadeFactors } from './factors-fixture.js';

const TOKEN = 'admin-token-for-tests-0123456789';

interface Res {
  status: number;
  body: unknown;
  json: Record<string, unknown>;
}

function api(server: TestServer, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) {
  return async (method: string, path: string, body?: unknown): Promise<Res> => {
    const h: Record<string, string> = { ...headers };
    if (body !== undefined) h['content-type'] = 'application/json';
    const res = await fetch(`${server.url}/admin/api${path}`, {
      method,
      headers: h,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const parsed: unknown = text ? JSON.parse(text) : {};
    return { status: res.status, body: parsed, json: (parsed ?? {}) as Record<string, unknown> };
  };
}

describe('admin API: factors, require-enrolment, logout, application mfa', () => {
  const s = withServer({ overrides: { adminToken: TOKEN }, users: ['alice'], app: {}, discover: true });
  let call: ReturnType<typeof api>;
  let made: MadeFactors;
  const T0 = Date.parse('2026-12-01T08:00:00.000Z');

  before(async () => {
    call = api(s.server);
    made = await addFactors(s.server.ctx.storage.factors, s.user.id, T0);
  });

  it('GET /users/:id/factors: the CLI --json shape; 404 for an unknown user; needs the token', async () => {
    const r = await call('GET', `/users/${s.user.id}/factors`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, [
      {
        id: made.passkeyId,
        type: 'passkey',
        name: 'MacBook Touch ID',
        created_at: new Date(T0).toISOString(),
        last_used_at: null,
      },
      {
        id: made.totpId,
        type: 'totp',
        name: 'Authenticator app',
        created_at: new Date(T0 + 1000).toISOString(),
        last_used_at: new Date(T0 + 60_000).toISOString(),
      },
      {
        id: made.recoveryId,
        type: 'recovery_codes',
        name: 'Recovery codes (7 of 10 left)',
        created_at: new Date(T0 + 3000).toISOString(),
        last_used_at: new Date(T0 + 60_000).toISOString(),
      },
    ]);
    const unknown = await call('GET', '/users/nobody/factors');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json['error'], 'not_found');
    assert.equal((await api(s.server, {})('GET', `/users/${s.user.id}/factors`)).status, 401);
    assert.equal(
      (await api(s.server, {})('DELETE', `/users/${s.user.id}/factors/${made.passkeyId}`)).status,
      401,
    );
  });

  it('DELETE /users/:id/factors/:factor_id removes it (any type), 404 when unknown, audited', async () => {
    const bob = await createUser(s.server, 'bob');
    const other = await call('DELETE', `/users/${bob.id}/factors/${made.passkeyId}`);
    assert.equal(other.status, 404, "another person's factor is not this person's");
    assert.equal(other.json['error_description'], 'This user has no factor with this id.');
    const r = await call('DELETE', `/users/${s.user.id}/factors/${made.totpId}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.json['id'], made.totpId);
    assert.equal(r.json['type'], 'totp');
    assert.equal(r.json['removed'], true);
    const again = await call('DELETE', `/users/${s.user.id}/factors/${made.totpId}`);
    assert.equal(again.status, 404);
    const noUser = await call('DELETE', `/users/nobody/factors/${made.totpId}`);
    assert.equal(noUser.status, 404);
    assert.equal(noUser.json['error_description'], 'No user has this id.');
    const codes = await call('DELETE', `/users/${s.user.id}/factors/${made.recoveryId}`);
    assert.equal(codes.status, 200);
    const left = (await call('GET', `/users/${s.user.id}/factors`)).body as { type: string }[];
    assert.deepEqual(
      left.map((f) => f.type),
      ['passkey'],
    );
    const [event] = await s.server.ctx.audit.list({ type: 'user_factor_removed', userId: s.user.id });
    assert.deepEqual(event?.detail, {
      via: 'api',
      type: 'recovery_codes',
      id: made.recoveryId,
      name: 'Recovery codes (7 of 10 left)',
    });
  });

  it('POST /users/:id/require-enrolment: the next sign-in asks for a factor; audited', async () => {
    const carol = await createUser(s.server, 'carol');
    const r = await call('POST', `/users/${carol.id}/require-enrolment`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.json['mfa_enrolment_required'], true);
    assert.equal((await call('GET', `/users/${carol.id}`)).json['mfa_enrolment_required'], true);
    assert.equal((await call('POST', '/users/nobody/require-enrolment')).status, 404);
    assert.equal((await call('POST', `/users/${carol.id}/require-enrolment`, { now: true })).status, 400);
    // The sign-in now stops at the enrolment of a factor after the password, not at a code.
    const b = new Browser(s.server.url);
    const start = await b.get(authorizePath(s.app, pkce()));
    assert.match(String(start.location), /^\/interaction\//);
    const form = await b.get(start.location!);
    const { csrf, actions } = formOf(form.body);
    const login = actions.find((a) => a.endsWith('/login'))!;
    const signedIn = await b.post(login, { csrf, username: 'carol', password: PASSWORD });
    assert.equal(signedIn.status, 303);
    assert.match(String(signedIn.location), /^\/interaction\//, 'no code for the application yet');
    const next = await b.get(signedIn.location!);
    assert.equal(next.status, 200);
    assert.match(next.body, /authenticator app/i);
    assert.doesNotMatch(next.body, /name="password"/);
    const events = await s.server.ctx.audit.list({ type: 'user_mfa_enrolment_required', userId: carol.id });
    assert.equal(events[0]?.detail?.['via'], 'api');
  });

  it('POST /users/:id/logout: sessions end, tokens die, the account stays enabled', async () => {
    const dave = await createUser(s.server, 'dave');
    const { tokens, browser } = await obtainTokens(s.server, s.as, s.app, { username: 'dave' });
    const r = await call('POST', `/users/${dave.id}/logout`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.json['username'], 'dave');
    assert.equal(r.json['disabled'], false);
    assert.equal(r.json['sessions_ended'], 1);
    assert.equal(r.json['grants_revoked'], 1);
    assert.equal((await refresh(s.server, s.app, tokens.refresh_token!)).json['error'], 'invalid_grant');
    const userinfo = await fetch(`${s.server.url}/userinfo`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    assert.equal(userinfo.status, 401);
    assert.deepEqual(await s.server.ctx.storage.sessions.listForUser(dave.id, s.server.clock.now()), []);
    await getCode(s.server, s.app, pkce(), {}, { browser, username: 'dave' });
    assert.equal((await call('POST', '/users/nobody/logout')).status, 404);
    const [event] = await s.server.ctx.audit.list({ type: 'user_logged_out', userId: dave.id });
    assert.deepEqual(event?.detail, { via: 'api', sessions: 1, grants: 1 });
  });

  it('with the console session and X-Latchkey-CSRF, the admin is named in the audit event', async () => {
    await s.server.ctx.users.create({ username: 'root', password: PASSWORD, isAdmin: true });
    const b = new Browser(s.server.url);
    const login = await b.get('/admin/login');
    const csrf = /name="csrf" value="([^"]+)"/.exec(login.body)![1]!;
    assert.equal((await b.post('/admin/login', { csrf, username: 'root', password: PASSWORD })).status, 303);
    const home = await b.get('/admin');
    const consoleCsrf = /name="csrf" value="([^"]+)"/.exec(home.body)![1]!;
    const eve = await createUser(s.server, 'eve');
    const session = api(s.server, { cookie: b.cookieHeader(), 'x-latchkey-csrf': consoleCsrf });
    assert.equal((await session('POST', `/users/${eve.id}/logout`)).status, 200);
    const [event] = await s.server.ctx.audit.list({ type: 'user_logged_out', userId: eve.id });
    assert.deepEqual(event?.detail, { via: 'api', admin: 'root', sessions: 0, grants: 0 });
  });

  it('POST and PATCH /clients take mfa: none|optional|required, null or "inherit" (= null)', async () => {
    const created = await call('POST', '/clients', {
      name: 'MFA',
      type: 'spa',
      redirect_uris: ['https://spa.example.com/cb'],
      mfa: 'required',
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.json['mfa'], 'required');
    const id = String(created.json['client_id']);
    assert.equal((await s.server.ctx.storage.clients.get(id))?.mfa, 'required');
    const patch = async (mfa: unknown) => {
      const r = await call('PATCH', `/clients/${id}`, { mfa });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.json['mfa'];
    };
    assert.equal(await patch('none'), 'none');
    assert.equal(await patch(null), null);
    assert.equal((await s.server.ctx.storage.clients.get(id))?.mfa, undefined);
    assert.equal(await patch('optional'), 'optional');
    assert.equal(await patch('inherit'), null);
    const plain = await call('POST', '/clients', {
      name: 'Plain',
      type: 'native',
      redirect_uris: ['http://127.0.0.1/cb'],
      mfa: null,
    });
    assert.equal(plain.json['mfa'], null);
    assert.equal((await call('GET', `/clients/${plain.json['client_id']}`)).json['mfa'], null);

    const bad = await call('PATCH', `/clients/${id}`, { mfa: 'always' });
    assert.equal(bad.status, 400);
    assert.equal(
      bad.json['error_description'],
      "MFA must be none, optional, required or inherit (the server's LATCHKEY_MFA)",
    );
    assert.equal((await call('PATCH', `/clients/${id}`, { mfa: true })).status, 400);
    const service = await call('POST', '/clients', { name: 'Batch', type: 'service', mfa: 'required' });
    assert.equal(service.status, 400);
    assert.match(String(service.json['error_description']), /not service applications/);
  });
});

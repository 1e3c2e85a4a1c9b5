/** The admin console through its real HTML forms (cookies, CSRF tokens), over real HTTP. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair } from 'jose';
import { Browser, formOf } from '../helpers/browser.js';
import { obtainTokens, postForm, withServer } from '../helpers/flow.js';
import { PASSWORD, type TestServer } from '../helpers/server.js';

const decode = (s: string) =>
  s
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"');

const clientIdOf = (html: string) => {
  const id = /<code id="client-id">([^<]+)<\/code>/.exec(html)?.[1];
  assert.ok(id, 'page shows the client_id');
  return decode(id);
};
const secretOf = (html: string) => /id="client-secret"[^>]*value="([^"]+)"/.exec(html)?.[1];

async function signIn(server: TestServer, username: string, password = PASSWORD) {
  const b = new Browser(server.url);
  const page = await b.get('/admin/login');
  assert.equal(page.status, 200);
  const { csrf } = formOf(page.body);
  const r = await b.post('/admin/login', { csrf, username, password });
  return { browser: b, step: r };
}

describe('admin console', () => {
  const s = withServer({ users: ['alice'], discover: true });
  let admin: Browser;
  /** The console CSRF token of the admin browser (from any page). */
  let csrf: string;

  before(async () => {
    await s.server.ctx.users.create({ username: 'root', password: PASSWORD, isAdmin: true });
    const { browser, step } = await signIn(s.server, 'root');
    assert.equal(step.status, 303);
    assert.equal(step.location, '/admin');
    admin = browser;
    const home = await admin.get('/admin');
    assert.equal(home.status, 200);
    csrf = formOf(home.body).csrf;
  });

  it('sends visitors without a session to the sign-in page; pages carry the security headers', async () => {
    const anon = new Browser(s.server.url);
    for (const path of ['/admin', '/admin/applications', '/admin/users', '/admin/audit']) {
      const r = await anon.get(path);
      assert.equal(r.status, 303, path);
      assert.equal(r.location, '/admin/login');
    }
    const post = await anon.post('/admin/applications', { csrf: 'x', name: 'x', type: 'native' });
    assert.equal(post.status, 303);
    const login = await anon.get('/admin/login');
    assert.match(login.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    assert.equal(login.headers.get('x-frame-options'), 'DENY');
    assert.equal(login.headers.get('cache-control'), 'no-store');
    assert.match(login.headers.get('set-cookie') ?? '', /latchkey_admin_login=.*HttpOnly.*SameSite=Strict/i);
    assert.doesNotMatch(login.body, /<script|https?:\/\/(?!127\.0\.0\.1)/);
  });

  it('signs in: wrong password is refused with a message and audited; CSRF-less posts are 403', async () => {
    const b = new Browser(s.server.url);
    const page = await b.get('/admin/login');
    const { csrf: loginCsrf } = formOf(page.body);
    const wrong = await b.post('/admin/login', { csrf: loginCsrf, username: 'root', password: 'nope nope' });
    assert.equal(wrong.status, 401);
    assert.match(wrong.body, /Wrong username or password/);
    const noCookie = new Browser(s.server.url);
    const forged = await noCookie.post('/admin/login', {
      csrf: loginCsrf,
      username: 'root',
      password: PASSWORD,
    });
    assert.equal(forged.status, 403);
    assert.match(forged.body, /CSRF/);
    const badToken = await b.post('/admin/login', { csrf: 'forged', username: 'root', password: PASSWORD });
    assert.equal(badToken.status, 403);
    const failures = await s.server.ctx.audit.list({ type: 'login_failure' });
    assert.ok(
      failures.some((e) => e.detail?.['via'] === 'console' && e.detail?.['reason'] === 'wrong_password'),
    );
    const ok = await b.post('/admin/login', { csrf: loginCsrf, username: 'root', password: PASSWORD });
    assert.equal(ok.status, 303);
    const successes = await s.server.ctx.audit.list({ type: 'login_success' });
    assert.ok(successes.some((e) => e.detail?.['via'] === 'console'));
  });

  it('throttles repeated failures on the admin sign-in', async () => {
    const b = new Browser(s.server.url);
    const { csrf: c } = formOf((await b.get('/admin/login')).body);
    let last = 0;
    for (let i = 0; i < 6; i++)
      last = (await b.post('/admin/login', { csrf: c, username: 'ghost', password: 'wrong pass' })).status;
    assert.equal(last, 429);
    s.server.clock.advanceSeconds(3600);
  });

  it('gives a signed-in non-admin a 403 page, whether signed in here or through an application', async () => {
    const here = await signIn(s.server, 'alice');
    assert.equal(here.step.status, 403);
    assert.match(here.step.body, /not an administrator/);
    assert.equal((await here.browser.get('/admin')).status, 303, 'no session was started');
    // A session from the ordinary sign-in of an application.
    const b = new Browser(s.server.url);
    const app = await s.server.ctx.clients.create({
      name: 'Alice app',
      type: 'native',
      redirectUris: ['http://127.0.0.1/cb'],
    });
    await obtainTokens(
      s.server,
      s.as,
      { clientId: app.client.clientId, redirectUri: 'http://127.0.0.1/cb' },
      { browser: b },
    );
    const page = await b.get('/admin');
    assert.equal(page.status, 403);
    assert.match(page.body, /alice, which is not an administrator/);
    const api = await fetch(`${s.server.url}/admin/api/clients`, { headers: { cookie: b.cookieHeader() } });
    assert.equal(api.status, 403);
  });

  it('Add Application → Native, end to end: the new client_id works in a real authorize request', async () => {
    const form = await admin.get('/admin/applications/new');
    assert.equal(form.status, 200);
    for (const label of ['Native', 'Single-Page App', 'Web', 'Service'])
      assert.ok(form.body.includes(label), label);
    const { csrf: c, actions } = formOf(form.body);
    assert.deepEqual(
      actions.filter((a) => a === '/admin/applications'),
      ['/admin/applications'],
    );
    const created = await admin.post('/admin/applications', {
      csrf: c,
      type: 'native',
      name: 'My Native App',
      redirect_uris: 'http://127.0.0.1/callback\r\ncom.example.app:/callback\r\n',
      post_logout_redirect_uris: '',
      consent: 'none',
    });
    assert.equal(created.status, 201, created.body.slice(0, 500));
    const clientId = clientIdOf(created.body);
    assert.equal(secretOf(created.body), undefined, 'native apps have no secret');
    const stored = await s.server.ctx.storage.clients.get(clientId);
    assert.deepEqual(stored?.redirectUris, ['http://127.0.0.1/callback', 'com.example.app:/callback']);
    const list = await admin.get('/admin/applications');
    assert.ok(list.body.includes(clientId));
    assert.ok(list.body.includes('My Native App'));
    const { tokens } = await obtainTokens(s.server, s.as, {
      clientId,
      redirectUri: 'http://127.0.0.1/callback',
    });
    assert.ok(tokens.access_token);
    const events = await s.server.ctx.audit.list({ type: 'client_created', clientId });
    assert.equal(events[0]?.detail?.['via'], 'console');
    assert.equal(events[0]?.detail?.['admin'], 'root');
  });

  it('re-renders the form with a clear message on bad input (400)', async () => {
    const bad = await admin.post('/admin/applications', {
      csrf,
      type: 'native',
      name: 'Bad',
      redirect_uris: 'http://evil.example.com/cb',
      consent: 'none',
    });
    assert.equal(bad.status, 400);
    assert.match(bad.body, /class="error"/);
    assert.match(decode(bad.body), /redirect URI/i);
    assert.match(bad.body, /value="Bad"/, 'the form keeps what was typed');
    const noType = await admin.post('/admin/applications', { csrf, name: 'X', redirect_uris: '' });
    assert.equal(noType.status, 400);
    assert.match(noType.body, /Choose the platform/);
    const weird = await admin.post('/admin/applications', { csrf, type: 'mainframe', name: 'X' });
    assert.equal(weird.status, 400);
  });

  it('CSRF: a wrong or missing token is refused with 403 and changes nothing', async () => {
    const before = (await s.server.ctx.storage.clients.list()).length;
    const wrong = await admin.post('/admin/applications', {
      csrf: 'forged',
      type: 'service',
      name: 'Forged',
    });
    assert.equal(wrong.status, 403);
    assert.match(wrong.body, /CSRF/);
    const missing = await admin.post('/admin/applications', { type: 'service', name: 'Forged' });
    assert.equal(missing.status, 403);
    const twice = await admin.post(
      '/admin/applications',
      {},
      { 'content-type': 'application/x-www-form-urlencoded' },
    );
    assert.equal(twice.status, 403);
    assert.equal((await s.server.ctx.storage.clients.list()).length, before);
    const json = await fetch(`${s.server.url}/admin/applications`, {
      method: 'POST',
      headers: { cookie: admin.cookieHeader(), 'content-type': 'application/json', accept: 'text/html' },
      body: JSON.stringify({ csrf, type: 'service', name: 'Json' }),
    });
    assert.equal(json.status, 400);
  });

  it('web application: secret shown once, settings edit, rotate secret, delete with confirmation', async () => {
    const created = await admin.post('/admin/applications', {
      csrf,
      type: 'web',
      name: 'Portal',
      redirect_uris: 'https://portal.example.com/cb',
      consent: 'required',
    });
    assert.equal(created.status, 201);
    assert.match(created.body, /shown only once/);
    const clientId = clientIdOf(created.body);
    const secret = secretOf(created.body);
    assert.ok(secret && secret.length >= 40);
    const detailPath = `/admin/applications/${encodeURIComponent(clientId)}`;
    const detail = await admin.get(detailPath);
    assert.equal(detail.status, 200);
    assert.ok(!detail.body.includes(secret), 'the secret is never shown again');

    const saved = await admin.post(detailPath, {
      csrf,
      name: 'Portal 2',
      redirect_uris: 'https://portal.example.com/cb\nhttps://portal.example.com/cb2',
      post_logout_redirect_uris: 'https://portal.example.com/bye',
      consent: 'none',
      access_token_ttl: '900',
      refresh_token_ttl: '',
      refresh_idle_ttl: '86400',
      refresh_grace: '15',
      refresh_tokens: 'off',
      par: 'required',
    });
    assert.equal(saved.status, 303);
    assert.equal(saved.location, `${detailPath}?saved=1`);
    const c = await s.server.ctx.storage.clients.get(clientId);
    assert.equal(c?.name, 'Portal 2');
    assert.deepEqual(c?.redirectUris, ['https://portal.example.com/cb', 'https://portal.example.com/cb2']);
    assert.deepEqual(c?.postLogoutRedirectUris, ['https://portal.example.com/bye']);
    assert.equal(c?.consent, 'none');
    assert.equal(c?.accessTokenTtl, 900);
    assert.equal(c?.refreshTokenTtl, null);
    assert.equal(c?.refreshIdleTtl, 86400);
    assert.equal(c?.refreshGrace, 15);
    assert.deepEqual(c?.grantTypes, ['authorization_code']);
    assert.equal(c?.requirePushedAuthorizationRequests, true);
    assert.match((await admin.get(saved.location!)).body, /Settings saved/);
    assert.match(
      (await admin.get(detailPath)).body,
      /<option value="required" selected>Required: \/authorize/,
    );

    for (const [field, value, msg] of [
      ['refresh_grace', '61', /refresh grace/i],
      ['refresh_grace', 'soon', /whole number/],
      ['access_token_ttl', '5', /access token TTL/i],
      ['redirect_uris', 'http://portal.example.com/cb', /redirect URI/i],
      ['consent', 'sometimes', /Consent/],
      ['refresh_tokens', 'maybe', /Refresh tokens/],
      ['par', 'sometimes', /Pushed authorization requests/],
    ] as const) {
      const bad = await admin.post(detailPath, { csrf, [field]: value });
      assert.equal(bad.status, 400, `${field}=${value}`);
      assert.match(decode(bad.body), msg);
    }
    assert.equal((await s.server.ctx.storage.clients.get(clientId))?.refreshGrace, 15, 'nothing saved');
    assert.match((await admin.get(detailPath)).body, /In force: 15 s\./);
    // An empty grace goes back to the server default (30 s).
    assert.equal((await admin.post(detailPath, { csrf, refresh_grace: '' })).status, 303);
    assert.equal((await s.server.ctx.storage.clients.get(clientId))?.refreshGrace, null);
    assert.match((await admin.get(detailPath)).body, /In force: 30 s \(server default\)/);

    const rotated = await admin.post(`${detailPath}/rotate-secret`, { csrf });
    assert.equal(rotated.status, 200);
    const fresh = secretOf(rotated.body);
    assert.ok(fresh && fresh !== secret);
    const basic = (s: string) =>
      `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(s)}`).toString('base64')}`;
    const withOld = await postForm(
      `${s.server.url}/token`,
      { grant_type: 'authorization_code', code: 'x', redirect_uri: 'https://portal.example.com/cb' },
      { authorization: basic(secret) },
    );
    assert.equal(withOld.json['error'], 'invalid_client');
    const withNew = await postForm(
      `${s.server.url}/token`,
      { grant_type: 'authorization_code', code: 'x', redirect_uri: 'https://portal.example.com/cb' },
      { authorization: basic(fresh) },
    );
    assert.equal(withNew.json['error'], 'invalid_grant', 'the new secret authenticates');

    // Client authentication with keys, DPoP, the FAPI 2.0 profile.
    const { publicKey } = await generateKeyPair('ES256');
    const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'console-1' }] };
    const keyed = await admin.post(detailPath, {
      csrf,
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: JSON.stringify(jwks),
      jwks_uri: '',
      dpop: 'required',
    });
    assert.equal(keyed.status, 303, decode(keyed.body).slice(0, 300));
    const k = await s.server.ctx.storage.clients.get(clientId);
    assert.equal(k?.tokenEndpointAuthMethod, 'private_key_jwt');
    assert.deepEqual(k?.jwks, jwks);
    assert.equal(k?.secretHash, null, 'no secret is left behind');
    assert.equal(k?.dpopBoundAccessTokens, true);
    const keyedPage = (await admin.get(detailPath)).body;
    assert.match(keyedPage, /<option value="private_key_jwt" selected>/);
    assert.match(keyedPage, /console-1/);
    for (const [field, value, msg] of [
      ['jwks', '{not json', /JWK Set in JSON/],
      ['jwks', '{"keys":[{"kty":"EC","d":"secret"}]}', /public keys only/],
      ['jwks_uri', 'http://keys.example.com/jwks', /must use https/],
      ['profile', 'fapi3', /Profile must be fapi2/],
      ['dpop', 'sometimes', /DPoP-bound tokens/],
    ] as const) {
      const bad = await admin.post(detailPath, { csrf, [field]: value });
      assert.equal(bad.status, 400, `${field}=${value}`);
      assert.match(decode(bad.body), msg);
    }
    assert.equal((await admin.post(detailPath, { csrf, profile: 'fapi2' })).status, 303);
    assert.equal((await s.server.ctx.storage.clients.get(clientId))?.profile, 'fapi2');
    // Back to a secret method: the new secret is shown once.
    const back = await admin.post(detailPath, {
      csrf,
      profile: 'none',
      token_endpoint_auth_method: 'client_secret_basic',
    });
    assert.equal(back.status, 200);
    assert.ok(secretOf(back.body));

    const confirm = await admin.get(`${detailPath}/delete`);
    assert.equal(confirm.status, 200);
    assert.match(confirm.body, /cannot be undone/);
    const unconfirmed = await admin.post(`${detailPath}/delete`, { csrf });
    assert.equal(unconfirmed.status, 400);
    assert.ok(await s.server.ctx.storage.clients.get(clientId));
    const del = await admin.post(`${detailPath}/delete`, { csrf, confirm: 'yes' });
    assert.equal(del.status, 303);
    assert.equal(await s.server.ctx.storage.clients.get(clientId), undefined);
    assert.equal((await admin.get(detailPath)).status, 404);
    const types = (await s.server.ctx.audit.list({ clientId })).map((e) => e.type);
    for (const t of ['client_created', 'client_updated', 'client_secret_rotated', 'client_deleted'])
      assert.ok(types.includes(t), t);
  });

  it('service application: secret once and no redirect URIs', async () => {
    const created = await admin.post('/admin/applications', {
      csrf,
      type: 'service',
      name: 'Nightly job',
      redirect_uris: '',
      consent: 'none',
    });
    assert.equal(created.status, 201);
    const clientId = clientIdOf(created.body);
    const secret = secretOf(created.body)!;
    const cc = await postForm(`${s.server.url}/token`, {
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: secret,
    });
    assert.equal(cc.status, 200, JSON.stringify(cc.json));
  });

  it('users: create (duplicate → message), disable ends sessions, enable, set password', async () => {
    const form = await admin.get('/admin/users/new');
    assert.equal(form.status, 200);
    const created = await admin.post('/admin/users', {
      csrf,
      username: 'erin',
      email: 'erin@example.com',
      name: 'Erin Example',
      password: PASSWORD,
    });
    assert.equal(created.status, 303);
    const erin = await s.server.ctx.storage.users.getByUsername('erin');
    assert.ok(erin);
    assert.equal(erin.isAdmin, undefined);
    assert.equal(created.location, `/admin/users/${erin.id}?done=created`);
    const dup = await admin.post('/admin/users', { csrf, username: 'erin', password: PASSWORD });
    assert.equal(dup.status, 400);
    assert.match(dup.body, /erin is taken/);
    const short = await admin.post('/admin/users', { csrf, username: 'frank', password: 'short' });
    assert.equal(short.status, 400);
    assert.match(short.body, /at least 8 characters/);
    const withAdmin = await admin.post('/admin/users', {
      csrf,
      username: 'grace',
      password: PASSWORD,
      is_admin: 'yes',
    });
    assert.equal(withAdmin.status, 303);
    assert.equal((await s.server.ctx.storage.users.getByUsername('grace'))?.isAdmin, true);
    const list = await admin.get('/admin/users');
    assert.match(list.body, /erin@example\.com/);
    assert.match(list.body, /Erin Example/);
    assert.match(list.body, /Active/);

    // Erin signs in to an application, then is disabled: the session ends, the refresh token dies.
    const app = await s.server.ctx.clients.create({
      name: 'Erin app',
      type: 'native',
      redirectUris: ['http://127.0.0.1/cb'],
    });
    const erinBrowser = new Browser(s.server.url);
    const { tokens } = await obtainTokens(
      s.server,
      s.as,
      { clientId: app.client.clientId, redirectUri: 'http://127.0.0.1/cb' },
      { browser: erinBrowser, username: 'erin' },
    );
    const userPath = `/admin/users/${erin.id}`;
    const dis = await admin.post(`${userPath}/disable`, { csrf });
    assert.equal(dis.status, 303);
    const page = await admin.get(dis.location!);
    assert.match(page.body, /<dd id="user-status">Disabled<\/dd>/);
    assert.match(page.body, /sessions ended/);
    const refreshed = await postForm(`${s.server.url}/token`, {
      grant_type: 'refresh_token',
      client_id: app.client.clientId,
      refresh_token: tokens.refresh_token!,
    });
    assert.equal(refreshed.json['error'], 'invalid_grant');
    assert.match((await admin.get('/admin/users')).body, /Disabled/);
    const en = await admin.post(`${userPath}/enable`, { csrf });
    assert.equal(en.status, 303);
    assert.equal((await s.server.ctx.storage.users.getById(erin.id))?.disabled, false);
    const pw = await admin.post(`${userPath}/password`, { csrf, password: 'a brand new password' });
    assert.equal(pw.status, 303);
    const badPw = await admin.post(`${userPath}/password`, { csrf, password: 'x' });
    assert.equal(badPw.status, 400);
    assert.match(badPw.body, /at least 8/);
    assert.equal((await admin.get('/admin/users/nobody')).status, 404);
  });

  it('grants and withdraws the admin role; an admin cannot disable or demote themselves', async () => {
    const erin = (await s.server.ctx.storage.users.getByUsername('erin'))!;
    const grant = await admin.post(`/admin/users/${erin.id}/grant-admin`, { csrf });
    assert.equal(grant.status, 303);
    assert.equal((await s.server.ctx.storage.users.getById(erin.id))?.isAdmin, true);
    assert.match((await admin.get(grant.location!)).body, /Withdraw administrator role/);
    const revoke = await admin.post(`/admin/users/${erin.id}/revoke-admin`, { csrf });
    assert.equal(revoke.status, 303);
    assert.equal((await s.server.ctx.storage.users.getById(erin.id))?.isAdmin, undefined);
    const me = (await s.server.ctx.storage.users.getByUsername('root'))!;
    const selfDisable = await admin.post(`/admin/users/${me.id}/disable`, { csrf });
    assert.equal(selfDisable.status, 400);
    assert.match(selfDisable.body, /cannot disable your own account/);
    const selfDemote = await admin.post(`/admin/users/${me.id}/revoke-admin`, { csrf });
    assert.equal(selfDemote.status, 400);
    const still = await s.server.ctx.storage.users.getById(me.id);
    assert.equal(still?.disabled, false);
    assert.equal(still?.isAdmin, true);
    const types = (await s.server.ctx.audit.list({ userId: erin.id })).map((e) => e.type);
    assert.ok(types.includes('user_admin_granted') && types.includes('user_admin_revoked'));
  });

  it('audit page shows the events and filters by type', async () => {
    const all = await admin.get('/admin/audit');
    assert.equal(all.status, 200);
    for (const t of ['client_created', 'user_created', 'user_disabled', 'login_success'])
      assert.ok(all.body.includes(`<code>${t}</code>`), t);
    assert.match(all.body, />erin</, 'user ids are shown as usernames');
    const filtered = await admin.get('/admin/audit?type=user_disabled');
    assert.equal(filtered.status, 200);
    assert.ok(filtered.body.includes('<code>user_disabled</code>'));
    assert.ok(!filtered.body.includes('<code>client_created</code>'));
    assert.equal((await admin.get('/admin/audit?type=%3Cscript%3E')).status, 400);
  });

  it('the API accepts the console session with the X-Latchkey-CSRF header only', async () => {
    const without = await fetch(`${s.server.url}/admin/api/users`, {
      headers: { cookie: admin.cookieHeader() },
    });
    assert.equal(without.status, 403);
    const wrong = await fetch(`${s.server.url}/admin/api/users`, {
      headers: { cookie: admin.cookieHeader(), 'x-latchkey-csrf': 'nope' },
    });
    assert.equal(wrong.status, 403);
    const ok = await fetch(`${s.server.url}/admin/api/users`, {
      method: 'POST',
      headers: { cookie: admin.cookieHeader(), 'x-latchkey-csrf': csrf, 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'henry', password: PASSWORD }),
    });
    assert.equal(ok.status, 201);
    const [event] = await s.server.ctx.audit.list({
      type: 'user_created',
      userId: String((await ok.json()).id),
    });
    assert.deepEqual(event?.detail?.['via'], 'api');
    assert.deepEqual(event?.detail?.['admin'], 'root');
  });

  it('withdrawing the role takes effect on the next request of a signed-in admin', async () => {
    await s.server.ctx.users.create({ username: 'ivan', password: PASSWORD, isAdmin: true });
    const { browser } = await signIn(s.server, 'ivan');
    assert.equal((await browser.get('/admin/users')).status, 200);
    await s.server.ctx.users.setAdmin('ivan', false);
    const after = await browser.get('/admin/users');
    assert.equal(after.status, 403);
    assert.match(after.body, /not an administrator/);
  });

  it('signs out (POST with CSRF): the session ends', async () => {
    const { browser } = await signIn(s.server, 'grace');
    const home = await browser.get('/admin');
    assert.equal(home.status, 200);
    const token = formOf(home.body).csrf;
    assert.equal((await browser.post('/admin/logout', { csrf: 'bad' })).status, 403);
    const out = await browser.post('/admin/logout', { csrf: token });
    assert.equal(out.status, 303);
    assert.equal(out.location, '/admin/login');
    assert.equal((await browser.get('/admin')).status, 303);
  });
});

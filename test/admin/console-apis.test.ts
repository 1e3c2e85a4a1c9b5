/**
 * The console's APIs section (beside Applications) through its real HTML forms over HTTP, and
 * once in Chromium: the list with the default API first, Add API with scopes described in
 * words, settings (lifetime, algorithm, dynamic clients), refused input re-shown with a 400,
 * deletion behind a confirmation page (never the default API's), everything audited.
 * The browser part FAILS (never skips) when /usr/bin/chromium is missing.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser as Chromium } from 'playwright-core';
import { Browser, formOf } from '../helpers/browser.js';
import { launchChromium, requireChromium } from '../helpers/chromium.js';
import { withServer } from '../helpers/flow.js';
import { PASSWORD, startTestServer, type TestServer } from '../helpers/server.js';

const RESULTS = join(new URL('../..', import.meta.url).pathname, 'test-results');
const ORDERS = 'https://orders.example.com';
const path = (identifier: string) => `/admin/apis/${encodeURIComponent(identifier)}`;

describe('console: APIs', () => {
  const s = withServer({ users: ['alice'] });
  let admin: Browser;
  let csrf: string;

  before(async () => {
    await s.server.ctx.users.create({ username: 'root', password: PASSWORD, isAdmin: true });
    admin = new Browser(s.server.url);
    const login = await admin.get('/admin/login');
    const r = await admin.post('/admin/login', {
      csrf: formOf(login.body).csrf,
      username: 'root',
      password: PASSWORD,
    });
    assert.equal(r.status, 303);
    csrf = formOf((await admin.get('/admin')).body).csrf;
  });

  it('lists the default API; the overview counts APIs; visitors are sent to sign in', async () => {
    const home = await admin.get('/admin');
    assert.match(home.body, /<strong>1<\/strong> API</);
    assert.match(home.body, /href="\/admin\/apis"/);
    const list = await admin.get('/admin/apis');
    assert.equal(list.status, 200);
    assert.match(list.body, /data-identifier="api:\/\/default"/);
    assert.match(list.body, /Default API/);
    const anon = new Browser(s.server.url);
    for (const p of ['/admin/apis', '/admin/apis/new', path('api://default')])
      assert.equal((await anon.get(p)).location, '/admin/login', p);
    assert.equal((await anon.post('/admin/apis', { csrf: 'x', identifier: ORDERS, name: 'x' })).status, 303);
  });

  it('adds an API with described scopes, changes its settings, deletes it after confirming', async () => {
    const created = await admin.post('/admin/apis', {
      csrf,
      identifier: ORDERS,
      name: 'Orders API',
      scopes: 'orders:read=Read your orders\r\norders:write=Change your orders\r\n',
      access_token_ttl: '15m',
      token_alg: 'ES256',
      dynamic_clients_field: '1',
    });
    assert.equal(created.status, 303, created.body.slice(0, 300));
    assert.equal(created.location, `${path(ORDERS)}?created=1`);
    const api = await s.server.ctx.apis.get(ORDERS);
    assert.deepEqual(api?.scopes, [
      { value: 'orders:read', description: 'Read your orders' },
      { value: 'orders:write', description: 'Change your orders' },
    ]);
    assert.equal(api?.accessTokenTtl, 900);
    assert.equal(api?.tokenAlg, 'ES256');
    assert.equal(api?.allowDynamicClients, false);
    const shown = await admin.get(created.location!);
    assert.match(shown.body, /The API was created/);
    assert.match(shown.body, /orders:read=Read your orders/);

    const saved = await admin.post(path(ORDERS), {
      csrf,
      name: 'Orders',
      scopes: 'orders:read=Read your orders',
      access_token_ttl: '',
      token_alg: '',
      dynamic_clients_field: '1',
      allow_dynamic_clients: 'yes',
    });
    assert.equal(saved.status, 303);
    const after = await s.server.ctx.apis.get(ORDERS);
    assert.equal(after?.name, 'Orders');
    assert.equal(after?.accessTokenTtl, null, 'empty: the server default');
    assert.equal(after?.tokenAlg, null);
    assert.equal(after?.allowDynamicClients, true);
    assert.equal(after?.scopes.length, 1);

    const confirm = await admin.get(`${path(ORDERS)}/delete`);
    assert.equal(confirm.status, 200);
    const unconfirmed = await admin.post(`${path(ORDERS)}/delete`, { csrf });
    assert.equal(unconfirmed.status, 400);
    assert.ok(await s.server.ctx.apis.get(ORDERS), 'not deleted without confirming');
    const deleted = await admin.post(`${path(ORDERS)}/delete`, { csrf, confirm: 'yes' });
    assert.equal(deleted.location, '/admin/apis?deleted=1');
    assert.equal(await s.server.ctx.apis.get(ORDERS), undefined);
    const events = (await s.server.ctx.storage.audit.list({ limit: 20 })).map((e) => e.type);
    for (const t of ['api_created', 'api_updated', 'api_deleted']) assert.ok(events.includes(t), t);
  });

  it("an application's settings form sets the APIs it may ask for and the device flow", async () => {
    await s.server.ctx.apis.create({
      identifier: 'https://notes.example.com',
      name: 'Notes',
      scopes: [{ value: 'notes:read', description: 'Read your notes' }],
    });
    const { client } = await s.server.ctx.clients.create({
      name: 'TV app',
      type: 'native',
      redirectUris: ['http://127.0.0.1/callback'],
    });
    const at = `/admin/applications/${client.clientId}`;
    const form = await admin.get(at);
    assert.match(form.body, /id="allowed_apis"/);
    assert.match(form.body, /id="device_flow"/);
    const saved = await admin.post(at, {
      csrf,
      allowed_apis: 'https://notes.example.com=notes:read\r\n',
      device_flow: 'on',
    });
    assert.equal(saved.status, 303, saved.body.slice(0, 400));
    const stored = await s.server.ctx.storage.clients.get(client.clientId);
    assert.deepEqual(stored?.allowedApis, [
      { identifier: 'https://notes.example.com', scopes: ['notes:read'] },
    ]);
    assert.ok(stored?.grantTypes.includes('urn:ietf:params:oauth:grant-type:device_code'));
    const shown = await admin.get(at);
    assert.match(shown.body, /https:\/\/notes\.example\.com=notes:read<\/textarea>/);
    const bad = await admin.post(at, { csrf, allowed_apis: 'https://unknown.example.com' });
    assert.equal(bad.status, 400);
    assert.match(bad.body, /No API with identifier/);
    const off = await admin.post(at, { csrf, allowed_apis: '', device_flow: 'off' });
    assert.equal(off.status, 303);
    const after = await s.server.ctx.storage.clients.get(client.clientId);
    assert.deepEqual(after?.allowedApis ?? [], []);
    assert.ok(!after?.grantTypes.includes('urn:ietf:params:oauth:grant-type:device_code'));
  });

  it('marks a self-registered application as a third party in the list and on its page', async () => {
    const { client } = await s.server.ctx.clients.create({
      name: 'Some agent',
      type: 'native',
      redirectUris: ['http://127.0.0.1/callback'],
      registration: 'dynamic',
    });
    const list = await admin.get('/admin/applications');
    assert.match(
      list.body,
      /Some agent<\/a><span class="tag" title="Self-registered \(RFC 7591\)[^"]*">third party<\/span>/,
    );
    const page = await admin.get(`/admin/applications/${client.clientId}`);
    assert.match(
      page.body,
      /id="client-registration">Self-registered \(RFC 7591\): third party, consent always asked/,
    );
  });

  it('refuses bad input with the message and the form as typed; the default API stays', async () => {
    for (const [fields, message] of [
      [{ identifier: 'not a uri', name: 'X' }, /absolute URI/],
      [{ identifier: 'https://x.example.com#f', name: 'X' }, /fragment/],
      [{ identifier: 'https://x.example.com', name: '' }, /name/],
      [{ identifier: 'https://x.example.com', name: 'X', scopes: 'openid=Sign you in' }, /server's own/],
      [{ identifier: 'https://x.example.com', name: 'X', access_token_ttl: 'soon' }, /lifetime/],
      [{ identifier: 'https://x.example.com', name: 'X', access_token_ttl: '5' }, /60 to 86400/],
      [{ identifier: 'https://x.example.com', name: 'X', token_alg: 'HS256' }, /algorithm/],
      [{ identifier: 'api://default', name: 'X' }, /default/],
    ] as const) {
      const r = await admin.post('/admin/apis', { csrf, ...fields });
      assert.equal(r.status, 400, JSON.stringify(fields));
      assert.match(r.body, message, JSON.stringify(fields));
      assert.ok(r.body.includes(`value="${fields.identifier}"`), 'the form comes back as typed');
    }
    assert.equal((await admin.get(path('https://nowhere.example.com'))).status, 404);
    assert.equal((await admin.get(`${path('api://default')}/delete`)).status, 400);
    assert.equal((await admin.post(`${path('api://default')}/delete`, { csrf, confirm: 'yes' })).status, 400);
    const forged = await admin.post('/admin/apis', { csrf: 'wrong', identifier: ORDERS, name: 'X' });
    assert.equal(forged.status, 403);
  });
});

describe('console: APIs in a real browser', () => {
  let server: TestServer;
  let browser: Chromium;
  before(async () => {
    requireChromium();
    server = await startTestServer();
    await server.ctx.users.create({ username: 'root', password: PASSWORD, isAdmin: true });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.cleanup();
  });

  it('Add API from the APIs section, then see it listed', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${server.url}/admin`);
    await page.fill('#username', 'root');
    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForURL(`${server.url}/admin`), page.click('button[type=submit]')]);
    await page.click('nav >> text=APIs');
    await page.click('text=Add API');
    await page.fill('#identifier', ORDERS);
    await page.fill('#name', 'Orders API');
    await page.fill('#scopes', 'orders:read=Read your orders\norders:write=Change your orders');
    await page.selectOption('#token_alg', 'ES256');
    await page.click('button:has-text("Create API")');
    assert.equal(await page.textContent('#api-identifier'), ORDERS);
    assert.equal(await page.textContent('#api-scope-count'), '2');
    assert.equal(await page.textContent('#api-alg'), 'ES256');
    mkdirSync(RESULTS, { recursive: true });
    await page.screenshot({ path: join(RESULTS, 'console-api.png'), fullPage: true });
    await page.click('nav >> text=APIs');
    const rows = await page.locator('#apis tbody tr').allTextContents();
    assert.equal(rows.length, 2);
    assert.match(rows[0]!, /Default API/);
    assert.match(rows[1]!, /Orders API/);
    await page.screenshot({ path: join(RESULTS, 'console-apis.png'), fullPage: true });
    await context.close();
  });
});

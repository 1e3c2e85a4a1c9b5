/**
 * The console in a real browser (Chromium through playwright-core), keyboard and clicks only,
 * no JavaScript on our pages: sign in, Add Application → Native, see the client_id, then the
 * audit log. The stylesheet must load under the CSP (no violations reported).
 * Like test/browser, it FAILS (never skips) when /usr/bin/chromium is missing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium, requireChromium } from '../helpers/chromium.js';
import { PASSWORD, startTestServer, type TestServer } from '../helpers/server.js';

const SCREENSHOT = '/tmp/latchkey-admin-console.png';

describe('admin console in a real browser', () => {
  let server: TestServer;
  let browser: Browser;

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

  it('signs in and adds a native application with the form', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      // The 404 of the browser's own /favicon.ico request is reported as a console error too.
      if (m.type() === 'error' && !/status of 404/.test(m.text())) problems.push(m.text());
    });
    page.on('response', (r) => {
      if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) problems.push(`${r.status()} ${r.url()}`);
    });
    page.on('requestfailed', (r) => problems.push(`failed: ${r.url()}`));

    await page.goto(`${server.url}/admin`);
    assert.equal(new URL(page.url()).pathname, '/admin/login');
    await page.fill('#username', 'root');
    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForURL(`${server.url}/admin`), page.click('button[type=submit]')]);
    assert.match((await page.textContent('body')) ?? '', /Signed in as root/);

    await page.click('text=Applications');
    await page.click('text=Add Application');
    await page.check('input[name=type][value=native]');
    await page.fill('#name', 'Browser-made app');
    await page.fill('#redirect_uris', 'http://127.0.0.1/callback\ncom.example.app:/cb');
    await page.selectOption('#consent', 'required');
    await page.click('button:has-text("Create application")');
    const clientId = (await page.textContent('#client-id'))?.trim();
    assert.ok(clientId);
    assert.equal(await page.locator('#client-secret').count(), 0);
    const stored = await server.ctx.storage.clients.get(clientId);
    assert.equal(stored?.name, 'Browser-made app');
    assert.equal(stored?.consent, 'required');
    assert.deepEqual(stored?.redirectUris, ['http://127.0.0.1/callback', 'com.example.app:/cb']);

    await page.click('text=Audit log');
    assert.match((await page.textContent('table')) ?? '', /client_created/);
    // The stylesheet applied (the admin bar is a flex row), under the page's CSP.
    const barDisplay = await page.locator('.admin-bar').evaluate((el) => getComputedStyle(el).display);
    assert.equal(barDisplay, 'flex');
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    assert.deepEqual(problems, []);
    await context.close();
  });
});

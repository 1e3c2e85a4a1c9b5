/**
 * The consent page in Chromium when an application asks for two registered APIs (RFC 8707):
 * each API by its name, each scope in the registration's words, then Allow lands on the
 * callback with a code. Screenshot: test-results/consent-apis.png.
 * Without /usr/bin/chromium this test FAILS with a clear message (never skips).
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium, requireChromium } from '../helpers/chromium.js';
import { authorizeQuery, pkce } from '../helpers/flow.js';
import { createUser, PASSWORD, startTestServer, type TestServer } from '../helpers/server.js';

const RESULTS = join(new URL('../..', import.meta.url).pathname, 'test-results');

describe('consent for several APIs in a real browser', () => {
  let server: TestServer;
  let browser: Browser;
  let clientId: string;
  let callback: Server;
  let CALLBACK: string;
  const landed: URL[] = [];

  before(async () => {
    requireChromium();
    server = await startTestServer();
    await createUser(server, 'alice');
    await server.ctx.apis.create({
      identifier: 'https://orders.example.com',
      name: 'Orders API',
      scopes: [
        { value: 'orders:read', description: 'Read your orders' },
        { value: 'orders:write', description: 'Place and cancel orders' },
      ],
    });
    await server.ctx.apis.create({
      identifier: 'https://calendar.example.com',
      name: 'Calendar',
      scopes: [{ value: 'events:read', description: 'See your calendar events' }],
    });
    const { client } = await server.ctx.clients.create({
      name: 'Assistant',
      type: 'native',
      consent: 'required',
      redirectUris: ['http://127.0.0.1/callback'],
      allowedApis: [
        { identifier: 'https://orders.example.com', scopes: null },
        { identifier: 'https://calendar.example.com', scopes: null },
      ],
    });
    clientId = client.clientId;
    // The native app's loopback listener (RFC 8252 §7.3: any port).
    callback = createServer((req, res) => {
      landed.push(new URL(req.url ?? '/', 'http://127.0.0.1'));
      res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>Done</h1>');
    });
    await new Promise<void>((resolve) => callback.listen(0, '127.0.0.1', resolve));
    CALLBACK = `http://127.0.0.1:${(callback.address() as AddressInfo).port}/callback`;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (callback ? callback.close(() => resolve()) : resolve()));
    await server?.cleanup();
  });

  it('names each API and its scopes in words; Allow returns a code', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const q = authorizeQuery({ clientId, redirectUri: CALLBACK }, pkce().challenge, {
      scope: 'openid profile orders:read orders:write events:read',
      state: 'st',
    });
    q.append('resource', 'https://orders.example.com');
    q.append('resource', 'https://calendar.example.com');
    await page.goto(`${server.url}/authorize?${q}`);
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.click('button:has-text("Sign in")');
    await page.waitForSelector('h1:has-text("Allow access?")');
    const sections = await page.locator('section.consent-api').allTextContents();
    assert.equal(sections.length, 2);
    assert.match(sections[0]!, /Orders API.*Read your orders.*Place and cancel orders/s);
    assert.match(sections[1]!, /Calendar.*See your calendar events/s);
    assert.doesNotMatch(sections.join(' '), /orders:read|events:read/);
    mkdirSync(RESULTS, { recursive: true });
    await page.screenshot({ path: join(RESULTS, 'consent-apis.png'), fullPage: true });
    await Promise.all([page.waitForURL(`${CALLBACK}**`), page.click('button:has-text("Allow")')]);
    assert.ok(landed[0]?.searchParams.get('code'), 'a code at the callback');
    await context.close();
  });
});

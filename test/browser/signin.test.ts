/**
 * A real browser (Chromium through playwright-core) signs in with the keyboard: authorize URL →
 * sign-in page → loopback callback (RFC 8252 §7.3, any port) with code, state and iss.
 * CI installs Debian's chromium; without it this test FAILS with a clear message (never skips).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, requireChromium } from '../helpers/chromium.js';
import { authorizeQuery, pkce, redeem } from '../helpers/flow.js';
import { createClient, createUser, PASSWORD, startTestServer, type TestServer } from '../helpers/server.js';

const SCREENSHOT = '/tmp/latchkey-signin.png';

describe('sign-in in a real browser', () => {
  let server: TestServer;
  let browser: Browser;
  let callbackServer: Server;
  let callbackBase: string;
  const hits: URL[] = [];
  const posts: URLSearchParams[] = [];
  let app: { clientId: string; redirectUri: string };

  before(async () => {
    requireChromium();
    server = await startTestServer();
    await createUser(server, 'alice');
    app = await createClient(server, {
      type: 'native',
      name: 'Latchkey Desktop',
      redirectUris: ['http://127.0.0.1/callback'],
    });
    // The native app's loopback listener: any free port, path /callback.
    callbackServer = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => {
        body += d.toString('utf8');
      });
      req.on('end', () => {
        hits.push(new URL(req.url ?? '/', 'http://127.0.0.1'));
        if (req.method === 'POST') posts.push(new URLSearchParams(body));
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end('<!doctype html><title>Done</title><h1>Signed in. You can close this window.</h1>');
      });
    });
    await new Promise<void>((resolve) => callbackServer.listen(0, '127.0.0.1', resolve));
    callbackBase = `http://127.0.0.1:${(callbackServer.address() as AddressInfo).port}/callback`;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await new Promise<void>((resolve) =>
      callbackServer ? callbackServer.close(() => resolve()) : resolve(),
    );
    await server?.cleanup();
  });

  function authorizeUrl(state: string, challenge: string): string {
    const q = authorizeQuery({ clientId: app.clientId, redirectUri: callbackBase }, challenge, {
      scope: 'openid profile',
      state,
    });
    return `${server.url}/authorize?${q}`;
  }

  const focused = (page: Page) =>
    page.evaluate(() => {
      const el = document.activeElement as HTMLInputElement | HTMLButtonElement | null;
      return el ? `${el.tagName.toLowerCase()}:${el.getAttribute('name') ?? el.textContent?.trim()}` : '';
    });

  it('signs in with the keyboard and lands on the loopback callback with code, state and iss', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const p = pkce();
    const state = 'browser-state-é&=';
    await page.goto(authorizeUrl(state, p.challenge));
    assert.match(page.url(), /\/interaction\//);
    assert.equal(await page.title(), 'Sign in · Latchkey');
    assert.match((await page.locator('p.lead').textContent()) ?? '', /Latchkey Desktop/);

    // Labelled inputs: reachable by their labels.
    const username = page.getByLabel('Username');
    const password = page.getByLabel('Password');
    assert.equal(await username.getAttribute('name'), 'username');
    assert.equal(await password.getAttribute('type'), 'password');
    assert.equal(await username.getAttribute('autocomplete'), 'username');
    assert.equal(await password.getAttribute('autocomplete'), 'current-password');

    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // Tab order: username (autofocused) → password → Sign in.
    assert.equal(await focused(page), 'input:username');
    await page.keyboard.type('alice');
    await page.keyboard.press('Tab');
    assert.equal(await focused(page), 'input:password');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Tab');
    assert.equal(await focused(page), 'button:Sign in');
    await Promise.all([
      page.waitForURL((u) => u.href.startsWith(callbackBase)),
      page.keyboard.press('Enter'),
    ]);
    const landed = new URL(page.url());
    assert.equal(`${landed.origin}${landed.pathname}`, callbackBase);
    assert.equal(landed.searchParams.get('state'), state);
    assert.equal(landed.searchParams.get('iss'), server.issuer);
    const code = landed.searchParams.get('code');
    assert.ok(code);
    assert.ok(
      hits.some((h) => h.searchParams.get('code') === code),
      'the callback server saw the code',
    );
    assert.match((await page.locator('h1').textContent()) ?? '', /Signed in/);

    // The code is good for the app.
    const tok = await redeem(server, { clientId: app.clientId, redirectUri: callbackBase }, code, p.verifier);
    assert.equal(tok.status, 200, JSON.stringify(tok.json));

    // The browser keeps an HttpOnly session: scripts cannot read it.
    await page.goto(`${server.url}/.well-known/openid-configuration`);
    assert.equal(await page.evaluate(() => document.cookie), '');
    const cookies = await context.cookies(server.url);
    const session = cookies.find((c) => c.name === 'latchkey_session');
    assert.ok(session?.httpOnly);
    assert.equal(session?.sameSite, 'Lax');
    await context.close();
  });

  it('shows the wrong-password message, keeps the name, then signs in', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const p = pkce();
    await page.goto(authorizeUrl('s2', p.challenge));
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForLoadState();
    const alert = page.getByRole('alert');
    assert.ok(await alert.isVisible(), 'the message is shown');
    assert.equal(((await alert.textContent()) ?? '').trim(), 'Wrong username or password.');
    assert.equal(await page.getByLabel('Username').inputValue(), 'alice');
    assert.equal(await page.getByLabel('Password').inputValue(), '');
    // The password field has focus, so the user just types again.
    assert.equal(await focused(page), 'input:password');
    await page.keyboard.type(PASSWORD);
    await Promise.all([
      page.waitForURL((u) => u.href.startsWith(callbackBase)),
      page.keyboard.press('Enter'),
    ]);
    assert.ok(new URL(page.url()).searchParams.get('code'));
    await context.close();
  });

  it('two sign-in tabs in one browser: each completes (the older one is not orphaned)', async () => {
    const context = await browser.newContext();
    const first = await context.newPage();
    const second = await context.newPage();
    const p1 = pkce();
    const p2 = pkce();
    await first.goto(authorizeUrl('tab-1', p1.challenge));
    await second.goto(authorizeUrl('tab-2', p2.challenge));
    // Sign in on the tab opened first.
    await first.getByLabel('Username').fill('alice');
    await first.getByLabel('Password').fill(PASSWORD);
    await Promise.all([
      first.waitForURL((u) => u.href.startsWith(callbackBase)),
      first.getByRole('button', { name: 'Sign in', exact: true }).click(),
    ]);
    assert.equal(new URL(first.url()).searchParams.get('state'), 'tab-1');
    assert.ok(new URL(first.url()).searchParams.get('code'));
    // The second tab still works too (now via its own form; the session exists already).
    await second.getByLabel('Username').fill('alice');
    await second.getByLabel('Password').fill(PASSWORD);
    await Promise.all([
      second.waitForURL((u) => u.href.startsWith(callbackBase)),
      second.getByRole('button', { name: 'Sign in', exact: true }).click(),
    ]);
    assert.equal(new URL(second.url()).searchParams.get('state'), 'tab-2');
    await context.close();
  });

  it('response_mode=form_post: the auto-submit script runs under the CSP nonce and posts code, state, iss', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const violations: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') violations.push(m.text());
    });
    const p = pkce();
    await page.goto(`${authorizeUrl('fp-state', p.challenge)}&response_mode=form_post`);
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill(PASSWORD);
    const before = posts.length;
    await Promise.all([
      page.waitForURL((u) => u.href.startsWith(callbackBase)),
      page.getByRole('button', { name: 'Sign in', exact: true }).click(),
    ]);
    assert.equal(posts.length, before + 1, 'the callback received a POST');
    const form = posts.at(-1)!;
    assert.equal(form.get('state'), 'fp-state');
    assert.equal(form.get('iss'), server.issuer);
    const code = form.get('code');
    assert.ok(code);
    assert.equal(new URL(page.url()).search, '', 'nothing in the URL');
    assert.deepEqual(violations, [], 'no CSP violation');
    const tok = await redeem(server, { clientId: app.clientId, redirectUri: callbackBase }, code, p.verifier);
    assert.equal(tok.status, 200);
    await context.close();
  });

  it('the sign-in page runs no script and loads nothing from elsewhere', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const requested: string[] = [];
    page.on('request', (r) => {
      requested.push(r.url());
    });
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(authorizeUrl('s3', pkce().challenge));
    await page.waitForLoadState('load');
    for (const u of requested) {
      assert.ok(u.startsWith(server.url) || u.startsWith('data:'), `only own resources: ${u}`);
    }
    assert.ok(
      requested.some((u) => u.endsWith('/assets/latchkey.css')),
      'the stylesheet loaded',
    );
    assert.deepEqual(errors, [], 'no CSP violations or other console errors');
    await context.close();
  });
});

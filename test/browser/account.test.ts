/**
 * The account page in a real browser (Chromium through playwright-core) with a virtual WebAuthn
 * authenticator (Chrome DevTools Protocol: CTAP2, built in, resident keys, user verification):
 * sign in with the password, add a passkey on /account, save the recovery codes, use the passkey
 * when the page asks for it, and see it listed. Screenshots go to test-results/.
 * CI installs Debian's chromium; without it this test FAILS with a clear message (never skips).
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, requireChromium } from '../helpers/chromium.js';
import { createUser, freePort, PASSWORD, startTestServer, type TestServer } from '../helpers/server.js';

const RESULTS = join(new URL('../..', import.meta.url).pathname, 'test-results');

describe('account page in a real browser', () => {
  let server: TestServer;
  let browser: Browser;
  let base: string;

  before(async () => {
    requireChromium();
    mkdirSync(RESULTS, { recursive: true });
    // WebAuthn wants a domain for its RP ID (an IP address is none): the issuer is localhost.
    const port = await freePort();
    base = `http://localhost:${port}`;
    server = await startTestServer({ port, overrides: { issuer: base } });
    await createUser(server, 'alice');
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.cleanup();
  });

  const shot = (page: Page, name: string) =>
    page.screenshot({ path: join(RESULTS, `account-${name}.png`), fullPage: true });

  it('adds a passkey on /account with a virtual authenticator and sees it listed', async () => {
    const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`${m.text()} at ${m.location().url}`);
    });
    const requested: string[] = [];
    page.on('request', (r) => {
      requested.push(r.url());
    });
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
      },
    });

    // No session: the sign-in page of "your Latchkey account".
    await page.goto(`${base}/account`);
    assert.match(page.url(), /\/interaction\//);
    assert.match((await page.locator('p.lead').textContent()) ?? '', /your Latchkey account/);
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill(PASSWORD);
    await Promise.all([
      page.waitForURL(`${base}/account`),
      page.getByRole('button', { name: 'Sign in', exact: true }).click(),
    ]);
    assert.equal(await page.title(), 'Your account · Latchkey');
    assert.ok(await page.getByText('No passkeys yet.').isVisible());
    assert.ok(await page.getByText('This device').isVisible());
    await shot(page, '1-empty');

    // Add a passkey: the ceremony runs against the virtual authenticator.
    await Promise.all([
      page.waitForURL(`${base}/account/passkeys/new`),
      page.getByRole('link', { name: 'Add a passkey' }).click(),
    ]);
    await page.getByLabel('Name for this passkey').fill('Test laptop');
    await shot(page, '2-new-passkey');
    await Promise.all([
      page.waitForURL(`${base}/account/passkeys`),
      page.getByRole('button', { name: 'Create the passkey' }).click(),
    ]);
    // The first factor comes with recovery codes, shown once.
    assert.equal(await page.title(), 'Save your recovery codes · Latchkey');
    assert.equal(await page.locator('#recovery-codes li').count(), 10);
    await shot(page, '3-recovery-codes');
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1, 'the authenticator holds the new passkey');
    assert.equal(credentials[0]?.isResidentCredential, true);

    // With a passkey now, the page asks for it (LATCHKEY_MFA=optional): a second step.
    await page.getByRole('link', { name: 'I saved them, back to my account' }).click();
    await page.waitForURL(/\/interaction\//);
    await shot(page, '4-use-passkey');
    await Promise.all([
      page.waitForURL(`${base}/account`),
      page.getByRole('button', { name: 'Use a passkey' }).click(),
    ]);
    const item = page.locator('#passkeys li');
    assert.equal(await item.count(), 1);
    assert.match((await item.textContent()) ?? '', /Test laptop/);
    assert.match((await item.textContent()) ?? '', /last used/, 'the passkey was just used');
    assert.match((await page.locator('#recovery').textContent()) ?? '', /10 of 10/);
    await shot(page, '5-listed');

    const alice = (await server.ctx.storage.users.getByUsername('alice'))!;
    const stored = await server.ctx.storage.factors.passkeysOf(alice.id);
    assert.deepEqual(
      stored.map((p) => [p.name, p.credentialId]),
      [
        [
          'Test laptop',
          credentials[0]?.credentialId.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_'),
        ],
      ],
    );
    for (const u of requested)
      assert.ok(u.startsWith(base) || u.startsWith('data:'), `only own resources: ${u}`);
    // The browser asks for /favicon.ico by itself (the server has none: a 404 in the console).
    assert.deepEqual(
      errors.filter((e) => !e.endsWith('/favicon.ico')),
      [],
      'no CSP violation or other console error',
    );
    await context.close();
  });
});

/**
 * The user page's factors and the application form's MFA select in a real browser (Chromium
 * through playwright-core), clicks only and no JavaScript: remove a lost authenticator app,
 * require a factor at the next sign-in, sign out everywhere, set an application's MFA policy.
 * Screenshots of both pages go to test-results/. Like test/browser, it FAILS (never skips) when
 * /usr/bin/chromium is missing.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, requireChromium } from '../helpers/chromium.js';
import { ROOT } from '../helpers/cli.js';
import { PASSWORD, startTestServer, type TestServer } from '../helpers/server.js';
import { addFactors, type MadeFactors } from './factors-fixture.js';

const RESULTS = join(ROOT, 'test-results');

describe('admin console factors and MFA in a real browser', () => {
  let server: TestServer;
  let browser: Browser;
  let userId: string;
  let clientId: string;
  let made: MadeFactors;

  before(async () => {
    requireChromium();
    mkdirSync(RESULTS, { recursive: true });
    server = await startTestServer();
    await server.ctx.users.create({ username: 'root', password: PASSWORD, isAdmin: true });
    const alice = await server.ctx.users.create({
      username: 'alice',
      password: PASSWORD,
      email: 'alice@example.com',
      name: 'Alice Example',
    });
    userId = alice.id;
    made = await addFactors(server.ctx.storage.factors, alice.id, Date.parse('2026-12-01T08:00:00Z'));
    const { client } = await server.ctx.clients.create({
      name: 'Payroll portal',
      type: 'web',
      redirectUris: ['https://payroll.example.com/callback'],
    });
    clientId = client.clientId;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.cleanup();
  });

  /** A signed-in admin page with problem reporting (console errors, 4xx/5xx, failed loads). */
  async function adminPage(): Promise<{ page: Page; problems: string[]; close: () => Promise<void> }> {
    const context = await browser.newContext({
      javaScriptEnabled: false,
      viewport: { width: 1200, height: 900 },
    });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' && !/status of 404/.test(m.text())) problems.push(m.text());
    });
    page.on('response', (r) => {
      if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) problems.push(`${r.status()} ${r.url()}`);
    });
    page.on('requestfailed', (r) => problems.push(`failed: ${r.url()}`));
    await page.goto(`${server.url}/admin/login`);
    await page.fill('#username', 'root');
    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForURL(`${server.url}/admin`), page.click('button[type=submit]')]);
    return { page, problems, close: () => context.close() };
  }

  it("a user's factors: remove one, require a factor, sign out everywhere", async () => {
    const { page, problems, close } = await adminPage();
    await page.click('nav >> text=Users');
    await page.click('a:has-text("alice")');
    assert.equal(new URL(page.url()).pathname, `/admin/users/${userId}`);
    const rows = page.locator('#factors tbody tr');
    assert.equal(await rows.count(), 3);
    assert.match((await rows.nth(0).textContent()) ?? '', /PasskeyMacBook Touch ID/);
    assert.match((await rows.nth(2).textContent()) ?? '', /Recovery codes \(7 of 10 left\)/);
    await page.screenshot({ path: join(RESULTS, 'admin-user-factors.png'), fullPage: true });

    // The lost phone: its authenticator app goes.
    await page.click('button[aria-label="Remove Authenticator app (TOTP): Authenticator app"]');
    assert.match((await page.textContent('.notice')) ?? '', /Factor removed/);
    assert.equal(await rows.count(), 2);
    assert.deepEqual(
      (await server.ctx.storage.factors.totpOf(userId)).map((t) => t.id),
      [made.pendingTotpId],
    );

    await page.click('button:has-text("Require a factor at next sign-in")');
    assert.match((await page.textContent('#mfa-enrolment')) ?? '', /Required/);
    assert.equal(
      await page.locator('button:has-text("Require a factor at next sign-in")').isDisabled(),
      true,
    );
    assert.equal((await server.ctx.storage.users.getById(userId))?.mfaEnrolRequired, true);

    await page.click('button:has-text("Sign out everywhere")');
    assert.match((await page.textContent('.notice')) ?? '', /Signed out everywhere/);
    assert.equal((await page.textContent('#user-status'))?.trim(), 'Active');
    await page.screenshot({ path: join(RESULTS, 'admin-user-after-actions.png'), fullPage: true });
    assert.deepEqual(problems, []);
    await close();
  });

  it("an application's MFA select: Inherit, then Required, saved", async () => {
    const { page, problems, close } = await adminPage();
    await page.click('nav >> text=Applications');
    await page.click('a:has-text("Payroll portal")');
    assert.equal(await page.inputValue('#mfa'), 'inherit');
    const options = await page.locator('#mfa option').allTextContents();
    assert.deepEqual(
      options.map((o) => o.split(':')[0]),
      ['Inherit server default (LATCHKEY_MFA', 'None', 'Optional', 'Required'],
    );
    await page.selectOption('#mfa', 'required');
    await page.screenshot({ path: join(RESULTS, 'admin-application-mfa.png'), fullPage: true });
    // Every field of the settings form is styled as the others (an unstyled input stood out once).
    const width = (sel: string) => page.locator(sel).evaluate((el) => el.getBoundingClientRect().width);
    assert.equal(Math.round(await width('#jwks_uri')), Math.round(await width('#jwks')));
    await page.click('button:has-text("Save settings")');
    assert.match((await page.textContent('.notice')) ?? '', /Settings saved/);
    assert.equal(await page.inputValue('#mfa'), 'required');
    assert.equal((await server.ctx.storage.clients.get(clientId))?.mfa, 'required');
    await page.selectOption('#mfa', 'inherit');
    await page.click('button:has-text("Save settings")');
    assert.equal((await server.ctx.storage.clients.get(clientId))?.mfa, undefined);
    assert.deepEqual(problems, []);
    await close();
  });
});

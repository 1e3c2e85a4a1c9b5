/**
 * The device authorization grant (RFC 8628) in a real browser (Chromium through playwright-core):
 * the device asks for codes, the person opens verification_uri_complete, submits the prefilled
 * code, signs in with a password, checks the user code on the confirmation page and approves;
 * the device's next poll gets tokens. Screenshots of the pages go to test-results/. CI installs
 * Debian's chromium; without it this test FAILS with a clear message (never skips).
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { DEVICE_CODE_GRANT } from '../../src/protocol/device.js';
import { launchChromium, requireChromium } from '../helpers/chromium.js';
import { createDeviceClient } from '../helpers/device.js';
import { postForm, postToken } from '../helpers/flow.js';
import { createUser, PASSWORD, startTestServer, type TestServer } from '../helpers/server.js';

const RESULTS = join(new URL('../..', import.meta.url).pathname, 'test-results');

describe('device authorization in a real browser', () => {
  let server: TestServer;
  let browser: Browser;
  let tv: { clientId: string };

  before(async () => {
    requireChromium();
    mkdirSync(RESULTS, { recursive: true });
    server = await startTestServer();
    await createUser(server, 'alice');
    tv = await createDeviceClient(server, { name: 'Living Room TV' });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.cleanup();
  });

  it('opens the link, signs in, sees the code, approves; the device gets its tokens', async () => {
    const started = await postForm(`${server.url}/device_authorization`, {
      client_id: tv.clientId,
      scope: 'openid profile',
    });
    assert.equal(started.status, 200, JSON.stringify(started.json));
    const codes = started.json as {
      device_code: string;
      user_code: string;
      verification_uri_complete: string;
    };

    const context = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      // A missing /favicon.ico is the browser's own request, not the page's.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text());
    });
    const failed: string[] = [];
    page.on('response', (r) => {
      if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) failed.push(`${r.status()} ${r.url()}`);
    });
    const outside: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(server.url)) outside.push(r.url());
    });

    await page.goto(codes.verification_uri_complete);
    assert.equal(await page.title(), 'Connect a device · Latchkey');
    assert.equal(await page.getByLabel('Code').inputValue(), codes.user_code, 'prefilled');
    await page.screenshot({ path: join(RESULTS, 'device-code.png'), fullPage: true });
    await Promise.all([
      page.waitForURL(/\/interaction\//),
      page.getByRole('button', { name: 'Continue' }).click(),
    ]);

    assert.match((await page.locator('p.lead').textContent()) ?? '', /Living Room TV/);
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill(PASSWORD);
    await Promise.all([
      page.waitForLoadState(),
      page.getByRole('button', { name: 'Sign in', exact: true }).click(),
    ]);
    await page.getByRole('button', { name: 'Approve' }).waitFor();
    assert.equal(await page.title(), 'Approve a device · Latchkey');
    // RFC 8628 §5.4: the code is there to compare with the device's.
    assert.equal(((await page.locator('p.user-code').textContent()) ?? '').trim(), codes.user_code);
    await page.screenshot({ path: join(RESULTS, 'device-confirm.png'), fullPage: true });

    await Promise.all([page.waitForLoadState(), page.getByRole('button', { name: 'Approve' }).click()]);
    await page.getByRole('heading', { name: 'Device approved' }).waitFor();
    assert.match((await page.locator('p.lead').textContent()) ?? '', /You can return to your device/);
    await page.screenshot({ path: join(RESULTS, 'device-done.png'), fullPage: true });

    assert.deepEqual(errors, [], 'no console errors (CSP)');
    assert.deepEqual(failed, [], 'every resource of the pages loads');
    assert.deepEqual(outside, [], 'no third-party requests');
    await context.close();

    const tokens = await postToken(server, {
      grant_type: DEVICE_CODE_GRANT,
      device_code: codes.device_code,
      client_id: tv.clientId,
    });
    assert.equal(tokens.status, 200, JSON.stringify(tokens.json));
    assert.equal(typeof tokens.json['id_token'], 'string');
  });
});

/**
 * Passkeys in a real browser (Chromium through playwright-core) with a CDP virtual authenticator
 * (CTAP2, resident keys, user verification): after a password sign-in the person adds a passkey
 * (LATCHKEY_PASSKEY_ENROLMENT=suggest), signs out, and signs in with the passkey and no
 * username or password; the ID token says how (RFC 8176). A replayed assertion and one made for
 * another origin are refused, and nothing is signed in by them. A step-up: signed in with a
 * password, an application asks acr_values=urn:latchkey:acr:mfa, and the second-factor page
 * follows (a passkey made in-process and handed to the virtual authenticator answers it).
 * Screenshots go to test-results/.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { totpCodeAt } from '../../src/auth/totp.js';
import { launchChromium, requireChromium } from '../helpers/chromium.js';
import { authorizeQuery, pkce, redeem } from '../helpers/flow.js';
import {
  createClient,
  createUser,
  freePort,
  PASSWORD,
  startTestServer,
  type TestServer,
} from '../helpers/server.js';
import { SoftAuthenticator } from '../helpers/webauthn.js';

const SHOTS = 'test-results';

describe('passkeys in a real browser', () => {
  let server: TestServer;
  let browser: Browser;
  let callbackServer: Server;
  let callbackBase: string;
  let app: { clientId: string; redirectUri: string };

  before(async () => {
    requireChromium();
    mkdirSync(SHOTS, { recursive: true });
    // WebAuthn's RP ID must be a domain: the issuer is http://localhost:<port> (loopback).
    const port = await freePort();
    server = await startTestServer({
      port,
      overrides: { issuer: `http://localhost:${port}`, passkeyEnrolment: 'suggest' },
    });
    await createUser(server, 'alice');
    app = await createClient(server, { type: 'native', name: 'Latchkey Desktop', consent: 'none' });
    callbackServer = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><title>Done</title><h1>Signed in.</h1>');
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

  function authorizeUrl(
    challenge: string,
    extra: Record<string, string> = {},
    clientId = app.clientId,
  ): string {
    const q = authorizeQuery({ clientId, redirectUri: callbackBase }, challenge, {
      scope: 'openid profile',
      state: 'passkey-state',
      ...extra,
    });
    return `${server.issuer}/authorize?${q}`;
  }

  /** A page with a virtual authenticator that verifies the person (a platform passkey). */
  async function withAuthenticator(
    context: BrowserContext,
  ): Promise<{ page: Page; cdp: CDPSession; id: string }> {
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    return { page, cdp, id: authenticatorId };
  }

  /** A form post with this browser's cookies, from outside the page (its CSP allows no fetch). */
  async function postAs(context: BrowserContext, action: string, form: Record<string, string>) {
    const cookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    const r = await fetch(new URL(action, server.issuer), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
      body: new URLSearchParams(form).toString(),
      redirect: 'manual',
    });
    return { status: r.status, body: await r.text() };
  }

  const codeOf = (url: string) => {
    const u = new URL(url);
    assert.equal(u.origin + u.pathname, callbackBase, url);
    assert.equal(u.searchParams.get('iss'), server.issuer);
    return u.searchParams.get('code')!;
  };

  it('adds a passkey after the password, then signs in with it alone: amr hwk/swk, user, mfa, no pwd', async () => {
    const context = await browser.newContext();
    const { page, cdp, id } = await withAuthenticator(context);

    // 1. A password sign-in; the suggestion to add a passkey follows.
    const first = pkce();
    await page.goto(authorizeUrl(first.challenge));
    await page.getByRole('button', { name: 'Sign in with a passkey' }).waitFor();
    assert.equal(await page.getByLabel('Username').getAttribute('autocomplete'), 'username webauthn');
    await page.screenshot({ path: `${SHOTS}/passkey-sign-in-page.png` });
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Add a passkey' }).waitFor();
    await page.getByLabel('Name for this passkey').fill('Test laptop');
    await page.screenshot({ path: `${SHOTS}/passkey-enrolment.png` });
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    // A first factor comes with recovery codes, shown once.
    await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
    assert.equal(await page.locator('#recovery-codes li').count(), 10);
    await page.screenshot({ path: `${SHOTS}/passkey-recovery-codes.png` });
    await page.getByRole('button', { name: 'I saved them, continue' }).click();
    // Now the person has a second factor, and the default policy (optional) asks for it: the new
    // passkey, at once.
    await page.getByRole('heading', { name: "Verify it's you" }).waitFor();
    await page.screenshot({ path: `${SHOTS}/passkey-second-factor.png` });
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    await page.waitForURL((u) => u.href.startsWith(callbackBase));
    const pwd = await redeem(
      server,
      { clientId: app.clientId, redirectUri: callbackBase },
      codeOf(page.url()),
      first.verifier,
    );
    const firstAmr = decodeJwt(String(pwd.json.id_token)).amr as string[];
    assert.equal(firstAmr[0], 'pwd');
    assert.ok(firstAmr.includes('mfa'), firstAmr.join(' '));

    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId: id });
    assert.equal(credentials.length, 1, 'the authenticator holds the new passkey');
    assert.equal(credentials[0]?.isResidentCredential, true, 'discoverable');
    const user = (await server.ctx.storage.users.getByUsername('alice'))!;
    const [stored] = await server.ctx.storage.factors.passkeysOf(user.id);
    assert.equal(stored?.name, 'Test laptop');
    assert.equal(
      stored?.credentialId,
      credentials[0]?.credentialId.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''),
    );

    // 2. Signed out (the session cookie gone), then the passkey alone.
    await context.clearCookies();
    const second = pkce();
    await page.goto(authorizeUrl(second.challenge));
    const posted = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/passkey'));
    // The button, or the username field's autofill (conditional mediation), which the virtual
    // authenticator may answer first: either posts the assertion.
    const clicked = page
      .getByRole('button', { name: 'Sign in with a passkey' })
      .click({ timeout: 10_000 })
      .catch(() => undefined);
    const assertion = new URLSearchParams((await posted).postData() ?? '');
    await clicked;
    await page.waitForURL((u) => u.href.startsWith(callbackBase));
    const tokens = await redeem(
      server,
      { clientId: app.clientId, redirectUri: callbackBase },
      codeOf(page.url()),
      second.verifier,
    );
    assert.equal(tokens.status, 200);
    const idToken = decodeJwt(String(tokens.json.id_token));
    const method = stored?.backupEligible ? 'swk' : 'hwk';
    assert.deepEqual(idToken.amr, [method, 'user', 'mfa']);
    assert.equal(idToken.acr, 'urn:latchkey:acr:phr');
    assert.equal(idToken.sub, user.id);
    assert.ok((await server.ctx.storage.factors.passkeysOf(user.id))[0]?.lastUsedAt, 'last used recorded');

    // 3. The same assertion again, in a new sign-in (another browser, no authenticator to answer
    // the autofill): its challenge is spent.
    const other = await browser.newContext();
    const bare = await other.newPage();
    await bare.goto(authorizeUrl(pkce().challenge));
    const csrf = await bare.locator('form[data-webauthn] input[name=csrf]').getAttribute('value');
    const action = await bare.locator('form[data-webauthn]').getAttribute('action');
    const replay = await postAs(other, action!, { csrf: csrf!, credential: assertion.get('credential')! });
    assert.equal(replay.status, 400);
    assert.match(replay.body, /expired or was already used/);

    // 4. An assertion whose client data names another origin (the same credential, a live challenge).
    const live = JSON.parse((await bare.locator('form[data-webauthn]').getAttribute('data-options'))!) as {
      challenge: string;
    };
    const forged = JSON.parse(assertion.get('credential')!) as { response: { clientDataJSON: string } };
    const clientData = JSON.parse(Buffer.from(forged.response.clientDataJSON, 'base64url').toString('utf8'));
    forged.response.clientDataJSON = Buffer.from(
      JSON.stringify({ ...clientData, challenge: live.challenge, origin: 'https://evil.example' }),
    ).toString('base64url');
    const wrongOrigin = await postAs(other, action!, { csrf: csrf!, credential: JSON.stringify(forged) });
    assert.equal(wrongOrigin.status, 400);
    assert.match(wrongOrigin.body, /could not be verified/);
    assert.equal(
      (await other.cookies()).some((c) => c.name === 'latchkey_session'),
      false,
      'nobody signed in',
    );
    const failures = await server.ctx.storage.audit.list({ type: 'passkey_failure', userId: user.id });
    assert.ok(
      failures.some((e) => /origin/i.test(JSON.stringify(e.detail))),
      JSON.stringify(failures),
    );
    await other.close();
    await context.close();
  });

  it('step-up: signed in with a password, an application asks acr_values=mfa and gets the second step', async () => {
    // bob has a passkey (made by a software authenticator and registered here), an authenticator
    // app and recovery codes; the application asks for nothing more than a password itself.
    const bob = await createUser(server, 'bob');
    const user = (await server.ctx.storage.users.getById(bob.id))!;
    const key = new SoftAuthenticator(server.issuer);
    const options = await server.ctx.factors.passkeys.registrationOptions(user, 'test-setup');
    await server.ctx.factors.passkeys.register(user, 'test-setup', JSON.stringify(key.create(options)));
    const totp = await server.ctx.factors.totp.startEnrolment(user);
    server.clock.advanceSeconds(-30);
    await server.ctx.factors.totp.confirm(
      user,
      totp.factor.id,
      totpCodeAt(totp.secret, server.clock.now()),
      '::1',
    );
    server.clock.advanceSeconds(30);
    await server.ctx.factors.recovery.regenerateIfNone(user.id);
    const reports = await createClient(server, { type: 'native', name: 'Latchkey Reports', consent: 'none' });
    await server.ctx.storage.clients.update(reports.clientId, { mfa: 'none' });
    const client = { clientId: reports.clientId, redirectUri: callbackBase };

    // 1. The password alone (the browser's authenticator holds no passkey yet, so the sign-in
    // page's autofill cannot answer first).
    const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
    const { page, cdp, id } = await withAuthenticator(context);
    const first = pkce();
    await page.goto(authorizeUrl(first.challenge, {}, reports.clientId));
    await page.getByLabel('Username').fill('bob');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL((u) => u.href.startsWith(callbackBase));
    const pwd = await redeem(server, client, codeOf(page.url()), first.verifier);
    assert.equal(decodeJwt(String(pwd.json.id_token)).acr, 'urn:latchkey:acr:pwd');

    // 2. The application asks for more: the session's person is asked for the second step only.
    const credential = key.credentials.values().next().value!;
    await cdp.send('WebAuthn.addCredential', {
      authenticatorId: id,
      credential: {
        credentialId: Buffer.from(credential.id, 'base64url').toString('base64'),
        isResidentCredential: true,
        rpId: credential.rpId,
        privateKey: credential.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
        userHandle: Buffer.from(credential.userHandle, 'base64url').toString('base64'),
        signCount: credential.counter,
      },
    });
    const second = pkce();
    await page.goto(authorizeUrl(second.challenge, { acr_values: 'urn:latchkey:acr:mfa' }, reports.clientId));
    await page.getByRole('heading', { name: "Verify it's you" }).waitFor();
    assert.match(
      (await page.locator('p.lead').textContent()) ?? '',
      /Signing in to Latchkey Reports as bob needs a second step\./,
    );
    assert.equal(await page.getByLabel('Password').count(), 0, 'no password again');
    assert.ok(await page.getByRole('button', { name: 'Use a passkey' }).isVisible());
    assert.ok(await page.getByLabel('Code from your authenticator app').isVisible());
    assert.ok(await page.getByText('Lost your device? Use a recovery code').isVisible());
    await page.screenshot({ path: `${SHOTS}/passkey-step-up.png`, fullPage: true });
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    await page.waitForURL((u) => u.href.startsWith(callbackBase));
    const up = await redeem(server, client, codeOf(page.url()), second.verifier);
    const idToken = decodeJwt(String(up.json.id_token));
    // More than asked: a passkey that verified the person is phishing-resistant.
    assert.equal(idToken.acr, 'urn:latchkey:acr:phr');
    assert.deepEqual(idToken.amr, ['pwd', 'hwk', 'user', 'mfa']);
    assert.equal(idToken.sub, bob.id);
    await context.close();
  });
});

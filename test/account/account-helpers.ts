/**
 * The account page's tests share these: a browser that sends a User-Agent of its choosing, the
 * sign-in to /account through the real sign-in steps, and readings of the account pages.
 */
import assert from 'node:assert/strict';
import { totpCodeAt } from '../../src/auth/totp.js';
import { Browser, formOf, type Step } from '../helpers/browser.js';
import { PASSWORD, type TestServer } from '../helpers/server.js';

export const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';
export const SAFARI_IOS =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

/** A Browser that sends the same User-Agent with every request. */
export class Device extends Browser {
  constructor(
    base: string,
    readonly userAgent = FIREFOX,
  ) {
    super(base);
  }
  override get(url: string, headers: Record<string, string> = {}): Promise<Step> {
    return super.get(url, { 'user-agent': this.userAgent, ...headers });
  }
  override post(
    url: string,
    form: Record<string, string>,
    headers: Record<string, string> = {},
  ): Promise<Step> {
    return super.post(url, form, { 'user-agent': this.userAgent, ...headers });
  }
}

/** Posts a page's form whose action ends with `suffix`, with its CSRF token and `fields`. */
export async function submit(
  b: Browser,
  page: Step,
  suffix: string,
  fields: Record<string, string> = {},
): Promise<Step> {
  const { csrf, actions } = formOf(page.body);
  const action = actions.find((a) => a.endsWith(suffix));
  assert.ok(action, `a form posting to …${suffix}: ${actions.join(', ')}`);
  return b.post(action, { csrf, ...fields });
}

/** Follows 303s within this server (at most 8), returning the first answer that is not one. */
export async function follow(b: Browser, step: Step): Promise<Step> {
  let s = step;
  for (let i = 0; i < 8 && s.status === 303 && s.location?.startsWith('/'); i++) s = await b.get(s.location);
  return s;
}

/**
 * Signs in on an interaction page that asks for a password (and a one-time code after it, when
 * `totpSecret` is given); returns the answer to the last post (a 303 to the account page).
 */
export async function passwordSteps(
  server: TestServer,
  b: Browser,
  page: Step,
  username: string,
  opts: { password?: string; totpSecret?: string } = {},
): Promise<Step> {
  assert.equal(page.status, 200, page.body.slice(0, 300));
  assert.match(page.body, /name="password"/, 'a password page');
  let r = await submit(b, page, '/login', { username, password: opts.password ?? PASSWORD });
  if (opts.totpSecret !== undefined) {
    assert.equal(r.status, 303);
    const factor = await b.get(r.location!);
    assert.match(factor.body, /Code from your authenticator app/);
    r = await submit(b, factor, '/otp', { code: totpCodeAt(opts.totpSecret, server.clock.now()) });
  }
  return r;
}

/** A new device signed in to /account as `username`; returns it and the account page. */
export async function signInToAccount(
  server: TestServer,
  username: string,
  opts: { userAgent?: string; totpSecret?: string; device?: Device } = {},
): Promise<{ b: Device; page: Step }> {
  const b = opts.device ?? new Device(server.url, opts.userAgent);
  const start = await b.get('/account');
  assert.equal(start.status, 303, start.body.slice(0, 300));
  assert.match(start.location ?? '', /^\/interaction\//);
  const done = await passwordSteps(server, b, await b.get(start.location!), username, opts);
  assert.equal(done.status, 303, done.body.slice(0, 300));
  assert.equal(done.location, '/account');
  const page = await b.get('/account');
  assert.equal(page.status, 200, page.body.slice(0, 300));
  return { b, page };
}

/** The secret and factor id of an authenticator-app set-up page. */
export function totpSetup(page: Step): { secret: string; factor: string } {
  const secret = /id="totp-secret">([^<]+)</.exec(page.body)?.[1]?.replace(/\s/g, '');
  const factor = /name="factor" value="([^"]+)"/.exec(page.body)?.[1];
  assert.ok(secret && factor, page.body.slice(0, 500));
  return { secret, factor };
}

/** The recovery codes shown on a page. */
export const recoveryCodes = (page: Step): string[] =>
  [...page.body.matchAll(/<li><code>([a-z2-7]{5}-[a-z2-7]{5})<\/code><\/li>/g)].map((m) => m[1]!);

/** Sets up an authenticator app on the account page; returns its secret. */
export async function enrolTotp(server: TestServer, b: Browser, page: Step): Promise<string> {
  const start = await submit(b, page, '/account/totp');
  assert.equal(start.status, 303);
  assert.equal(start.location, '/account/totp');
  const setup = await b.get('/account/totp');
  const { secret } = totpSetup(setup);
  const r = await submit(b, setup, '/account/totp/confirm', {
    factor: totpSetup(setup).factor,
    code: totpCodeAt(secret, server.clock.now()),
  });
  assert.ok(r.status === 200 || r.status === 303, r.body.slice(0, 300));
  // The code is used now: a later one-time code must come from a later time step.
  server.clock.advanceSeconds(30);
  return secret;
}

/** The text of the page without its tags (for reading what a person sees). */
export const textOf = (html: string): string =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#x27;|&#39;/g, "'")
    .replace(/\s+/g, ' ');

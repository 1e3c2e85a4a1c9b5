/**
 * The device authorization grant (RFC 8628) over real HTTP: the device authorization request
 * (§3.1, §3.2) and its refusals, polling at /token (§3.4, §3.5: authorization_pending, slow_down,
 * expired_token, access_denied, one use), and the person's side through the real pages: the code
 * form, sign-in with a password (or the browser's session), the confirmation page with the user
 * code, Approve or Deny. RFC 8707 resources carry through to the access token's audience. Time
 * moves on the server's ManualClock; nothing sleeps.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { totpCodeAt } from '../../src/auth/totp.js';
import { DEVICE_CODE_GRANT } from '../../src/protocol/device.js';
import { databaseForTests } from '../../src/storage/index.js';
import { Browser, formOf } from '../helpers/browser.js';
import { PG_SKIP } from '../helpers/databases.js';
import { approveInBrowser, createDeviceClient } from '../helpers/device.js';
import {
  assertErrorPage,
  assertRfcError,
  basic,
  postForm,
  postToken,
  type Reply,
  withServer,
} from '../helpers/flow.js';
import { createClient, createUser, PASSWORD, type TestServer } from '../helpers/server.js';

const ORDERS = 'https://orders.example.com';
const BILLING = 'https://billing.example.com';

interface Codes {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

const authorizeDevice = (
  server: TestServer,
  form: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<Reply> => postForm(`${server.url}/device_authorization`, form, headers);

async function codesFor(server: TestServer, clientId: string, extra: Record<string, string> = {}) {
  const r = await authorizeDevice(server, { client_id: clientId, scope: 'openid', ...extra });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json as unknown as Codes;
}

/** A resource parameter repeated (postForm takes one value per name). */
async function authorizeWithResources(
  server: TestServer,
  clientId: string,
  scope: string,
  resources: string[],
) {
  const body = new URLSearchParams({ client_id: clientId, scope });
  for (const r of resources) body.append('resource', r);
  const res = await fetch(`${server.url}/device_authorization`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: body.toString(),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

const poll = (server: TestServer, clientId: string, deviceCode: string, extra: Record<string, string> = {}) =>
  postToken(server, {
    grant_type: DEVICE_CODE_GRANT,
    device_code: deviceCode,
    client_id: clientId,
    ...extra,
  });

describe('device authorization grant (RFC 8628)', () => {
  const s = withServer({ users: ['alice'], discover: true });
  let tv: { clientId: string };
  let box: { clientId: string; secret?: string };
  let plain: { clientId: string };

  before(async () => {
    await s.server.ctx.apis.create({
      identifier: ORDERS,
      name: 'Orders API',
      scopes: [{ value: 'orders:read', description: 'Read your orders' }],
    });
    await s.server.ctx.apis.create({ identifier: BILLING, name: 'Billing', scopes: [] });
    tv = await createDeviceClient(s.server, { allowedApis: [{ identifier: ORDERS, scopes: null }] });
    box = await createDeviceClient(s.server, { name: 'Set-top box', confidential: true });
    plain = await createClient(s.server, { type: 'native' });
  });

  const issuer = () => s.server.issuer;
  const clock = () => s.server.clock;

  it('discovery names the endpoint and the grant (RFC 8628 §4)', () => {
    assert.equal(s.as.device_authorization_endpoint, `${issuer()}/device_authorization`);
    assert.ok(s.as.grant_types_supported?.includes(DEVICE_CODE_GRANT));
  });

  it('answers the device authorization request as §3.2 says, never cached', async () => {
    const r = await authorizeDevice(s.server, { client_id: tv.clientId, scope: 'openid profile' });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    const c = r.json as unknown as Codes;
    assert.deepEqual(Object.keys(c).sort(), [
      'device_code',
      'expires_in',
      'interval',
      'user_code',
      'verification_uri',
      'verification_uri_complete',
    ]);
    assert.match(c.device_code, /^[A-Za-z0-9_-]{43}$/);
    // §6.1: base-20 letters, no vowels, shown with a dash.
    assert.match(c.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    assert.equal(c.verification_uri, `${issuer()}/device`);
    assert.equal(c.verification_uri_complete, `${issuer()}/device?user_code=${c.user_code}`);
    assert.equal(c.expires_in, 600);
    assert.equal(c.interval, 5);
  });

  it('authenticates a confidential client as /token does', async () => {
    const ok = await authorizeDevice(
      s.server,
      { scope: 'openid' },
      { authorization: basic(box.clientId, box.secret!) },
    );
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    const bad = await authorizeDevice(
      s.server,
      { scope: 'openid' },
      { authorization: basic(box.clientId, 'wrong') },
    );
    assertRfcError(bad, 401, 'invalid_client');
    const none = await authorizeDevice(s.server, { client_id: box.clientId, scope: 'openid' });
    assertRfcError(none, 401, 'invalid_client');
    assertRfcError(await authorizeDevice(s.server, { client_id: 'nobody' }), 401, 'invalid_client');
  });

  it('refuses a client without the device grant: unauthorized_client', async () => {
    const r = await authorizeDevice(s.server, { client_id: plain.clientId, scope: 'openid' });
    assertRfcError(r, 400, 'unauthorized_client');
  });

  it('refuses bad input with JSON errors, never a 500', async () => {
    const dup = await fetch(`${issuer()}/device_authorization`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `client_id=${tv.clientId}&scope=openid&scope=profile`,
    });
    assert.equal(dup.status, 400);
    assert.equal(((await dup.json()) as { error: string }).error, 'invalid_request');
    const json = await fetch(`${issuer()}/device_authorization`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: tv.clientId }),
    });
    assert.equal(json.status, 400);
    assert.equal(((await json.json()) as { error: string }).error, 'invalid_request');
    const big = await fetch(`${issuer()}/device_authorization`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `client_id=${tv.clientId}&scope=${'a'.repeat(2 * 1024 * 1024)}`,
    });
    assert.equal(big.status, 413);
    assert.equal(((await big.json()) as { error: string }).error, 'invalid_request');
    assertRfcError(
      await authorizeDevice(s.server, { client_id: tv.clientId, scope: 'open"id' }),
      400,
      'invalid_scope',
    );
  });

  it('checks resource and scope as /authorize does: invalid_target, invalid_scope (RFC 8707 §2)', async () => {
    const cases: [string, string[], string][] = [
      ['openid', ['https://unknown.example.com'], 'invalid_target'],
      ['openid', ['not a uri'], 'invalid_target'],
      ['openid', ['https://orders.example.com/#frag'], 'invalid_target'],
      // Registered, but not allowed to this application.
      ['openid', [BILLING], 'invalid_target'],
      // A scope of an API the request does not name.
      ['openid orders:read', [], 'invalid_scope'],
    ];
    for (const [scope, resources, error] of cases) {
      const r = await authorizeWithResources(s.server, tv.clientId, scope, resources);
      assert.equal(r.status, 400, `${scope} ${resources}`);
      assert.equal(r.json['error'], error, `${scope} ${resources}: ${JSON.stringify(r.json)}`);
      assert.equal(r.headers.get('cache-control'), 'no-store');
    }
    const ok = await authorizeWithResources(s.server, tv.clientId, 'openid orders:read', [ORDERS]);
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
  });

  it('polling: authorization_pending, slow_down (the interval grows by 5 s), then pending again', async () => {
    const c = await codesFor(s.server, tv.clientId);
    assertRfcError(await poll(s.server, tv.clientId, c.device_code), 400, 'authorization_pending');
    // §3.5: too soon.
    clock().advanceSeconds(2);
    const slow = await poll(s.server, tv.clientId, c.device_code);
    assertRfcError(slow, 400, 'slow_down');
    assert.match(String(slow.json['error_description']), /10 seconds/);
    // The old interval is not enough any more.
    clock().advanceSeconds(5);
    assertRfcError(await poll(s.server, tv.clientId, c.device_code), 400, 'slow_down');
    clock().advanceSeconds(15);
    assertRfcError(await poll(s.server, tv.clientId, c.device_code), 400, 'authorization_pending');
    // Another client's device code is as unknown as a made-up one.
    const other = await postToken(
      s.server,
      { grant_type: DEVICE_CODE_GRANT, device_code: c.device_code },
      { authorization: basic(box.clientId, box.secret!) },
    );
    assertRfcError(other, 400, 'invalid_grant');
    assertRfcError(await poll(s.server, tv.clientId, 'made-up'), 400, 'invalid_grant');
  });

  it('approved through the pages: tokens once (ID token for openid), then invalid_grant', async () => {
    const browser = new Browser(s.server.url);
    const c = await codesFor(s.server, tv.clientId, { scope: 'openid profile offline_access' });
    assertRfcError(await poll(s.server, tv.clientId, c.device_code), 400, 'authorization_pending');
    const { final, confirmation, signedIn } = await approveInBrowser(browser, c, 'allow');
    assert.ok(signedIn, 'signed in with a password');
    assert.ok(confirmation, 'a confirmation page');
    // §5.4: the page names the application and shows the user code.
    assert.ok(confirmation.includes('Living Room TV'));
    assert.ok(confirmation.includes(c.user_code));
    assert.ok(confirmation.includes('See your name and username'));
    assert.equal(final.status, 200);
    assert.match(final.body, /You can return to your device/);
    clock().advanceSeconds(5);
    const t = await poll(s.server, tv.clientId, c.device_code);
    assert.equal(t.status, 200, JSON.stringify(t.json));
    assert.equal(t.headers.get('cache-control'), 'no-store');
    assert.equal(t.json['token_type'], 'Bearer');
    assert.equal(t.json['scope'], 'openid profile offline_access');
    assert.equal(typeof t.json['refresh_token'], 'string');
    const id = decodeJwt(t.json['id_token'] as string);
    assert.equal(id.sub, s.user.id);
    assert.equal(id.aud, tv.clientId);
    assert.equal(id['sid'], undefined, 'the browser session is not the device’s');
    const at = decodeJwt(t.json['access_token'] as string);
    assert.equal(at.aud, s.server.ctx.config.audience, 'the default API');
    // Once only (§3.5 does not allow a second use).
    clock().advanceSeconds(5);
    assertRfcError(await poll(s.server, tv.clientId, c.device_code), 400, 'invalid_grant');
    // The same code at the page: already used.
    const again = await browser.get(c.verification_uri_complete);
    const used = await browser.post('/device', { csrf: formOf(again.body).csrf, user_code: c.user_code });
    assert.equal(used.status, 400);
    assert.match(used.body, /already been used/);
    const events = await s.server.ctx.storage.audit.list({ type: 'device_approved', clientId: tv.clientId });
    assert.equal(events.length, 1);
    assert.equal(events[0]!.userId, s.user.id);
  });

  it('no ID token without openid; the access token is for the API the resource named', async () => {
    const browser = new Browser(s.server.url);
    const r = await authorizeWithResources(s.server, tv.clientId, 'orders:read', [ORDERS]);
    const c = r.json as unknown as Codes;
    const { final, confirmation } = await approveInBrowser(browser, c, 'allow');
    assert.equal(final.status, 200);
    assert.ok(confirmation?.includes('Orders API'), 'the API is named');
    assert.ok(confirmation?.includes('Read your orders'), 'its scope is described');
    const t = await poll(s.server, tv.clientId, c.device_code);
    assert.equal(t.status, 200, JSON.stringify(t.json));
    assert.equal(t.json['id_token'], undefined);
    assert.equal(t.json['refresh_token'], undefined, 'no offline_access asked');
    const at = decodeJwt(t.json['access_token'] as string);
    assert.equal(at.aud, ORDERS);
    assert.equal(at['scope'], 'orders:read');
  });

  it('reuses the browser session: straight to the confirmation page', async () => {
    const browser = new Browser(s.server.url);
    const first = await approveInBrowser(browser, await codesFor(s.server, tv.clientId), 'allow');
    assert.ok(first.signedIn);
    const c = await codesFor(s.server, tv.clientId);
    const second = await approveInBrowser(browser, c, 'allow');
    assert.equal(second.signedIn, false, 'no password asked again');
    assert.ok(second.confirmation?.includes(c.user_code), 'but the code is confirmed again');
    assert.equal((await poll(s.server, tv.clientId, c.device_code)).status, 200);
  });

  it("the application's MFA policy applies: a one-time code before the confirmation page", async () => {
    const strict = await createDeviceClient(s.server, { name: 'Strict TV' });
    await s.server.ctx.storage.clients.update(strict.clientId, { mfa: 'required' });
    await createUser(s.server, 'carol');
    const carol = (await s.server.ctx.storage.users.getByUsername('carol'))!;
    const e = await s.server.ctx.factors.totp.startEnrolment(carol);
    clock().advanceSeconds(-30);
    const confirmed = await s.server.ctx.factors.totp.confirm(
      carol,
      e.factor.id,
      totpCodeAt(e.secret, clock().now()),
      '127.0.0.1',
    );
    clock().advanceSeconds(30);
    assert.equal(confirmed.outcome, 'ok');
    const c = await codesFor(s.server, strict.clientId);
    const b = new Browser(s.server.url);
    const form = await b.get(c.verification_uri_complete);
    let step = await b.post('/device', { csrf: formOf(form.body).csrf, user_code: c.user_code });
    let page = await b.get(step.location!);
    let f = formOf(page.body);
    step = await b.post(f.actions.find((a) => a.endsWith('/login'))!, {
      csrf: f.csrf,
      username: 'carol',
      password: PASSWORD,
    });
    page = await b.get(step.location!);
    assert.doesNotMatch(page.body, /Approve this device/, 'not before the second factor');
    f = formOf(page.body);
    step = await b.post(f.actions.find((a) => a.endsWith('/otp'))!, {
      csrf: f.csrf,
      code: totpCodeAt(e.secret, clock().now()),
    });
    page = await b.get(step.location!);
    assert.match(page.body, /Approve this device/);
    f = formOf(page.body);
    const done = await b.post(f.actions.find((a) => a.endsWith('/consent'))!, {
      csrf: f.csrf,
      decision: 'allow',
    });
    assert.equal(done.status, 200);
    const t = await poll(s.server, strict.clientId, c.device_code);
    assert.equal(t.status, 200, JSON.stringify(t.json));
    assert.deepEqual(decodeJwt(t.json['id_token'] as string).amr, ['pwd', 'otp', 'mfa']);
  });

  it('denied on the confirmation page, or the sign-in cancelled: access_denied', async () => {
    const c = await codesFor(s.server, tv.clientId);
    const { final } = await approveInBrowser(new Browser(s.server.url), c, 'deny');
    assert.equal(final.status, 200);
    assert.match(final.body, /not given access/);
    assertRfcError(await poll(s.server, tv.clientId, c.device_code), 400, 'access_denied');
    const cancelled = await codesFor(s.server, tv.clientId);
    const r = await approveInBrowser(new Browser(s.server.url), cancelled, 'cancel');
    assert.match(r.final.body, /cancelled/);
    assertRfcError(await poll(s.server, tv.clientId, cancelled.device_code), 400, 'access_denied');
    const events = await s.server.ctx.storage.audit.list({ type: 'device_denied', clientId: tv.clientId });
    assert.equal(events.length, 2);
  });

  it('an expired code: expired_token at /token, and the page says so (injected clock)', async () => {
    const c = await codesFor(s.server, tv.clientId);
    const browser = new Browser(s.server.url);
    const form = await browser.get(c.verification_uri_complete);
    // Signed in and on the confirmation page when the code expires: the approval does not count.
    let step = await browser.post('/device', { csrf: formOf(form.body).csrf, user_code: c.user_code });
    const login = await browser.get(step.location!);
    const { csrf, actions } = formOf(login.body);
    step = await browser.post(actions.find((a) => a.endsWith('/login'))!, {
      csrf,
      username: 'alice',
      password: PASSWORD,
    });
    const confirm = await browser.get(step.location!);
    assert.match(confirm.body, /Approve this device/);
    clock().advanceSeconds(601);
    const late = await browser.post(formOf(confirm.body).actions.find((a) => a.endsWith('/consent'))!, {
      csrf: formOf(confirm.body).csrf,
      decision: 'allow',
    });
    assert.equal(late.status, 400);
    assert.match(late.body, /expired/);
    assertRfcError(await poll(s.server, tv.clientId, c.device_code), 400, 'expired_token');
    const page = await browser.get(c.verification_uri_complete);
    const typed = await browser.post('/device', { csrf: formOf(page.body).csrf, user_code: c.user_code });
    assert.equal(typed.status, 400);
    assert.match(typed.body, /expired/);
    const granted = await s.server.ctx.storage.grants.activeClientsOfUser(s.user.id);
    assert.ok(granted.length >= 1, 'earlier approvals made grants');
  });

  it('the code form: normalised input, a clear error, CSRF, no 500', async () => {
    const c = await codesFor(s.server, tv.clientId);
    const browser = new Browser(s.server.url);
    const form = await browser.get('/device');
    assert.equal(form.status, 200);
    assert.equal(form.headers.get('cache-control'), 'no-store');
    assert.ok(!/<(script|link)[^>]+(https?:)?\/\//.test(form.body), 'no third-party resources');
    const { csrf } = formOf(form.body);
    // §6.1: lower case, spaces and no dash are the same code.
    const typed = c.user_code.replace('-', ' ').toLowerCase();
    const ok = await browser.post('/device', { csrf, user_code: ` ${typed} ` });
    assert.equal(ok.status, 303);
    assert.match(ok.location ?? '', /^\/interaction\//);
    const bad = await browser.post('/device', { csrf, user_code: 'AEIO-UAEI' });
    assert.equal(bad.status, 400);
    assert.match(bad.body, /not a code/);
    // No CSRF token, or another browser's: refused.
    const noCsrf = await browser.post('/device', { user_code: c.user_code });
    assertErrorPage(noCsrf, 403);
    const other = await new Browser(s.server.url).post('/device', { csrf, user_code: c.user_code });
    assertErrorPage(other, 403);
    const dup = await fetch(`${issuer()}/device`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        cookie: browser.cookieHeader(),
        accept: 'text/html',
      },
      body: `csrf=${csrf}&user_code=a&user_code=b`,
    });
    assert.equal(dup.status, 400);
    const escaped = await browser.get('/device?user_code=%22%3E%3Cscript%3Ealert(1)%3C/script%3E');
    assert.equal(escaped.status, 200);
    assert.ok(!escaped.body.includes('<script>alert'), 'escaped');
    const twice = await browser.get('/device?user_code=a&user_code=b');
    assert.equal(twice.status, 200);
    // Bodies of the wrong kind or size: an error page, never a 500.
    for (const [type, body, status] of [
      ['application/json', JSON.stringify({ csrf, user_code: c.user_code }), 400],
      ['application/x-www-form-urlencoded', `csrf=${csrf}&user_code=${'B'.repeat(300_000)}`, 413],
      ['application/x-www-form-urlencoded', `csrf=${csrf}&user_code=%E0%A4%A`, 400],
      ['application/x-www-form-urlencoded', `csrf=${csrf}&user_code=${'B'.repeat(5000)}`, 400],
    ] as const) {
      const res = await fetch(`${issuer()}/device`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': type, cookie: browser.cookieHeader(), accept: 'text/html' },
        body,
      });
      const text = await res.text();
      assert.equal(res.status, status, `${type} ${body.slice(0, 40)}: ${text.slice(0, 200)}`);
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
      assert.ok(!/\bat .*\.(ts|js):\d+/.test(text), 'no stack trace');
    }
  });
});

describe('device authorization grant: a self-registered application', () => {
  const s = withServer({ users: ['alice'] });

  it('a self-registered application: the confirmation page says nobody here verified it', async () => {
    const { client } = await s.server.ctx.clients.create({
      name: 'Self-made TV',
      type: 'native',
      addGrants: ['urn:ietf:params:oauth:grant-type:device_code'],
      registration: 'dynamic',
    });
    const r = await approveInBrowser(
      new Browser(s.server.url),
      await codesFor(s.server, client.clientId),
      'deny',
    );
    assert.match(r.confirmation ?? '', /not verified by the administrator/);
    const admin = await approveInBrowser(
      new Browser(s.server.url),
      await codesFor(s.server, (await createDeviceClient(s.server)).clientId),
      'deny',
    );
    assert.doesNotMatch(admin.confirmation ?? '', /not verified by the administrator/);
  });
});

describe('device authorization grant: wrong user codes are throttled per IP (RFC 8628 §5.1)', () => {
  const s = withServer({ users: ['alice'] });

  it('locks the form after 10 wrong codes, for that IP, until the lock ends', async () => {
    const tv = await createDeviceClient(s.server);
    const c = await codesFor(s.server, tv.clientId);
    const browser = new Browser(s.server.url);
    const { csrf } = formOf((await browser.get('/device')).body);
    // Valid-looking codes that are not issued (the real one differs in its first letter).
    const wrong = (i: number) => {
      const letters = 'BCDFGHJKLMNPQRSTVWXZ';
      const first = letters[(letters.indexOf(c.user_code[0]!) + 1) % letters.length]!;
      return `${first}${letters[i]!}${c.user_code.slice(2)}`;
    };
    for (let i = 0; i < 10; i++) {
      const r = await browser.post('/device', { csrf, user_code: wrong(i) });
      assert.equal(r.status, 400, `guess ${i}`);
      assert.match(r.body, /not known/);
      // A code of one's own in between does not reset the count of wrong ones.
      if (i === 4)
        assert.equal((await browser.post('/device', { csrf, user_code: c.user_code })).status, 303);
    }
    // Now even the right code is refused from here.
    const locked = await browser.post('/device', { csrf, user_code: c.user_code });
    assert.equal(locked.status, 429);
    assert.match(locked.body, /Too many wrong codes/);
    assert.ok(Number(locked.headers.get('retry-after')) > 0);
    s.server.clock.advanceSeconds(5 * 60 + 1);
    const later = await browser.post('/device', { csrf, user_code: c.user_code });
    assert.equal(later.status, 303, later.body.slice(0, 300));
  });
});

describe('device authorization grant: wrong user codes are throttled globally too (RFC 8628 §5.1)', () => {
  // A low global limit, and the client IP from X-Forwarded-For so that each guess comes from
  // another IP (none reaches the per-IP limit of 10).
  const s = withServer({ users: ['alice'], overrides: { trustProxy: true, deviceCodeGlobalFailures: 4 } });

  it('after the global limit of wrong codes from many IPs, the form refuses everyone a while', async () => {
    const tv = await createDeviceClient(s.server);
    const c = await codesFor(s.server, tv.clientId);
    const browser = new Browser(s.server.url);
    const { csrf } = formOf((await browser.get('/device')).body);
    const letters = 'BCDFGHJKLMNPQRSTVWXZ';
    const first = letters[(letters.indexOf(c.user_code[0]!) + 1) % letters.length]!;
    const from = (i: number) => ({ 'x-forwarded-for': `203.0.113.${i + 1}` });
    for (let i = 0; i < 4; i++) {
      const r = await browser.post(
        '/device',
        { csrf, user_code: `${first}${letters[i]!}${c.user_code.slice(2)}` },
        from(i),
      );
      assert.equal(r.status, 400, `guess ${i}`);
    }
    // A fresh IP, with the right code: refused, with the server-wide message.
    const locked = await browser.post('/device', { csrf, user_code: c.user_code }, from(50));
    assert.equal(locked.status, 429);
    assert.match(locked.body, /on this server/);
    assert.ok(Number(locked.headers.get('retry-after')) > 0);
    s.server.clock.advanceSeconds(5 * 60 + 1);
    const later = await browser.post('/device', { csrf, user_code: c.user_code }, from(51));
    assert.equal(later.status, 303, later.body.slice(0, 300));
  });
});

for (const backend of [
  { name: 'sqlite', skip: false as const },
  { name: 'postgres', skip: PG_SKIP },
]) {
  describe(`device approval in one transaction (${backend.name})`, { skip: backend.skip }, () => {
    const s = withServer({
      users: ['alice'],
      ...(backend.name === 'postgres' ? { postgres: 'latchkey_device' } : {}),
    });

    const grantsOf = async (clientId: string) => {
      const r = await databaseForTests(s.server.ctx.storage)
        .selectFrom('grants')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('client_id', '=', clientId)
        .executeTakeFirstOrThrow();
      return Number(r.n);
    };

    it('approve: one grant, tokens; a code expired on the confirmation page leaves no grant', async () => {
      assert.equal(s.server.ctx.storage.dialect, backend.name);
      const tv = await createDeviceClient(s.server);
      const ok = await codesFor(s.server, tv.clientId);
      assert.equal((await approveInBrowser(new Browser(s.server.url), ok, 'allow')).final.status, 200);
      assert.equal((await poll(s.server, tv.clientId, ok.device_code)).status, 200);
      assert.equal(await grantsOf(tv.clientId), 1);

      const late = await codesFor(s.server, tv.clientId);
      const b = new Browser(s.server.url);
      const form = await b.get(late.verification_uri_complete);
      let step = await b.post('/device', { csrf: formOf(form.body).csrf, user_code: late.user_code });
      const login = formOf((await b.get(step.location!)).body);
      step = await b.post(login.actions.find((a) => a.endsWith('/login'))!, {
        csrf: login.csrf,
        username: 'alice',
        password: PASSWORD,
      });
      const confirm = formOf((await b.get(step.location!)).body);
      s.server.clock.advanceSeconds(601);
      const r = await b.post(confirm.actions.find((a) => a.endsWith('/consent'))!, {
        csrf: confirm.csrf,
        decision: 'allow',
      });
      assert.equal(r.status, 400);
      assert.equal(await grantsOf(tv.clientId), 1, 'the approval that came too late wrote nothing');
      assertRfcError(await poll(s.server, tv.clientId, late.device_code), 400, 'expired_token');
    });

    it('Approve and Deny posted at once: one decides', async () => {
      const tv = await createDeviceClient(s.server);
      const c = await codesFor(s.server, tv.clientId);
      const b = new Browser(s.server.url);
      const form = await b.get(c.verification_uri_complete);
      let step = await b.post('/device', { csrf: formOf(form.body).csrf, user_code: c.user_code });
      const login = formOf((await b.get(step.location!)).body);
      step = await b.post(login.actions.find((a) => a.endsWith('/login'))!, {
        csrf: login.csrf,
        username: 'alice',
        password: PASSWORD,
      });
      const confirm = formOf((await b.get(step.location!)).body);
      const action = confirm.actions.find((a) => a.endsWith('/consent'))!;
      const answers = await Promise.all(
        ['allow', 'deny', 'allow', 'deny'].map((decision) =>
          b.post(action, { csrf: confirm.csrf, decision }),
        ),
      );
      assert.equal(answers.filter((a) => a.status === 200).length, 1, answers.map((a) => a.status).join());
      const t = await poll(s.server, tv.clientId, c.device_code);
      const approved = answers.some((a) => a.status === 200 && a.body.includes('Device approved'));
      if (approved) assert.equal(t.status, 200);
      else assertRfcError(t, 400, 'access_denied');
      assert.equal(await grantsOf(tv.clientId), approved ? 1 : 0);
    });
  });
}

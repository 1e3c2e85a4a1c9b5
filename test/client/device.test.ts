/**
 * The client SDK's device authorization grant (RFC 8628) against a real Latchkey server over
 * HTTP: deviceAuthorization (§3.1, §3.2), then pollDeviceToken (§3.4, §3.5) while the person
 * approves or denies through the real /device pages. The SDK's sleep is injected: it moves the
 * server's ManualClock (the client reads the same clock), so nothing waits in real time.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import {
  DEVICE_CODE_GRANT_TYPE,
  type DeviceAuthorization,
  LatchkeyClient,
  LatchkeyError,
  type SleepFn,
} from '../../src/client/index.js';
import { Browser } from '../helpers/browser.js';
import { approveInBrowser, createDeviceClient } from '../helpers/device.js';
import { withServer } from '../helpers/flow.js';

const ORDERS = 'https://orders.example.com';
const isCode = (code: string, error?: string) => (e: unknown) =>
  e instanceof LatchkeyError && e.code === code && (error === undefined || e.error === error);

const asCodes = (a: DeviceAuthorization) => ({
  user_code: a.userCode,
  verification_uri_complete: a.verificationUriComplete!,
});

describe('client SDK: device authorization grant (RFC 8628)', () => {
  const s = withServer({ users: ['alice'] });
  let clientId: string;
  let box: { clientId: string; secret?: string };
  before(async () => {
    await s.server.ctx.apis.create({ identifier: ORDERS, name: 'Orders API', scopes: [] });
    ({ clientId } = await createDeviceClient(s.server, {
      allowedApis: [{ identifier: ORDERS, scopes: null }],
    }));
    box = await createDeviceClient(s.server, { name: 'Set-top box', confidential: true });
  });

  const client = (opts: { clientId?: string; clientSecret?: string } = {}) =>
    LatchkeyClient.discover({
      issuer: s.server.issuer,
      clientId: opts.clientId ?? clientId,
      ...(opts.clientSecret ? { clientSecret: opts.clientSecret } : {}),
      now: () => s.server.clock.now(),
    });

  /** A sleep that moves the server's clock, and remembers how long each wait was. */
  function fakeSleep(onWake?: (n: number) => Promise<void> | void) {
    const waits: number[] = [];
    const sleep: SleepFn = async (ms) => {
      waits.push(ms);
      s.server.clock.advance(ms);
      await onWake?.(waits.length);
    };
    return { sleep, waits };
  }

  it('device authorization, pending, approved through the /device pages, then tokens', async () => {
    const c = await client();
    const asked = s.server.clock.now();
    const a = await c.deviceAuthorization({ scope: 'openid profile offline_access', resource: ORDERS });
    assert.match(a.userCode, /^[A-Z]{4}-[A-Z]{4}$/);
    assert.equal(a.verificationUri, `${s.server.issuer}/device`);
    assert.equal(a.verificationUriComplete, `${a.verificationUri}?user_code=${a.userCode}`);
    assert.equal(a.interval, 5);
    assert.equal(a.expiresIn, 600);
    // By the client's clock (the server's here, which runs on from real time).
    assert.ok(a.expiresAt >= asked + 600_000 && a.expiresAt <= s.server.clock.now() + 600_000);
    // The person approves once the device has polled twice (both pending).
    const pending: number[] = [];
    const { sleep, waits } = fakeSleep(async (n) => {
      if (n === 3) {
        const { final } = await approveInBrowser(new Browser(s.server.url), asCodes(a));
        assert.equal(final.status, 200);
      }
    });
    const tokens = await c.pollDeviceToken(a, { sleep, onPoll: (i) => pending.push(i) });
    assert.deepEqual(waits, [5000, 5000, 5000]);
    assert.equal(pending.length, 3);
    assert.equal(tokens.tokenType, 'Bearer');
    assert.equal(decodeJwt(tokens.accessToken)['aud'], ORDERS);
    // The ID token, checked as the code exchange checks it (jose, JWKS, iss, aud, at_hash).
    assert.ok(tokens.idToken);
    assert.equal(tokens.idTokenClaims?.['aud'], clientId);
    assert.equal(tokens.idTokenClaims?.['iss'], s.server.issuer);
    assert.ok(tokens.refreshToken, 'offline_access asked');
    // A device code gives tokens once.
    await assert.rejects(
      c.pollDeviceToken(a, { sleep: fakeSleep().sleep }),
      isCode('LATCHKEY_TOKEN_ERROR', 'invalid_grant'),
    );
  });

  it('a confidential client authenticates at both endpoints', async () => {
    const c = await client({ clientId: box.clientId, clientSecret: box.secret! });
    const a = await c.deviceAuthorization({ scope: 'profile' });
    const { sleep } = fakeSleep(async (n) => {
      if (n === 1) await approveInBrowser(new Browser(s.server.url), asCodes(a));
    });
    const tokens = await c.pollDeviceToken(a, { sleep });
    assert.equal(tokens.idToken, undefined);
    assert.ok(tokens.accessToken);
  });

  it('slow_down: the interval grows by 5 s for this and later polls (§3.5)', async () => {
    const c = await client();
    const a = await c.deviceAuthorization();
    // Pending; then a wait cut to 1 s (too soon for the server): slow_down; then 10 s waits.
    const waits: number[] = [];
    const sleep: SleepFn = async (ms) => {
      waits.push(ms);
      s.server.clock.advance(waits.length === 2 ? 1000 : ms);
      if (waits.length === 4) await approveInBrowser(new Browser(s.server.url), asCodes(a));
    };
    const tokens = await c.pollDeviceToken(a, { sleep });
    assert.deepEqual(waits, [5000, 5000, 10_000, 10_000]);
    assert.ok(tokens.accessToken);
  });

  it('a token request that times out doubles the interval (§3.5 connection timeout)', async () => {
    let timeouts = 0;
    const flaky: typeof fetch = (input, init) => {
      if (String(input).endsWith('/token') && timeouts++ === 0)
        return Promise.reject(new DOMException('The operation timed out.', 'TimeoutError'));
      return fetch(input, init);
    };
    const c = await LatchkeyClient.discover({
      issuer: s.server.issuer,
      clientId,
      fetch: flaky,
      now: () => s.server.clock.now(),
    });
    const a = await c.deviceAuthorization();
    const { sleep, waits } = fakeSleep(async (n) => {
      if (n === 2) await approveInBrowser(new Browser(s.server.url), asCodes(a));
    });
    const tokens = await c.pollDeviceToken(a, { sleep });
    assert.deepEqual(waits, [5000, 10_000]);
    assert.ok(tokens.accessToken);
  });

  it('denied on the confirmation page: LATCHKEY_ACCESS_DENIED', async () => {
    const c = await client();
    const a = await c.deviceAuthorization();
    const { sleep } = fakeSleep(async (n) => {
      if (n === 2) await approveInBrowser(new Browser(s.server.url), asCodes(a), 'deny');
    });
    await assert.rejects(c.pollDeviceToken(a, { sleep }), isCode('LATCHKEY_ACCESS_DENIED', 'access_denied'));
  });

  it("expired: the server's expired_token, or expiresAt passed: LATCHKEY_EXPIRED_TOKEN", async () => {
    const c = await client();
    const a = await c.deviceAuthorization();
    // The server's clock past the code's life, the client's deadline not yet: the server says so.
    const early = { ...a, expiresAt: a.expiresAt + 3_600_000 };
    const { sleep } = fakeSleep(() => s.server.clock.advanceSeconds(601));
    const err = await c.pollDeviceToken(early, { sleep }).catch((e: unknown) => e);
    assert.ok(isCode('LATCHKEY_EXPIRED_TOKEN', 'expired_token')(err), String(err));
    assert.equal((err as LatchkeyError).status, 400);
    // The client's own deadline: no request once it has passed.
    const b = await c.deviceAuthorization();
    const polls: number[] = [];
    const late = fakeSleep(() => s.server.clock.advanceSeconds(601));
    await assert.rejects(
      c.pollDeviceToken(b, { sleep: late.sleep, onPoll: (i) => polls.push(i) }),
      isCode('LATCHKEY_EXPIRED_TOKEN'),
    );
    assert.equal(polls.length, 0);
  });

  it('an AbortSignal stops polling: LATCHKEY_ABORTED, also during the default sleep', async () => {
    const c = await client();
    const a = await c.deviceAuthorization();
    const ac = new AbortController();
    const { sleep, waits } = fakeSleep((n) => {
      if (n === 2) ac.abort();
    });
    await assert.rejects(c.pollDeviceToken(a, { sleep, signal: ac.signal }), isCode('LATCHKEY_ABORTED'));
    assert.equal(waits.length, 2);
    // The default sleep (a real timer of 5 s) ends at once when the signal aborts.
    const ac2 = new AbortController();
    const p = c.pollDeviceToken(a, { signal: ac2.signal });
    ac2.abort();
    await assert.rejects(p, isCode('LATCHKEY_ABORTED'));
    await assert.rejects(c.pollDeviceToken(a, { signal: AbortSignal.abort() }), isCode('LATCHKEY_ABORTED'));
  });

  it('bad input and a server without the endpoint: typed errors', async () => {
    const c = await client();
    await assert.rejects(c.deviceAuthorization({ scope: '' }), isCode('LATCHKEY_INVALID_ARGUMENT'));
    await assert.rejects(
      c.deviceAuthorization({ resource: 'not a url' }),
      isCode('LATCHKEY_INVALID_ARGUMENT'),
    );
    await assert.rejects(
      c.deviceAuthorization({ resource: 'https://unknown.example.com' }),
      isCode('LATCHKEY_AUTHORIZATION_ERROR', 'invalid_target'),
    );
    const other = new LatchkeyClient({
      metadata: { ...c.metadata, device_authorization_endpoint: undefined },
      clientId,
    });
    await assert.rejects(other.deviceAuthorization(), isCode('LATCHKEY_UNSUPPORTED'));
    const a = await c.deviceAuthorization();
    await assert.rejects(
      c.pollDeviceToken({ ...a, interval: 0 }, { sleep: fakeSleep().sleep }),
      isCode('LATCHKEY_INVALID_ARGUMENT'),
    );
    assert.equal(DEVICE_CODE_GRANT_TYPE, 'urn:ietf:params:oauth:grant-type:device_code');
  });
});

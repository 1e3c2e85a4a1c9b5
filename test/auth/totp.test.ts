/**
 * One-time codes (RFC 6238) and recovery codes as services, with the injected clock and the
 * in-memory stores: ±1 step of drift and no more, each step once, throttled like passwords,
 * seeds sealed with the key-encryption key; recovery codes single use.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LoginThrottle, THROTTLE_DEFAULTS } from '../../src/auth/login-throttle.js';
import { RecoveryCodes } from '../../src/auth/recovery-codes.js';
import { TotpService, totpCodeAt } from '../../src/auth/totp.js';
import { ManualClock } from '../../src/clock.js';
import { openMemoryStorage } from '../../src/storage/memory/index.js';
import type { User } from '../../src/storage/types.js';

const KEK = 'k'.repeat(40);

function setup(opts: { kek?: string; throttle?: boolean } = {}) {
  const storage = openMemoryStorage();
  const clock = new ManualClock({ now: () => 1_790_000_000_000 });
  const throttle = new LoginThrottle(
    storage.throttle,
    clock,
    opts.throttle ?? true,
    THROTTLE_DEFAULTS,
    'factor',
  );
  const totp = new TotpService({
    factors: storage.factors,
    clock,
    throttle,
    kek: opts.kek,
    issuerName: 'id.example.com',
  });
  const recovery = new RecoveryCodes({ factors: storage.factors, clock, throttle });
  const user: User = {
    id: 'u-1',
    username: 'alice',
    email: null,
    name: null,
    passwordHash: 'x',
    disabled: false,
    createdAt: 0,
    updatedAt: 0,
  };
  return { storage, clock, totp, recovery, user };
}

async function enrolled(t: ReturnType<typeof setup>) {
  const e = await t.totp.startEnrolment(t.user);
  t.clock.advanceSeconds(-60);
  assert.equal(
    (await t.totp.confirm(t.user, e.factor.id, totpCodeAt(e.secret, t.clock.now()), 'ip')).outcome,
    'ok',
  );
  t.clock.advanceSeconds(60);
  return e;
}

describe('TOTP', () => {
  it('enrolment: an otpauth URI, a QR code of our own, confirmed only by a valid first code', async () => {
    const t = setup();
    const e = await t.totp.startEnrolment(t.user);
    assert.match(e.uri, /^otpauth:\/\/totp\/id\.example\.com:alice\?/);
    assert.match(e.uri, /secret=[A-Z2-7]+/);
    assert.match(e.uri, /period=30/);
    assert.match(e.qrSvg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.doesNotMatch(e.qrSvg, /otpauth|secret/i, 'the secret is not in the markup');
    assert.equal(await t.totp.hasConfirmed(t.user.id), false);
    assert.equal((await t.totp.confirm(t.user, e.factor.id, '000000', 'ip')).outcome, 'wrong');
    assert.equal(
      (await t.totp.verify(t.user, totpCodeAt(e.secret, t.clock.now()), 'ip')).outcome,
      'wrong',
      'unconfirmed: no sign-in with it',
    );
    assert.equal(
      (await t.totp.confirm(t.user, e.factor.id, totpCodeAt(e.secret, t.clock.now()), 'ip')).outcome,
      'ok',
    );
    assert.equal(await t.totp.hasConfirmed(t.user.id), true);
  });

  it('accepts one step of drift either side and no more', async () => {
    const t = setup();
    const e = await enrolled(t);
    const at = (s: number) => totpCodeAt(e.secret, t.clock.now() + s * 1000);
    assert.equal((await t.totp.verify(t.user, at(-60), 'ip')).outcome, 'wrong', 'two steps behind');
    assert.equal((await t.totp.verify(t.user, at(60), 'ip')).outcome, 'wrong', 'two steps ahead');
    assert.equal((await t.totp.verify(t.user, at(-30), 'ip')).outcome, 'ok', 'one step behind');
    t.clock.advanceSeconds(60);
    assert.equal((await t.totp.verify(t.user, at(30), 'ip')).outcome, 'ok', 'one step ahead');
  });

  it('each code once: the same step, or an earlier one after a later was used, is refused', async () => {
    const t = setup();
    const e = await enrolled(t);
    const now = totpCodeAt(e.secret, t.clock.now());
    const results = await Promise.all([1, 2, 3].map(() => t.totp.verify(t.user, now, 'ip')));
    assert.deepEqual(results.map((r) => r.outcome).sort(), ['ok', 'wrong', 'wrong'], 'one of three at once');
    const before = totpCodeAt(e.secret, t.clock.now() - 30_000);
    assert.equal(
      (await t.totp.verify(t.user, before, 'ip')).outcome,
      'wrong',
      'an earlier step after a later one',
    );
    t.clock.advanceSeconds(30);
    assert.equal((await t.totp.verify(t.user, totpCodeAt(e.secret, t.clock.now()), 'ip')).outcome, 'ok');
  });

  it('throttled like passwords: five wrong codes lock the person for five minutes', async () => {
    const t = setup();
    const e = await enrolled(t);
    for (let i = 0; i < 5; i++)
      assert.equal((await t.totp.verify(t.user, '000001', `ip-${i}`)).outcome, 'wrong');
    const locked = await t.totp.verify(t.user, totpCodeAt(e.secret, t.clock.now()), 'ip-9');
    assert.equal(locked.outcome, 'throttled');
    assert.ok(locked.outcome === 'throttled' && locked.retryAfterSec > 0 && locked.retryAfterSec <= 300);
    t.clock.advanceSeconds(301);
    assert.equal((await t.totp.verify(t.user, totpCodeAt(e.secret, t.clock.now()), 'ip-9')).outcome, 'ok');
  });

  it('odd input is a wrong code, never an error', async () => {
    const t = setup({ throttle: false });
    await enrolled(t);
    for (const code of ['', 'abcdef', '1234567', '12 34 5', '٠١٢٣٤٥', 'x'.repeat(5000)])
      assert.equal((await t.totp.verify(t.user, code, 'ip')).outcome, 'wrong', code.slice(0, 10));
  });

  it('the seed is sealed at rest with LATCHKEY_KEY_ENCRYPTION_KEY when it is set', async () => {
    const sealed = setup({ kek: KEK });
    const e = await sealed.totp.startEnrolment(sealed.user);
    const [row] = await sealed.storage.factors.totpOf(sealed.user.id);
    assert.match(row!.secretSealed, /^enc:v1:/);
    assert.ok(!row!.secretSealed.includes(e.secret));
    assert.equal((await sealed.totp.pendingEnrolment(sealed.user))?.secret, e.secret, 'opens again');
    const clear = setup();
    const c = await clear.totp.startEnrolment(clear.user);
    assert.equal((await clear.storage.factors.totpOf(clear.user.id))[0]?.secretSealed, c.secret);
  });
});

describe('recovery codes', () => {
  it('ten codes, stored hashed, each used once, typed in any case and spacing', async () => {
    const t = setup({ throttle: false });
    const { codes } = await t.recovery.regenerate(t.user.id);
    assert.equal(codes.length, 10);
    assert.equal(new Set(codes).size, 10);
    for (const c of codes) assert.match(c, /^[a-z2-7]{5}-[a-z2-7]{5}$/);
    assert.deepEqual(
      await t.recovery.use(t.user.id, ` ${codes[3]!.toUpperCase().replace('-', ' ')} `, 'ip'),
      {
        outcome: 'ok',
        left: 9,
      },
    );
    assert.deepEqual(await t.recovery.use(t.user.id, codes[3]!, 'ip'), { outcome: 'wrong' });
    assert.deepEqual(await t.recovery.use('u-2', codes[4]!, 'ip'), { outcome: 'wrong' }, "another person's");
    assert.equal(await t.recovery.regenerateIfNone(t.user.id), undefined, 'codes left: no new set');
    const fresh = await t.recovery.regenerate(t.user.id);
    assert.deepEqual(
      await t.recovery.use(t.user.id, codes[4]!, 'ip'),
      { outcome: 'wrong' },
      'the old set is gone',
    );
    assert.equal((await t.recovery.use(t.user.id, fresh.codes[0]!, 'ip')).outcome, 'ok');
  });
});

/**
 * The throttle of wrong user codes at /device (RFC 8628 §5.1): per IP, and with
 * `globalFailures` one key for the whole server, whose lock is told apart (`global`) so the page
 * can say it is server-wide; and its setting, LATCHKEY_DEVICE_CODE_GLOBAL_FAILURES.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LoginThrottle, THROTTLE_DEFAULTS } from '../../src/auth/login-throttle.js';
import { ManualClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { DEVICE_CODE_LIMITS } from '../../src/http/routes/device.js';
import { openStorage, type Storage } from '../../src/storage/index.js';
import { tempDir } from '../helpers/server.js';

describe('device code throttle: per IP and global', () => {
  let dir: string;
  let storage: Storage;
  before(async () => {
    dir = tempDir('latchkey-device-throttle-');
    storage = await openStorage(join(dir, 'throttle.db'));
  });
  after(async () => {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const fail = async (t: LoginThrottle, ip: string) => {
    const d = await t.begin(ip, ip);
    assert.ok(d.allowed, `a guess from ${ip} is checked`);
    await t.failed(d.attempt);
  };

  it('wrong codes from many IPs lock everyone once the global limit is reached; it ends', async () => {
    const clock = new ManualClock();
    const t = new LoginThrottle(
      storage.throttle,
      clock,
      true,
      { ...DEVICE_CODE_LIMITS, globalFailures: 3 },
      'device',
    );
    for (let i = 1; i <= 3; i++) await fail(t, `198.51.100.${i}`);
    const locked = await t.begin('198.51.100.99', '198.51.100.99');
    assert.equal(locked.allowed, false);
    assert.ok(!locked.allowed && locked.global === true && locked.retryAfterSec > 0);
    clock.advanceSeconds(DEVICE_CODE_LIMITS.lockSec + 1);
    const later = await t.begin('198.51.100.99', '198.51.100.99');
    assert.ok(later.allowed);
    await t.abandon(later.attempt);
  });

  it('a per-IP lock is not called global, and without globalFailures there is no global key', async () => {
    const clock = new ManualClock();
    const limits = { ...THROTTLE_DEFAULTS, accountFailures: 2 };
    const t = new LoginThrottle(storage.throttle, clock, true, { ...limits, globalFailures: 100 }, 'device');
    for (let i = 0; i < 2; i++) await fail(t, '192.0.2.7');
    const locked = await t.begin('192.0.2.7', '192.0.2.7');
    assert.ok(!locked.allowed && locked.global === undefined);
    // No global limit: other IPs go on, whatever the count of all.
    const plain = new LoginThrottle(storage.throttle, clock, true, limits, 'device');
    for (let i = 1; i <= 5; i++) {
      const d = await plain.begin(`192.0.2.${100 + i}`, `192.0.2.${100 + i}`);
      assert.ok(d.allowed);
      await plain.abandon(d.attempt);
    }
  });

  it('LATCHKEY_DEVICE_CODE_GLOBAL_FAILURES: 100 by default, 0 to switch off, a bad value named', () => {
    assert.equal(loadConfig({}, {}).deviceCodeGlobalFailures, 100);
    assert.equal(loadConfig({}, { LATCHKEY_DEVICE_CODE_GLOBAL_FAILURES: '0' }).deviceCodeGlobalFailures, 0);
    assert.equal(
      loadConfig({}, { LATCHKEY_DEVICE_CODE_GLOBAL_FAILURES: '500' }).deviceCodeGlobalFailures,
      500,
    );
    assert.throws(
      () => loadConfig({}, { LATCHKEY_DEVICE_CODE_GLOBAL_FAILURES: 'many' }),
      /LATCHKEY_DEVICE_CODE_GLOBAL_FAILURES/,
    );
    assert.throws(
      () => loadConfig({}, { LATCHKEY_DEVICE_CODE_GLOBAL_FAILURES: '-1' }),
      /LATCHKEY_DEVICE_CODE_GLOBAL_FAILURES/,
    );
  });
});

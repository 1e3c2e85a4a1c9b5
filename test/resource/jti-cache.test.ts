/**
 * The resource server's memory of DPoP proof `jti`s (src/resource/dpop-proofs.ts JtiCache):
 * a `jti` is refused until it expires; a full cache drops expired entries before any live one
 * and the oldest live one only when none has expired; it never grows past its bound.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JtiCache } from '../../src/resource/dpop-proofs.js';

describe('JtiCache', () => {
  it('refuses a jti until it expires, then takes it again', () => {
    const c = new JtiCache(10);
    assert.equal(c.use('a', 1000, 0), true);
    assert.equal(c.use('a', 1000, 999), false);
    assert.equal(c.use('a', 3000, 1000), true);
    assert.equal(c.use('a', 3000, 2999), false);
  });

  it('full: expired entries go first, wherever they are; the oldest live one only if none expired', () => {
    const c = new JtiCache(3);
    c.use('long', 10_000, 0);
    c.use('short', 100, 0);
    c.use('mid', 5000, 0);
    // Full, nothing expired: the oldest ('long') leaves.
    assert.equal(c.use('d', 10_000, 50), true);
    assert.equal(c.size, 3);
    assert.equal(c.use('long', 10_000, 60), true, "'long' was dropped");
    // Taking 'long' back, with nothing expired yet, dropped the next oldest: 'short'.
    assert.equal(c.use('mid', 5000, 60), false, "'mid' is still known");
    assert.equal(c.use('d', 10_000, 60), false, "'d' is still known");
    // Now 'mid' expires: the next insert sweeps it instead of dropping a live entry.
    assert.equal(c.use('e', 10_000, 5000), true);
    assert.equal(c.use('d', 10_000, 5001), false);
    assert.equal(c.use('long', 10_000, 5001), false);
  });

  it('an expired entry in the middle is swept before a live oldest one is dropped', () => {
    const c = new JtiCache(3);
    c.use('first', 10_000, 0);
    c.use('brief', 100, 0);
    c.use('third', 10_000, 0);
    assert.equal(c.use('fourth', 10_000, 200), true);
    assert.equal(c.size, 3);
    assert.equal(c.use('first', 10_000, 200), false, 'the live oldest entry is kept');
    assert.equal(c.use('third', 10_000, 200), false);
  });

  it('stays within its bound under a stream of live jtis', () => {
    const c = new JtiCache(100);
    for (let i = 0; i < 10_000; i++) assert.equal(c.use(`j${i}`, 1_000_000, i), true);
    assert.equal(c.size, 100);
    assert.equal(c.use('j9999', 1_000_000, 10_000), false);
  });
});

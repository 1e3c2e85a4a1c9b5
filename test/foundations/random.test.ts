/** randomToken: pooled CSPRNG bytes, each handed out once. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { randomIdentifier, randomToken, timeOrderedId } from '../../src/crypto.js';

describe('randomToken', () => {
  it('gives base64url of the asked number of bytes, across pool refills', () => {
    for (const bytes of [1, 16, 32, 100, 256, 257, 4096]) {
      const t = randomToken(bytes);
      assert.match(t, /^[A-Za-z0-9_-]+$/);
      assert.equal(Buffer.from(t, 'base64url').length, bytes);
    }
    assert.equal(Buffer.from(randomToken(), 'base64url').length, 32, '256 bits by default');
    for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => randomToken(bad), RangeError);
  });

  it('never repeats a token, also where the 4 KiB pool is refilled', () => {
    const seen = new Set<string>();
    // 20,000 × 32 bytes ≈ 156 refills of the pool, with odd sizes in between to shift offsets.
    for (let i = 0; i < 20_000; i++) {
      const t = randomToken(i % 7 === 0 ? 17 : 32);
      assert.equal(seen.has(t), false);
      seen.add(t);
    }
  });

  it('looks uniform: every byte value turns up, none far more than the others', () => {
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 2_000; i++) for (const b of Buffer.from(randomToken(32), 'base64url')) counts[b]!++;
    // 64,000 bytes: 250 per value expected; 150–350 is more than 6 standard deviations wide.
    assert.ok(Math.min(...counts) > 150, `min ${Math.min(...counts)}`);
    assert.ok(Math.max(...counts) < 350, `max ${Math.max(...counts)}`);
  });
});

describe('randomIdentifier (client ids)', () => {
  it('never starts with - or _, so no command line reads it as an option', () => {
    for (let i = 0; i < 5_000; i++) {
      const id = randomIdentifier(15);
      assert.match(id, /^[A-Za-z0-9][A-Za-z0-9_-]{19}$/);
    }
  });
});

describe('timeOrderedId (RFC 9562 §5.7, UUIDv7)', () => {
  const T = Date.UTC(2026, 11, 7, 3, 30, 0, 123);
  it('is a version 7, variant 0b10 UUID carrying its millisecond', () => {
    const id = timeOrderedId(T);
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16), T);
  });

  it('sorts by time as text, and ids of one millisecond differ in their 74 random bits', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 48 - 2 }), fc.integer({ min: 1, max: 10 ** 9 }), (a, d) => {
        const later = Math.min(a + d, 2 ** 48 - 1);
        assert.ok(timeOrderedId(a) < timeOrderedId(later));
      }),
    );
    const same = new Set(Array.from({ length: 10_000 }, () => timeOrderedId(T)));
    assert.equal(same.size, 10_000);
  });
});

/**
 * The stateless DPoP nonce (protocol/dpop-nonce.ts, RFC 9449 §8): valid in its window and the
 * next, on any instance with the same keys (another node), refused when forged, malformed, made
 * with another key or a key no longer known. The clock is moved, never waited for.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { DPOP_NONCE_WINDOW_SEC, DpopNonces, type NonceKeys } from '../../src/protocol/dpop-nonce.js';

const keys = (byGeneration: Map<number, Uint8Array>, current: number): NonceKeys => ({
  current: async () => ({ id: current, key: byGeneration.get(current)! }),
  byId: async (id) => byGeneration.get(id),
});

describe('DpopNonces', () => {
  const shared = new Map([
    [1, randomBytes(32)],
    [2, randomBytes(32)],
  ]);

  it('a nonce made by one node is valid on another with the same keys, for two windows', async () => {
    const clock = new ManualClock();
    const a = new DpopNonces(keys(shared, 1), clock);
    const b = new DpopNonces(keys(shared, 1), clock);
    const nonce = await a.current();
    assert.equal(nonce.length, 32);
    assert.equal(await b.isValid(nonce), true);
    clock.advanceSeconds(DPOP_NONCE_WINDOW_SEC);
    assert.equal(await b.isValid(nonce), true, 'the previous window');
    assert.notEqual(await b.current(), nonce);
    clock.advanceSeconds(DPOP_NONCE_WINDOW_SEC);
    assert.equal(await b.isValid(nonce), false, 'two windows on');
  });

  it('a nonce from the future, from another key, forged or malformed is refused', async () => {
    const clock = new ManualClock();
    const a = new DpopNonces(keys(shared, 1), clock);
    const nonce = await a.current();
    const future = new ManualClock();
    future.advanceSeconds(DPOP_NONCE_WINDOW_SEC);
    assert.equal(
      await new DpopNonces(keys(shared, 1), clock).isValid(
        await new DpopNonces(keys(shared, 1), future).current(),
      ),
      false,
    );
    const other = new DpopNonces(keys(new Map([[1, randomBytes(32)]]), 1), clock);
    assert.equal(await other.isValid(nonce), false, 'another secret');
    const raw = Buffer.from(nonce, 'base64url');
    raw[raw.length - 1]! ^= 1;
    assert.equal(await a.isValid(raw.toString('base64url')), false, 'a flipped bit');
    for (const bad of [undefined, 42, '', 'x', `${nonce}A`, nonce.slice(1), '!'.repeat(32)])
      assert.equal(await a.isValid(bad), false, String(bad));
  });

  it('after a rotation the previous generation still checks its nonces; an unknown one does not', async () => {
    const clock = new ManualClock();
    const before = await new DpopNonces(keys(shared, 1), clock).current();
    const after = new DpopNonces(keys(shared, 2), clock);
    assert.notEqual(await after.current(), before);
    assert.equal(await after.isValid(before), true);
    const forgotten = new DpopNonces(keys(new Map([[2, shared.get(2)!]]), 2), clock);
    assert.equal(await forgotten.isValid(before), false);
  });
});

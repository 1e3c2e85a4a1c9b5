/** argon2id hashing off the event loop, bounded (src/passwords.ts). */
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';
import { hashPassword, MAX_PASSWORD_LENGTH, verifyPassword } from '../../src/passwords.js';
import { HASHES_IN_FLIGHT, hashesInFlight, threadPoolSize } from '../../src/threads.js';

describe('passwords', () => {
  it('argon2id at the OWASP cost; the right password verifies, others do not', async () => {
    const h = await hashPassword('correct horse battery staple');
    assert.match(h, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.equal(await verifyPassword(h, 'correct horse battery staple'), true);
    assert.equal(await verifyPassword(h, 'correct horse battery stapl'), false);
    assert.equal(await verifyPassword(h, ''), false);
    assert.notEqual(await hashPassword('correct horse battery staple'), h, 'salted');
  });

  it('a malformed stored hash, an unknown user or an over-long password is false, not an error', async () => {
    assert.equal(await verifyPassword('not-a-hash', 'x'), false);
    assert.equal(await verifyPassword(undefined, 'x'), false);
    const h = await hashPassword('p');
    assert.equal(await verifyPassword(h, 'p'.repeat(MAX_PASSWORD_LENGTH + 1)), false);
  });

  it('many at once queue for the hashing slots and each gets its own answer', async () => {
    const hashes = await Promise.all(['a', 'b', 'c'].map((p) => hashPassword(p)));
    const checks = await Promise.all(
      Array.from({ length: 9 }, (_, i) => verifyPassword(hashes[i % 3], ['a', 'b', 'c'][(i + (i % 2)) % 3]!)),
    );
    assert.deepEqual(
      checks,
      Array.from({ length: 9 }, (_, i) => (i + (i % 2)) % 3 === i % 3),
    );
  });

  it('hashes in flight: cores − 1, leaving two pool threads for signatures, at least one', () => {
    assert.equal(threadPoolSize({}), 4, "libuv's default");
    assert.equal(threadPoolSize({ UV_THREADPOOL_SIZE: '16' }), 16);
    assert.equal(threadPoolSize({ UV_THREADPOOL_SIZE: 'lots' }), 4);
    assert.equal(hashesInFlight(4, 2), 1);
    assert.equal(hashesInFlight(4, 8), 2, 'the default pool keeps two threads for signing');
    assert.equal(hashesInFlight(16, 8), 7);
    assert.equal(hashesInFlight(2, 1), 1);
    assert.equal(HASHES_IN_FLIGHT, hashesInFlight(threadPoolSize(), Math.max(1, availableParallelism())));
  });
});

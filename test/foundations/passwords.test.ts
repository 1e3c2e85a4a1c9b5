/** argon2id hashing in low-priority worker threads (src/passwords.ts). */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { hashPassword, MAX_PASSWORD_LENGTH, verifyPassword } from '../../src/passwords.js';

/** Nice values of this process's threads (Linux), from /proc/self/task/<tid>/stat field 19. */
function threadNiceValues(): number[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

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

  it('many at once queue for the workers and each gets its own answer', async () => {
    const hashes = await Promise.all(['a', 'b', 'c'].map((p) => hashPassword(p)));
    const checks = await Promise.all(
      Array.from({ length: 9 }, (_, i) => verifyPassword(hashes[i % 3], ['a', 'b', 'c'][(i + (i % 2)) % 3]!)),
    );
    assert.deepEqual(
      checks,
      Array.from({ length: 9 }, (_, i) => (i + (i % 2)) % 3 === i % 3),
    );
  });

  it('hashing threads run below the event loop in priority (Linux)', {
    skip: process.platform !== 'linux',
  }, async () => {
    await hashPassword('warm');
    const nice = threadNiceValues();
    assert.ok(nice.includes(10), `a thread at nice 10: ${nice.join(',')}`);
    assert.equal(nice[0], 0, 'the main thread keeps its priority');
  });
});

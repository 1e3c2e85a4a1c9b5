/** argon2id hashing off the event loop, bounded (src/passwords.ts). */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { Argon2Threads, HASHING_NICE } from '../../src/argon2-threads.js';
import { hashPassword, MAX_PASSWORD_LENGTH, verifyPassword } from '../../src/passwords.js';
import { HASHES_IN_FLIGHT, hashesInFlight } from '../../src/threads.js';

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

  it('hashes in flight: cores − 1, at least one', () => {
    assert.equal(hashesInFlight(2), 1);
    assert.equal(hashesInFlight(8), 7);
    assert.equal(hashesInFlight(1), 1);
    assert.equal(HASHES_IN_FLIGHT, hashesInFlight(availableParallelism()));
  });

  it('hashes on a thread of lower CPU priority (Linux: that thread only is niced)', async (t) => {
    if (process.platform !== 'linux') return t.skip('nice values are per thread on Linux only');
    await hashPassword('p');
    const niceOf = (task: string) => {
      const stat = readFileSync(`/proc/self/task/${task}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]); // field 19: nice
    };
    const nice = readdirSync('/proc/self/task').map(niceOf);
    assert.ok(nice.includes(HASHING_NICE), `a thread at nice ${HASHING_NICE}: ${nice.join(' ')}`);
    assert.equal(niceOf(String(process.pid)), 0, 'the event loop keeps its priority');
  });

  it('a hashing thread that dies fails its caller and is replaced', async () => {
    const OPTS = { algorithm: 2, memoryCost: 65536, timeCost: 3, parallelism: 1 };
    const started: Worker[] = [];
    const onWorker = (w: Worker) => started.push(w);
    process.on('worker', onWorker);
    try {
      const threads = new Argon2Threads(1);
      assert.match(await threads.hash('a', OPTS), /^\$argon2id\$/);
      assert.equal(started.length, 1);
      const inFlight = threads.hash('b', OPTS);
      await started[0]!.terminate();
      await assert.rejects(inFlight, /hashing thread exited/);
      assert.equal(await threads.verify(await threads.hash('c', OPTS), 'c'), true);
      assert.equal(started.length, 2, 'a new thread took its place');
      await assert.rejects(threads.verify('not-a-hash', 'c'), 'a malformed hash is an error, not a crash');
      assert.equal(await threads.verify(await threads.hash('d', OPTS), 'd'), true);
      assert.equal(started.length, 2);
      await started[1]!.terminate();
    } finally {
      process.off('worker', onWorker);
    }
  });
});

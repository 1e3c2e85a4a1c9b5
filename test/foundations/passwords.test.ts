/** argon2id hashing off the event loop, bounded (src/auth/passwords.ts). */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { Argon2Threads, HASHING_NICE_INCREMENT, HashingThreadError } from '../../src/auth/argon2-threads.js';
import { hashPassword, MAX_PASSWORD_LENGTH, verifyPassword } from '../../src/auth/passwords.js';
import { HASHES_IN_FLIGHT, hashesInFlight, NICED_HASHING } from '../../src/auth/threads.js';

// Every worker thread this file starts, the password module's own hashing thread included.
const workers: Worker[] = [];
process.on('worker', (w: Worker) => workers.push(w));

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

  it('hashes in flight: one per core at the lower priority (Linux), else cores − 1; at least one, at most four', () => {
    assert.equal(hashesInFlight(2, true), 2);
    assert.equal(hashesInFlight(3, true), 3);
    assert.equal(hashesInFlight(8, true), 4, 'a 1-CPU container on a big host must not start 31 threads');
    assert.equal(hashesInFlight(1, true), 1);
    assert.equal(hashesInFlight(2, false), 1);
    assert.equal(hashesInFlight(4, false), 3);
    assert.equal(hashesInFlight(8, false), 4);
    assert.equal(hashesInFlight(1, false), 1);
    assert.equal(NICED_HASHING, process.platform === 'linux');
    assert.equal(HASHES_IN_FLIGHT, hashesInFlight(availableParallelism()));
  });

  it('hashes on a thread of lower CPU priority (Linux: that thread only is niced)', async (t) => {
    if (process.platform !== 'linux') return t.skip('nice values are per thread on Linux only');
    await hashPassword('p');
    const niceOf = (task: string) => {
      const stat = readFileSync(`/proc/self/task/${task}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]); // field 19: nice
    };
    const own = niceOf(String(process.pid));
    const expected = Math.min(19, own + HASHING_NICE_INCREMENT);
    const nice = readdirSync('/proc/self/task').map(niceOf);
    assert.ok(nice.includes(expected), `a thread at nice ${expected}: ${nice.join(' ')}`);
    assert.equal(niceOf(String(process.pid)), own, 'the event loop keeps its priority');
  });

  it('a hashing thread that dies is replaced and its job is tried once more', async () => {
    const OPTS = { algorithm: 2, memoryCost: 65536, timeCost: 3, parallelism: 1 };
    const before = workers.length;
    const threads = new Argon2Threads(1);
    assert.match(await threads.hash('a', OPTS), /^\$argon2id\$/);
    assert.equal(workers.length, before + 1);
    const inFlight = threads.hash('b', OPTS);
    await workers[before]!.terminate();
    assert.equal(await threads.verify(await inFlight, 'b'), true, 'retried on a fresh thread');
    assert.equal(workers.length, before + 2);
    await assert.rejects(threads.verify('not-a-hash', 'c'), { name: 'Argon2Error' });
    assert.equal(workers.length, before + 2, 'an argon2 error does not cost the thread');
    await workers[before + 1]!.terminate(); // dies while idle: skipped, a fresh one starts
    assert.equal(await threads.verify(await threads.hash('d', OPTS), 'd'), true);
    assert.equal(workers.length, before + 3);
    await workers[before + 2]!.terminate();
  });

  it('a hashing failure is an error, never "wrong password"', async () => {
    const h = await hashPassword('right');
    // Terminated as soon as it exists, before it can take a job (at 'online' it could finish one).
    const kill = (w: Worker) => void w.terminate();
    process.on('worker', kill);
    try {
      for (const w of workers) await w.terminate(); // the module's idle thread too
      await assert.rejects(verifyPassword(h, 'right'), HashingThreadError);
      await assert.rejects(verifyPassword(undefined, 'right'), HashingThreadError);
    } finally {
      process.off('worker', kill);
    }
    assert.equal(await verifyPassword(h, 'right'), true, 'a fresh thread takes over');
    assert.equal(await verifyPassword(undefined, 'right'), false, 'the unknown-user path recovers too');
    assert.equal(
      await verifyPassword('not-a-hash', 'right'),
      false,
      'a malformed stored hash is still false',
    );
  });

  it('threads that cannot start fail every caller, none is left waiting', { timeout: 30_000 }, async () => {
    const OPTS = { algorithm: 2, memoryCost: 65536, timeCost: 3, parallelism: 1 };
    const execArgv: string[] = [];
    const before = workers.length;
    const threads = new Argon2Threads(1, execArgv);
    assert.match(await threads.hash('a', OPTS), /^\$argon2id\$/);
    execArgv.push('--not-a-node-option'); // from now on no thread starts (as at a pid limit)
    const calls = ['b', 'c', 'd'].map((p) => threads.hash(p, OPTS));
    await workers[before]!.terminate(); // the one live thread dies with two callers waiting
    const settled = await Promise.allSettled(calls);
    for (const s of settled) {
      assert.equal(s.status, 'rejected');
      assert.ok((s as PromiseRejectedResult).reason instanceof HashingThreadError);
    }
    execArgv.pop();
    assert.match(await threads.hash('e', OPTS), /^\$argon2id\$/, 'threads start again when they can');
    await workers.at(-1)!.terminate();
  });
});

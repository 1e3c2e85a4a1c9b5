/** `serve --workers`: the count, each worker's share of the cores, and the restart back-off. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hashesInFlight } from '../../src/auth/threads.js';
import { backoff } from '../../src/cluster/backoff.js';
import { cpuShare } from '../../src/cluster/role.js';
import { workerCount } from '../../src/cluster/worker-count.js';

describe('serve --workers', () => {
  test('the count: default 1, the flag before LATCHKEY_WORKERS, auto = the cores', () => {
    assert.equal(workerCount(undefined, {}), 1);
    assert.equal(workerCount(undefined, { LATCHKEY_WORKERS: '' }), 1);
    assert.equal(workerCount(undefined, { LATCHKEY_WORKERS: '3' }), 3);
    assert.equal(workerCount('2', { LATCHKEY_WORKERS: '3' }), 2);
    assert.equal(workerCount('2', { LATCHKEY_WORKERS: 'abc' }), 2);
    assert.equal(workerCount('auto', {}, 8), 8);
    assert.equal(workerCount(undefined, { LATCHKEY_WORKERS: 'auto' }, 32), 32);
    assert.equal(workerCount('256', {}), 256);
    for (const bad of ['0', '-1', 'abc', '1.5', '257', '1e2', ' ', '0x2'])
      assert.throws(() => workerCount(bad, {}), { name: 'UsageError' }, bad);
  });

  test('hashing threads per worker: its share of the cores, so N workers do not oversubscribe', () => {
    assert.equal(cpuShare(8, 1), 8);
    assert.equal(cpuShare(8, 2), 4);
    assert.equal(cpuShare(8, 8), 1);
    assert.equal(cpuShare(2, 4), 1);
    assert.equal(hashesInFlight(cpuShare(32, 4)), 4);
    assert.equal(hashesInFlight(cpuShare(8, 8)), 1);
    assert.ok(8 * hashesInFlight(cpuShare(8, 8)) <= 8);
  });

  test('restart back-off: 100 ms doubling to 10 s, from 100 ms again after 10 s up', () => {
    const b = backoff();
    assert.deepEqual(
      Array.from({ length: 9 }, () => b.next(50)),
      [100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000],
    );
    assert.equal(b.next(10_000), 100);
    assert.equal(b.next(20), 200);
  });
});

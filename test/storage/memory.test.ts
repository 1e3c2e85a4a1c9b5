/**
 * What only the in-memory stores (src/storage/memory/, for tests) need checked beyond the store
 * contract (test/storage/contract.test.ts runs that against them): how their transactions are
 * serialized and undone, their end, and that the server cannot be started on them.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { openMemoryStorage } from '../../src/storage/memory/index.js';
import type { Session, Stores } from '../../src/storage/types.js';

const T0 = 1_790_000_000_000;

const session = (idHash: string): Session => ({
  idHash,
  userId: 'u1',
  authTime: T0,
  createdAt: T0,
  lastSeenAt: T0,
  expiresAt: T0 + 3_600_000,
  endedAt: null,
});

describe('in-memory stores', () => {
  test('transactions run one at a time, so one rolled back never undoes the next one', async () => {
    const s = openMemoryStorage();
    await s.sessions.create(session('a'));
    const order: string[] = [];
    const first = s.transaction(async (tx) => {
      order.push('first:start');
      await tx.sessions.touch('a', T0 + 1);
      await sleep(5);
      order.push('first:end');
      throw new Error('first fails');
    });
    const second = s.transaction(async (tx) => {
      order.push('second:start');
      await tx.sessions.touch('a', T0 + 2);
      return 'second';
    });
    await assert.rejects(first, /first fails/);
    assert.equal(await second, 'second');
    assert.deepEqual(order, ['first:start', 'first:end', 'second:start']);
    assert.equal((await s.sessions.get('a'))?.lastSeenAt, T0 + 2, 'the rollback came before the second');
  });

  test('a rollback undoes only its own writes: those made meanwhile outside it stay', async () => {
    const s = openMemoryStorage();
    await assert.rejects(
      s.transaction(async (tx) => {
        await tx.sessions.create(session('inside'));
        await s.sessions.create(session('outside'));
        await tx.sessions.end('inside', T0 + 1);
        throw new Error('undo');
      }),
      /undo/,
    );
    assert.equal(await s.sessions.get('inside'), undefined);
    assert.deepEqual(await s.sessions.get('outside'), session('outside'));
    // Deletions are undone too (throttle rows: forget).
    const [failure] = await s.throttle.recordFailure(['account:x'], T0);
    await assert.rejects(
      s.transaction(async (tx) => {
        await tx.throttle.forget([failure!]);
        assert.deepEqual(await tx.throttle.recentFailures('account:x', 0, 10), []);
        throw new Error('undo');
      }),
    );
    assert.deepEqual(await s.throttle.recentFailures('account:x', 0, 10), [{ id: failure, at: T0 }]);
  });

  test("a transaction's stores refuse use once it has ended; a closed storage refuses everything", async () => {
    const s = openMemoryStorage();
    let leaked: Stores | undefined;
    await s.transaction(async (tx) => {
      leaked = tx;
    });
    await assert.rejects(leaked!.sessions.get('a'), /transaction has already ended/);
    assert.equal(await s.serialized(async () => 7), 7);
    await s.close();
    await assert.rejects(s.sessions.get('a'), /closed/);
    await assert.rejects(
      s.transaction(async () => {}),
      /closed/,
    );
  });

  test('only tests reach it: nothing under src/ outside src/storage/memory/ imports it', () => {
    const root = new URL('../../src/', import.meta.url).pathname;
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) {
          if (relative(root, p) !== join('storage', 'memory')) walk(p);
        } else if (/\.tsx?$/.test(name) && /from '[^']*\bmemory\/[^']*'/.test(readFileSync(p, 'utf8'))) {
          offenders.push(relative(root, p));
        }
      }
    };
    walk(root);
    assert.deepEqual(offenders, [], 'openStorage (LATCHKEY_DATABASE) must not be able to select it');
  });
});

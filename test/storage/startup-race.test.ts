/**
 * Several `latchkey serve` processes started at the same moment on a fresh database (issue 13,
 * "Two servers starting on one fresh SQLite file"): real processes, not one process with two
 * connections. Every one must start, the schema must be migrated once (each migration listed once
 * in latchkey_migrations) and exactly one signing-key generation must exist.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { databaseForTests, openStorage } from '../../src/storage/index.js';
import { createTempDatabase, PG_SKIP, pgQuery } from '../helpers/databases.js';
import { spawnServe } from '../helpers/serve-process.js';
import { tempDir } from '../helpers/server.js';

interface Observed {
  migrations: string[];
  generations: number[];
}

/** Every migration name in code, in order (from a database migrated in this process). */
async function allMigrations(): Promise<string[]> {
  const dir = tempDir('latchkey-race-ref-');
  try {
    const s = await openStorage(join(dir, 'ref.db'));
    try {
      const rows = await databaseForTests(s)
        .selectFrom('latchkey_migrations' as never)
        .select('name' as never)
        .orderBy('name' as never)
        .execute();
      return rows.map((r) => (r as { name: string }).name);
    } finally {
      await s.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Starts `n` servers on `db` together; returns the output of each one that did not start. */
async function startTogether(db: string, n: number): Promise<string[]> {
  const procs = Array.from({ length: n }, () => spawnServe(db));
  const results = await Promise.allSettled(procs.map((p) => p.ready));
  await Promise.all(procs.map((p) => p.stop()));
  return results.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error).message)] : []));
}

function checkOne(label: string, seen: Observed, expected: string[]): string[] {
  const problems: string[] = [];
  if (seen.migrations.join() !== expected.join())
    problems.push(`${label}: latchkey_migrations lists ${JSON.stringify(seen.migrations)}`);
  if (seen.generations.join() !== '1')
    problems.push(`${label}: signing-key generations ${JSON.stringify(seen.generations)}`);
  return problems;
}

function report(rounds: number, failures: string[], problems: string[]): void {
  assert.deepEqual(
    { failedStarts: failures.length, problems },
    { failedStarts: 0, problems: [] },
    `${failures.length} start(s) failed in ${rounds} rounds; first:\n${failures.slice(0, 3).join('\n---\n')}`,
  );
}

describe('servers starting together on a fresh SQLite file', () => {
  const sqliteState = (file: string): Observed => {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const migrations = (
        db.prepare('select name from latchkey_migrations order by name').all() as {
          name: string;
        }[]
      ).map((r) => r.name);
      const generations = (
        db.prepare('select generation from signing_keys order by generation').all() as {
          generation: number;
        }[]
      ).map((r) => r.generation);
      return { migrations, generations };
    } finally {
      db.close();
    }
  };

  for (const [rounds, n] of [
    [16, 2],
    [4, 4],
  ] as const) {
    test(`${rounds} rounds of ${n} processes: every one starts, one key generation, each migration once`, async () => {
      const expected = await allMigrations();
      const failures: string[] = [];
      const problems: string[] = [];
      for (let i = 0; i < rounds; i++) {
        const dir = tempDir('latchkey-race-');
        const file = join(dir, 'latchkey.db');
        try {
          failures.push(...(await startTogether(file, n)));
          problems.push(...checkOne(`round ${i + 1}`, sqliteState(file), expected));
        } catch (err) {
          problems.push(`round ${i + 1}: ${(err as Error).message}`);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
      report(rounds, failures, problems);
    });
  }
});

describe('servers starting together on a fresh PostgreSQL database', { skip: PG_SKIP }, () => {
  test('8 rounds of 3 processes: every one starts, one key generation, each migration once', async () => {
    const expected = await allMigrations();
    const failures: string[] = [];
    const problems: string[] = [];
    for (let i = 0; i < 8; i++) {
      // Throws (the test fails) when LATCHKEY_TEST_POSTGRES is set and PostgreSQL is unreachable.
      const tmp = await createTempDatabase('latchkey_race');
      try {
        failures.push(...(await startTogether(tmp.url, 3)));
        const migrations = (
          await pgQuery<{ name: string }>(tmp.url, 'select name from latchkey_migrations order by name')
        ).map((r) => r.name);
        const generations = (
          await pgQuery<{ generation: number }>(
            tmp.url,
            'select generation from signing_keys order by generation',
          )
        ).map((r) => Number(r.generation));
        problems.push(...checkOne(`round ${i + 1}`, { migrations, generations }, expected));
      } finally {
        await tmp.drop();
      }
    }
    report(8, failures, problems);
  });
});

/**
 * How many password hashes run at once. Hashes (argon2id, ≈ 20 ms of CPU each) and RS256
 * signatures share libuv's thread pool (UV_THREADPOOL_SIZE, 4 unless the operator sets it in the
 * environment; it cannot be changed from inside an ES module, as the module loader has started the
 * pool by then). Hashing is bounded to (cores − 1) so a sign-in burst never takes every core, and
 * to (pool − 2) so at least two pool threads stay free for signatures (bench/README.md: /token p99
 * under sign-in load). At least one hash always runs.
 */
import { availableParallelism } from 'node:os';

const cores = Math.max(1, availableParallelism());

/** libuv's pool size as it will be: the environment's value (1–1024), else 4. */
export function threadPoolSize(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env['UV_THREADPOOL_SIZE']);
  return Number.isInteger(n) && n >= 1 ? Math.min(n, 1024) : 4;
}

export const hashesInFlight = (poolSize: number, cpuCount = cores): number =>
  Math.max(1, Math.min(cpuCount - 1, poolSize - 2));

export const HASHES_IN_FLIGHT = hashesInFlight(threadPoolSize());

/**
 * How many threads do background work. Password hashes (argon2id, ≈ 20 ms of CPU each) and RS256
 * signatures both run on libuv's thread pool. Hashing is bounded to (cores − 1) at once, so a
 * sign-in burst never takes every core; the pool has a thread per core on top of that, so a
 * signature never queues behind a hash (bench/README.md: /token p99 under sign-in load).
 */
import { availableParallelism } from 'node:os';

const cores = Math.max(1, availableParallelism());

export const HASHES_IN_FLIGHT = Math.max(1, cores - 1);

export const THREAD_POOL_SIZE = Math.max(2, cores) + HASHES_IN_FLIGHT;

/**
 * How many password hashes run at once: (cores − 1), at least one. A hash is ≈ 20 ms of CPU on a
 * hashing thread of its own (src/argon2-threads.ts); bounding them keeps a core for the event
 * loop and for the RS256 signatures on libuv's thread pool even during a sign-in burst
 * (bench/README.md: /token p99 under sign-in load).
 */
import { availableParallelism } from 'node:os';

export const hashesInFlight = (cpuCount: number): number => Math.max(1, cpuCount - 1);

export const HASHES_IN_FLIGHT = hashesInFlight(availableParallelism());

/**
 * How many password hashes run at once: (cores − 1), at least one and at most four. A hash is
 * ≈ 20 ms of CPU and 19 MiB of memory on a hashing thread of its own (src/auth/argon2-threads.ts);
 * bounding them keeps a core for the event loop and for the RS256 signatures on libuv's thread
 * pool even during a sign-in burst (bench/README.md: /token p99 under sign-in load). The upper
 * bound matters in containers: Node counts the host's cores, not the container's CPU quota.
 */
import { availableParallelism } from 'node:os';

export const MAX_HASHES_IN_FLIGHT = 4;

export const hashesInFlight = (cpuCount: number): number =>
  Math.max(1, Math.min(cpuCount - 1, MAX_HASHES_IN_FLIGHT));

export const HASHES_IN_FLIGHT = hashesInFlight(availableParallelism());

/**
 * How many password hashes run at once. A hash is ≈ 11–20 ms of CPU and 19 MiB of memory on a
 * hashing thread of its own (src/auth/argon2-threads.ts), at most four of them.
 *
 * - Linux: one per core. The hashing threads run 10 nice levels below the process, so the
 *   scheduler gives a core to the event loop and the RS256 signatures whenever they want it and
 *   hashes on what is left: a sign-in burst uses the whole machine without raising the `/token`
 *   latency (bench/README.md: sign-ins/s and `/token` p99 under sign-in load).
 * - Elsewhere a nice value would lower the whole process, so the threads run at normal priority
 *   and one core stays free for requests: cores − 1, at least one.
 *
 * The upper bound matters in containers: Node counts the host's cores, not the container's CPU
 * quota. Under `serve --workers N` each process counts only its share of the cores, so N
 * processes do not run N times as many hashes as there are cores.
 */
import { processCores } from '../cluster/role.js';

export const MAX_HASHES_IN_FLIGHT = 4;

/** Whether the hashing threads can run below the rest of the process (per-thread nice values). */
export const NICED_HASHING = process.platform === 'linux';

export const hashesInFlight = (cpuCount: number, niced = NICED_HASHING): number =>
  Math.max(1, Math.min(niced ? cpuCount : cpuCount - 1, MAX_HASHES_IN_FLIGHT));

/** From this process's cores: under `serve --workers N`, its share (src/cluster/role.ts). */
export const HASHES_IN_FLIGHT = hashesInFlight(processCores());

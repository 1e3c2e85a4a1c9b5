/**
 * How many password hashes run at once: (cores − 1), at least one and at most four. A hash is
 * ≈ 20 ms of CPU and 19 MiB of memory on a hashing thread of its own (src/auth/argon2-threads.ts);
 * bounding them keeps a core for the event loop and for the RS256 signatures on libuv's thread
 * pool even during a sign-in burst (bench/README.md: /token p99 under sign-in load). The upper
 * bound matters in containers: Node counts the host's cores, not the container's CPU quota.
 * Under `serve --workers N` each process counts only its share of the cores, so N processes do
 * not run N times as many hashes as there are cores.
 */
import { processCores } from '../cluster/role.js';

export const MAX_HASHES_IN_FLIGHT = 4;

export const hashesInFlight = (cpuCount: number): number =>
  Math.max(1, Math.min(cpuCount - 1, MAX_HASHES_IN_FLIGHT));

/** From this process's cores: under `serve --workers N`, its share (src/cluster/role.ts). */
export const HASHES_IN_FLIGHT = hashesInFlight(processCores());

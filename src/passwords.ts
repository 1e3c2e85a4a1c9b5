/**
 * argon2id password hashing off the event loop (@node-rs/argon2 runs on libuv's thread pool),
 * with at most (cores − 1) hashes in flight (at least one): a sign-in burst never takes every
 * core, so token requests keep their latency (bench: /token p99 under sign-in load).
 * (A worker thread at lower priority was measured too: slightly better p99, 12 MiB more memory.)
 */
import { hash, verify } from '@node-rs/argon2';
import { HASHES_IN_FLIGHT } from './threads.js';

// OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
const OPTIONS = {
  algorithm: 2 /* Algorithm.Argon2id (a const enum) */,
  memoryCost: 19456,
  timeCost: 2,
  parallelism: 1,
} as const;

class Semaphore {
  #free: number;
  #waiting: Array<() => void> = [];
  constructor(size: number) {
    this.#free = size;
  }
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}

const slots = new Semaphore(HASHES_IN_FLIGHT);

export const MAX_PASSWORD_LENGTH = 1024;

export function hashPassword(password: string): Promise<string> {
  return slots.run(() => hash(password, OPTIONS));
}

/** Hash of a random password: verified against when the user does not exist, so timing does not tell. */
let dummyHash: Promise<string> | undefined;

export async function verifyPassword(passwordHash: string | undefined, password: string): Promise<boolean> {
  if (password.length > MAX_PASSWORD_LENGTH) return false;
  if (passwordHash === undefined) {
    dummyHash ??= hashPassword(`dummy-${Math.random()}`);
    const h = await dummyHash;
    await slots.run(() => verify(h, password).catch(() => false));
    return false;
  }
  return slots.run(() => verify(passwordHash, password).catch(() => false));
}

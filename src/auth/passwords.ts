/**
 * argon2id password hashing off the event loop, on dedicated hashing threads at a lower CPU
 * priority (argon2-threads.ts), (cores − 1) hashes at once (at least one, at most four): a sign-in
 * burst never takes every core, and token requests keep their latency (bench: /token p99 under
 * sign-in load).
 */
import { Argon2Error, Argon2Threads } from './argon2-threads.js';
import { HASHES_IN_FLIGHT } from './threads.js';

// OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
const OPTIONS = {
  algorithm: 2 /* Algorithm.Argon2id (a const enum) */,
  memoryCost: 19456,
  timeCost: 2,
  parallelism: 1,
} as const;

const threads = new Argon2Threads(HASHES_IN_FLIGHT);

export const MAX_PASSWORD_LENGTH = 1024;

export function hashPassword(password: string): Promise<string> {
  return threads.hash(password, OPTIONS);
}

/**
 * argon2 refusing a stored hash (malformed) means "no match"; a hashing thread that failed is an
 * error: nothing is known about the password, so it must not count as a wrong one.
 */
const noMatchOnArgon2Error = (err: unknown): false => {
  if (err instanceof Argon2Error) return false;
  throw err;
};

/** Hash of a random password: verified against when the user does not exist, so timing does not tell. */
let dummyHash: Promise<string> | undefined;

function dummy(): Promise<string> {
  dummyHash ??= hashPassword(`dummy-${Math.random()}`).catch((err: unknown) => {
    dummyHash = undefined; // try again next time
    throw err;
  });
  return dummyHash;
}

export async function verifyPassword(passwordHash: string | undefined, password: string): Promise<boolean> {
  if (password.length > MAX_PASSWORD_LENGTH) return false;
  if (passwordHash === undefined) {
    await threads.verify(await dummy(), password).catch(noMatchOnArgon2Error);
    return false;
  }
  return threads.verify(passwordHash, password).catch(noMatchOnArgon2Error);
}

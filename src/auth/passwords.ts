/**
 * argon2id password hashing off the event loop, on dedicated hashing threads at a lower CPU
 * priority (argon2-threads.ts), as many at once as threads.ts allows: a sign-in burst uses the
 * cores the requests leave, and token requests keep their latency (bench/README.md: /token p99
 * under sign-in load).
 */
import { Argon2Error, Argon2Threads } from './argon2-threads.js';
import { HASHES_IN_FLIGHT } from './threads.js';

/** argon2id's cost settings (a hash carries its own, so verifying needs none). */
export interface HashCost {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

/** OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1. */
export const OWASP_COST: HashCost = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

export const MAX_PASSWORD_LENGTH = 1024;

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** False for a wrong password, an unknown user (`passwordHash` undefined) or a malformed hash. */
  verify(passwordHash: string | undefined, password: string): Promise<boolean>;
}

const threads = new Argon2Threads(HASHES_IN_FLIGHT);

/**
 * argon2 refusing a stored hash (malformed) means "no match"; a hashing thread that failed is an
 * error: nothing is known about the password, so it must not count as a wrong one.
 */
const noMatchOnArgon2Error = (err: unknown): false => {
  if (err instanceof Argon2Error) return false;
  throw err;
};

/**
 * A hasher at the given cost. The server uses OWASP_COST; tests may pass a cheaper one to their
 * in-process servers (the hashes they make verify as any argon2id hash does).
 */
export function createPasswordHasher(cost: HashCost = OWASP_COST): PasswordHasher {
  const options = { algorithm: 2 /* Algorithm.Argon2id (a const enum) */, ...cost } as const;
  const hash = (password: string) => threads.hash(password, options);
  /** Hash of a random password: verified against when the user does not exist, so timing does not tell. */
  let dummyHash: Promise<string> | undefined;
  const dummy = (): Promise<string> => {
    dummyHash ??= hash(`dummy-${Math.random()}`).catch((err: unknown) => {
      dummyHash = undefined; // try again next time
      throw err;
    });
    return dummyHash;
  };
  return {
    hash,
    async verify(passwordHash, password) {
      if (password.length > MAX_PASSWORD_LENGTH) return false;
      if (passwordHash === undefined) {
        await threads.verify(await dummy(), password).catch(noMatchOnArgon2Error);
        return false;
      }
      return threads.verify(passwordHash, password).catch(noMatchOnArgon2Error);
    },
  };
}

const standard = createPasswordHasher();

/** The server's hasher (OWASP cost). */
export const passwordHasher: PasswordHasher = standard;
export const hashPassword = (password: string): Promise<string> => standard.hash(password);
export const verifyPassword = (passwordHash: string | undefined, password: string): Promise<boolean> =>
  standard.verify(passwordHash, password);

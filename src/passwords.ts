/**
 * argon2id password hashing, off the event loop and below request handling in priority.
 *
 * Hashes run in (cores − 1, at least one) worker threads that lower their own scheduling
 * priority (nice 10): under a sign-in burst, the threads that answer requests — the event loop
 * and the thread pool signing tokens — win the CPU, so token requests keep their latency while
 * sign-ins queue (bench: /token p99 under sign-in load). Workers start on first use.
 */

import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

// OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
const OPTIONS = {
  algorithm: 2 /* Algorithm.Argon2id (a const enum) */,
  memoryCost: 19456,
  timeCost: 2,
  parallelism: 1,
} as const;

/** Lower priority for hashing threads (Linux: setpriority on a thread's own id affects only it). */
const HASHING_NICE = 10;

// CommonJS source evaluated in the worker; the argon2 module is resolved here and passed in, so
// this works from the sources, the built files and a bundle alike.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const os = require('node:os');
// Linux: a thread id of 0 is this thread only (elsewhere it would be the whole process).
if (process.platform === 'linux') { try { os.setPriority(workerData.nice); } catch {} }
const argon2 = require(workerData.argon2);
parentPort.on('message', ({ id, op, a, b, options }) => {
  try {
    const value = op === 'hash' ? argon2.hashSync(a, options) : argon2.verifySync(a, b);
    parentPort.postMessage({ id, value });
  } catch (err) {
    parentPort.postMessage({ id, error: String(err && err.message || err) });
  }
});
`;

interface Job {
  id: number;
  op: 'hash' | 'verify';
  a: string;
  b?: string;
  resolve: (v: string | boolean) => void;
  reject: (e: Error) => void;
}

class HashingPool {
  readonly #size: number;
  #idle: Worker[] = [];
  #started = 0;
  #queue: Job[] = [];
  #running = new Map<Worker, Job>();
  #nextId = 1;

  constructor(size: number) {
    this.#size = size;
  }

  run(op: 'hash' | 'verify', a: string, b?: string): Promise<string | boolean> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ id: this.#nextId++, op, a, ...(b === undefined ? {} : { b }), resolve, reject });
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#queue.length > 0) {
      const worker = this.#idle.pop() ?? (this.#started < this.#size ? this.#start() : undefined);
      if (!worker) return;
      const job = this.#queue.shift() as Job;
      this.#running.set(worker, job);
      worker.ref();
      worker.postMessage({ id: job.id, op: job.op, a: job.a, b: job.b, options: OPTIONS });
    }
  }

  #start(): Worker {
    this.#started++;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { argon2: createRequire(import.meta.url).resolve('@node-rs/argon2'), nice: HASHING_NICE },
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2 },
    });
    worker.on('message', (m: { id: number; value?: string | boolean; error?: string }) => {
      const job = this.#running.get(worker);
      this.#running.delete(worker);
      worker.unref();
      this.#idle.push(worker);
      if (job) {
        if (m.error !== undefined) job.reject(new Error(m.error));
        else job.resolve(m.value as string | boolean);
      }
      this.#pump();
    });
    let failure: Error | undefined;
    worker.on('error', (err) => {
      failure = err;
    });
    worker.on('exit', (code) => this.#lost(worker, failure ?? new Error(`password worker exited (${code})`)));
    return worker;
  }

  /** A worker that died fails its job (if it had one) and frees its place; the next job starts another. */
  #lost(worker: Worker, err: Error): void {
    this.#started--;
    const idle = this.#idle.indexOf(worker);
    if (idle >= 0) this.#idle.splice(idle, 1);
    const job = this.#running.get(worker);
    this.#running.delete(worker);
    job?.reject(err);
    this.#pump();
  }
}

const pool = new HashingPool(Math.max(1, availableParallelism() - 1));

export const MAX_PASSWORD_LENGTH = 1024;

export async function hashPassword(password: string): Promise<string> {
  return (await pool.run('hash', password)) as string;
}

/** Hash of a random password: verified against when the user does not exist, so timing does not tell. */
let dummyHash: Promise<string> | undefined;

export async function verifyPassword(passwordHash: string | undefined, password: string): Promise<boolean> {
  if (password.length > MAX_PASSWORD_LENGTH) return false;
  if (passwordHash === undefined) {
    dummyHash ??= hashPassword(`dummy-${Math.random()}`);
    const h = await dummyHash;
    await pool.run('verify', h, password).catch(() => false);
    return false;
  }
  return (await pool.run('verify', passwordHash, password).catch(() => false)) as boolean;
}

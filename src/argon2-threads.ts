/**
 * argon2id on dedicated hashing threads that run at a lower CPU priority than the rest of the
 * server (Linux: nice 10 for that thread only).
 *
 * A hash is ≈ 20 ms of CPU. On libuv's shared thread pool it competes on equal terms with the
 * event loop and with the pool's RS256 signatures, so while sign-ins run flat out the token
 * endpoint's latency grows with them (bench/README.md: /token p99 under sign-in load). Here the
 * scheduler gives the hashing thread ≈ 10 % of a core whenever token work wants it, and all of an
 * otherwise idle core. At most one hash runs per thread; callers queue for a free thread.
 *
 * The thread's code is a few lines of CommonJS evaluated in a worker, so it runs the same under
 * tsc's output, tsx and the benchmark's bundle. Its isolate is kept small (resourceLimits).
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export interface Argon2Options {
  algorithm: number;
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

type Job =
  | { op: 'hash'; password: string; options: Argon2Options }
  | { op: 'verify'; hash: string; password: string };

type Reply = { id: number; ok: true; value: string | boolean } | { id: number; ok: false; message: string };

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
if (process.platform === 'linux') {
  // On Linux a nice value belongs to one thread; elsewhere it would lower the whole process.
  try { require('node:os').setPriority(workerData.nice); } catch {}
}
const argon2 = require(workerData.argon2);
parentPort.on('message', (job) => {
  try {
    const value = job.op === 'hash'
      ? argon2.hashSync(job.password, job.options)
      : argon2.verifySync(job.hash, job.password);
    parentPort.postMessage({ id: job.id, ok: true, value });
  } catch (err) {
    parentPort.postMessage({ id: job.id, ok: false, message: String(err && err.message || err) });
  }
});
`;

/** The lower priority of a hashing thread (nice 0 is normal, 19 the lowest). */
export const HASHING_NICE = 10;

class HashingThread {
  readonly #worker: Worker;
  #pending: { id: number; resolve: (v: string | boolean) => void; reject: (e: Error) => void } | undefined;
  #nextId = 0;
  dead = false;

  constructor(argon2Path: string) {
    this.#worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { argon2: argon2Path, nice: HASHING_NICE },
      // The hash's memory (m = 19 MiB) is native, outside these limits.
      resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16, stackSizeMb: 1 },
      stdout: false,
      stderr: false,
    });
    this.#worker.unref(); // an idle hashing thread never keeps the process alive
    this.#worker.on('message', (reply: Reply) => {
      const pending = this.#pending;
      if (!pending || pending.id !== reply.id) return;
      this.#settle();
      if (reply.ok) pending.resolve(reply.value);
      else pending.reject(new Error(reply.message));
    });
    const die = (err: Error) => {
      this.dead = true;
      const pending = this.#pending;
      this.#settle();
      pending?.reject(err);
    };
    this.#worker.on('error', die);
    this.#worker.on('exit', (code) => die(new Error(`hashing thread exited (code ${code})`)));
  }

  #settle(): void {
    this.#pending = undefined;
    this.#worker.unref();
  }

  run(job: Job): Promise<string | boolean> {
    if (this.dead) return Promise.reject(new Error('hashing thread is gone'));
    return new Promise((resolve, reject) => {
      const id = ++this.#nextId;
      this.#pending = { id, resolve, reject };
      this.#worker.ref(); // a command waiting for its hash (latchkey users create) must not exit
      this.#worker.postMessage({ ...job, id });
    });
  }
}

/** A fixed number of hashing threads, started on first use; a thread that dies is replaced. */
export class Argon2Threads {
  readonly #size: number;
  readonly #argon2Path: string;
  #idle: HashingThread[] = [];
  #started = 0;
  #waiting: Array<(thread: HashingThread) => void> = [];

  constructor(size: number) {
    this.#size = Math.max(1, size);
    this.#argon2Path = createRequire(import.meta.url).resolve('@node-rs/argon2');
  }

  async #acquire(): Promise<HashingThread> {
    const idle = this.#idle.pop();
    if (idle) return idle;
    if (this.#started < this.#size) {
      this.#started++;
      return new HashingThread(this.#argon2Path);
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(thread: HashingThread): void {
    if (thread.dead) {
      this.#started--;
      const next = this.#waiting.shift();
      if (next) {
        this.#started++;
        next(new HashingThread(this.#argon2Path));
      }
      return;
    }
    const next = this.#waiting.shift();
    if (next) next(thread);
    else this.#idle.push(thread);
  }

  async run(job: Job): Promise<string | boolean> {
    const thread = await this.#acquire();
    try {
      return await thread.run(job);
    } finally {
      this.#release(thread);
    }
  }

  hash(password: string, options: Argon2Options): Promise<string> {
    return this.run({ op: 'hash', password, options }) as Promise<string>;
  }

  verify(hash: string, password: string): Promise<boolean> {
    return this.run({ op: 'verify', hash, password }) as Promise<boolean>;
  }
}

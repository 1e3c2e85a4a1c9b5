/**
 * argon2id on dedicated hashing threads that run at a lower CPU priority than the rest of the
 * server (Linux: 10 nice levels below the process, for those threads only).
 *
 * A hash is ≈ 20 ms of CPU. On libuv's shared thread pool it competes on equal terms with the
 * event loop and with the pool's RS256 signatures, so while sign-ins run flat out the token
 * endpoint's latency grows with them. Here the scheduler gives a hashing thread only a small
 * share of a core whenever token work wants that core, and all of an otherwise idle one (the
 * measured effect on the /token p99 under sign-in load, and why this is kept over the library's
 * own async API with a concurrency limit: bench/README.md, item 15). At most one hash runs per thread; callers queue for a free thread.
 *
 * The thread's code is a few lines of CommonJS evaluated in a worker, so it runs the same under
 * tsc's output, tsx and the benchmark's bundle. Its isolate is kept small (resourceLimits) and
 * starts without the parent's Node options (a preloaded agent has no business there).
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

/** argon2 itself refused (for example a malformed stored hash). */
export class Argon2Error extends Error {
  override name = 'Argon2Error';
}

/** The hashing thread could not start or died: nothing is known about the password. */
export class HashingThreadError extends Error {
  override name = 'HashingThreadError';
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
if (process.platform === 'linux') {
  // On Linux a nice value belongs to one thread (this one); elsewhere it would lower the whole
  // process. A new thread starts at its creator's nice value; go niceIncrement levels below it.
  try {
    const os = require('node:os');
    os.setPriority(Math.min(19, os.getPriority() + workerData.niceIncrement));
  } catch {}
}
const argon2 = require(workerData.argon2);
parentPort.on('message', (job) => {
  try {
    const value = job.op === 'hash'
      ? argon2.hashSync(job.password, job.options)
      : argon2.verifySync(job.hash, job.password);
    parentPort.postMessage({ id: job.id, ok: true, value });
  } catch (err) {
    parentPort.postMessage({ id: job.id, ok: false, message: String((err && err.message) || err) });
  }
});
`;

/** How many nice levels a hashing thread runs below the process (0 normal, 19 the lowest). */
export const HASHING_NICE_INCREMENT = 10;

let argon2Path: string | undefined;

class HashingThread {
  readonly #worker: Worker;
  #pending: { id: number; resolve: (v: string | boolean) => void; reject: (e: Error) => void } | undefined;
  #nextId = 0;
  dead = false;

  /** Throws HashingThreadError when the thread cannot be started. */
  constructor(execArgv: readonly string[]) {
    try {
      argon2Path ??= createRequire(import.meta.url).resolve('@node-rs/argon2');
      const env = { ...process.env };
      delete env['NODE_OPTIONS'];
      this.#worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { argon2: argon2Path, niceIncrement: HASHING_NICE_INCREMENT },
        execArgv: [...execArgv],
        env,
        // The hash's memory (m = 19 MiB) is native, outside these limits.
        resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16, stackSizeMb: 1 },
        stdout: false,
        stderr: false,
      });
    } catch (err) {
      throw new HashingThreadError(`hashing thread did not start: ${(err as Error).message}`);
    }
    this.#worker.unref(); // an idle hashing thread never keeps the process alive
    this.#worker.on('message', (reply: Reply) => {
      const pending = this.#pending;
      if (!pending || pending.id !== reply.id) return;
      this.#settle();
      if (reply.ok) pending.resolve(reply.value);
      else pending.reject(new Argon2Error(reply.message));
    });
    const die = (err: Error) => {
      this.dead = true;
      const pending = this.#pending;
      this.#settle();
      pending?.reject(new HashingThreadError(`hashing thread failed: ${err.message}`));
    };
    this.#worker.on('error', die);
    this.#worker.on('exit', (code) => die(new Error(`exited (code ${code})`)));
  }

  #settle(): void {
    this.#pending = undefined;
    this.#worker.unref();
  }

  run(job: Job): Promise<string | boolean> {
    if (this.dead) return Promise.reject(new HashingThreadError('hashing thread is gone'));
    return new Promise((resolve, reject) => {
      const id = ++this.#nextId;
      this.#pending = { id, resolve, reject };
      this.#worker.ref(); // a command waiting for its hash (latchkey users create) must not exit
      this.#worker.postMessage({ ...job, id });
    });
  }
}

/**
 * A bounded set of hashing threads, started on first use. A thread that dies is dropped, and the
 * job it held is tried once more on a fresh thread.
 */
export class Argon2Threads {
  readonly #size: number;
  #idle: HashingThread[] = [];
  #started = 0;
  #waiting: Array<{ resolve: (t: HashingThread) => void; reject: (e: Error) => void }> = [];

  readonly #execArgv: readonly string[];

  /** `execArgv`: Node options for the hashing threads (none by default; tests pass bad ones). */
  constructor(size: number, execArgv: readonly string[] = []) {
    this.#size = Math.max(1, size);
    this.#execArgv = execArgv;
  }

  #start(): HashingThread {
    this.#started++;
    try {
      return new HashingThread(this.#execArgv);
    } catch (err) {
      this.#started--;
      throw err;
    }
  }

  async #acquire(): Promise<HashingThread> {
    for (let idle = this.#idle.pop(); idle; idle = this.#idle.pop()) {
      if (!idle.dead) return idle;
      this.#started--; // died while idle
    }
    if (this.#started < this.#size) return this.#start();
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  #release(thread: HashingThread): void {
    if (!thread.dead) {
      const next = this.#waiting.shift();
      if (next) next.resolve(thread);
      else this.#idle.push(thread);
      return;
    }
    this.#started--;
    // The dead thread's slot goes to the waiters: a fresh thread for the first one that can get
    // one; those for whom none would start are told so (each then retries once, in run()).
    while (this.#waiting.length > 0 && this.#started < this.#size) {
      const next = this.#waiting.shift()!;
      try {
        next.resolve(this.#start());
        return;
      } catch (err) {
        next.reject(err as Error);
      }
    }
  }

  async #once(job: Job): Promise<string | boolean> {
    const thread = await this.#acquire();
    try {
      return await thread.run(job);
    } finally {
      this.#release(thread);
    }
  }

  async run(job: Job): Promise<string | boolean> {
    try {
      return await this.#once(job);
    } catch (err) {
      if (!(err instanceof HashingThreadError)) throw err;
      return this.#once(job); // once more, on a fresh thread
    }
  }

  hash(password: string, options: Argon2Options): Promise<string> {
    return this.run({ op: 'hash', password, options }) as Promise<string>;
  }

  verify(hash: string, password: string): Promise<boolean> {
    return this.run({ op: 'verify', hash, password }) as Promise<boolean>;
  }
}

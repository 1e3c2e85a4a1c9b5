/**
 * Keeps V8's young generation (the "new space", where short-lived objects are allocated) near a
 * target size, `latchkey serve` only (LATCHKEY_YOUNG_GENERATION_MIB, default 16). Near, not
 * exactly: GC notifications arrive asynchronously, so a burst of collections within one
 * synchronous stretch can overshoot by one doubling until V8 shrinks the space again. The new
 * space starts at 2 MiB and doubles, so targets below 4 keep it at 2 MiB.
 *
 * Under steady request load V8 doubles the new space up to 32 MiB (16 MiB semi-spaces on 64-bit).
 * Measured with the benchmark's load (bench/README.md, item 16): 16 MiB saves ≈ 12 MiB resident
 * for a few per cent of throughput at most; 8 MiB saves ≈ 20 MiB but cost 12–16 % of RS256 flows/s. `node --max-semi-space-size` would do this, but only on Node's command line,
 * so instead the growth factor is switched at run time: V8 reads `--semi-space-growth-factor`
 * each time it considers growing the new space, so growth is forbidden (factor 1) before the
 * server's modules load, and after each garbage collection it is allowed (factor 2, V8's default)
 * only while one more doubling stays within the target. When V8 shrinks the new space again
 * (idle), growth is allowed again.
 *
 * An operator who sizes the young generation on Node's command line (`--max-semi-space-size`,
 * `--semi-space-growth-factor`, directly or in NODE_OPTIONS) is left alone, as is a target of 0.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import type { Worker } from 'node:worker_threads';

// V8 accepts - and _ alike in flag names.
const OPERATOR_FLAGS = /--(?:(?:max|min)[-_]semi[-_]space[-_]size|semi[-_]space[-_]growth[-_]factor)\b/;

export function youngGenerationSetByOperator(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string | undefined = process.env['NODE_OPTIONS'],
): boolean {
  return execArgv.some((a) => OPERATOR_FLAGS.test(a)) || OPERATOR_FLAGS.test(nodeOptions ?? '');
}

export function newSpaceBytes(): number {
  return v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
}

export interface YoungGenerationCap {
  stop(): void;
}

const setGrowthFactor = (factor: 1 | 2) => v8.setFlagsFromString(`--semi-space-growth-factor=${factor}`);

/**
 * Forbids growth from now on. Called before the server's modules load: compiling them alone grows
 * the new space from 2 to 16 MiB, faster than the asynchronous GC notifications can follow.
 */
export function holdYoungGeneration(): boolean {
  if (youngGenerationSetByOperator()) return false;
  setGrowthFactor(1);
  return true;
}

/**
 * Lets the new space grow, one doubling at a time, until it reaches `targetMib`; undefined when
 * the cap does not apply (the operator's own flags, or a target of 0, which restores V8's growth).
 */
export function capYoungGeneration(targetMib: number): YoungGenerationCap | undefined {
  if (youngGenerationSetByOperator()) return undefined;
  if (targetMib <= 0) {
    setGrowthFactor(2);
    return undefined;
  }
  const target = targetMib * 1024 * 1024;
  // Growth doubles the new space: allow it only while one doubling stays within the target.
  // Set on every call, not only on a change, and when a worker thread comes online: V8 raises a
  // growth factor below 2 back to 2 whenever it configures a new isolate's heap (the password
  // hashing threads are workers), and that flag is process-wide.
  const adjust = () => setGrowthFactor(newSpaceBytes() * 2 <= target ? 2 : 1);
  const observer = new PerformanceObserver(adjust);
  observer.observe({ entryTypes: ['gc'] });
  const onWorker = (worker: Worker) => worker.once('online', adjust);
  process.on('worker', onWorker);
  adjust();
  return {
    stop() {
      observer.disconnect();
      process.off('worker', onWorker);
      setGrowthFactor(2);
    },
  };
}

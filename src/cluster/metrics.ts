/**
 * /metrics under `serve --workers`: whichever worker answers asks the primary, which collects
 * every live worker's registry over IPC and sums them with prom-client's
 * AggregatorRegistry.aggregate (counters and histograms add up; `latchkey_info` is taken once),
 * together with its own: the live workers and their restarts.
 */
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import type { MetricsJson } from './messages.js';

/** How long the primary waits for the workers' parts; a worker that does not answer is left out. */
export const COLLECT_TIMEOUT_MS = 2000;

export interface PrimaryMetrics {
  registry: Registry;
  workers: Gauge;
  restarts: Counter;
}

export function primaryMetrics(): PrimaryMetrics {
  const registry = new Registry();
  const workers = new Gauge({
    name: 'latchkey_workers',
    help: 'Worker processes of serve --workers that are listening.',
    registers: [registry],
  });
  const restarts = new Counter({
    name: 'latchkey_worker_restarts_total',
    help: 'Worker processes of serve --workers started again after they died.',
    registers: [registry],
  });
  restarts.inc(0);
  return { registry, workers, restarts };
}

/** The Prometheus text of the workers' parts and the primary's own metrics, summed. */
export async function aggregateText(parts: MetricsJson[], own: PrimaryMetrics): Promise<string> {
  const all = [...parts, await own.registry.getMetricsAsJSON()];
  return AggregatorRegistry.aggregate(all).metrics();
}

/** A collection in progress: the parts of the workers asked, until all answered or the time is up. */
export class Collection {
  readonly #parts: MetricsJson[] = [];
  readonly #waiting: Set<number>;
  readonly #done: Promise<MetricsJson[]>;
  #finish!: () => void;

  constructor(workerIds: Iterable<number>, timeoutMs = COLLECT_TIMEOUT_MS) {
    this.#waiting = new Set(workerIds);
    this.#done = new Promise((resolve) => {
      const timer = setTimeout(() => this.#finish(), timeoutMs);
      this.#finish = () => {
        clearTimeout(timer);
        resolve(this.#parts);
      };
    });
    if (this.#waiting.size === 0) this.#finish();
  }

  /** A worker's part (or its exit: `metrics` undefined). */
  add(workerId: number, metrics?: MetricsJson): void {
    if (!this.#waiting.delete(workerId)) return;
    if (metrics) this.#parts.push(metrics);
    if (this.#waiting.size === 0) this.#finish();
  }

  get parts(): Promise<MetricsJson[]> {
    return this.#done;
  }
}

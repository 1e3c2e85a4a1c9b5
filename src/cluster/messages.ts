/**
 * The messages between the primary of `serve --workers` and its workers, over the cluster's IPC
 * channel. Each carries `latchkey` (its kind), which keeps them apart from Node's own.
 */
import type { Registry } from 'prom-client';
import type { DemoSnapshot } from '../demo/attempts.js';

/** One registry's metrics as JSON (what AggregatorRegistry.aggregate takes). */
export type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/** What a worker says to the primary. */
export type WorkerMessage =
  /** It listens; `notes`: the start-up warnings (printed once, from the first worker's). */
  | { latchkey: 'ready'; url: string; location: string; notes: string[] }
  /** It could not start (it exits 1 next); the primary prints this once. */
  | { latchkey: 'failed'; message: string }
  /** Its /metrics asks for every worker's metrics, aggregated. */
  | { latchkey: 'metrics'; id: number }
  /** Its own metrics, for the aggregate `id`. */
  | { latchkey: 'metrics-part'; id: number; metrics: MetricsJson }
  /** Demo mode: the state it needs before it listens. */
  | { latchkey: 'demo-get' }
  /** Demo mode: the banner it made (demo data, a fresh attempt), for the primary to print. */
  | { latchkey: 'demo-banner'; lines: string[]; demo: DemoSnapshot }
  /** Demo mode: it has taken on the state the primary sent. */
  | { latchkey: 'demo-synced' }
  /** Demo mode: the attempt `state` was used up here. */
  | { latchkey: 'demo-taken'; state: string };

/** What the primary says to a worker. */
export type PrimaryMessage =
  | { latchkey: 'shutdown' }
  | { latchkey: 'metrics-collect'; id: number }
  /** The aggregate for a worker's /metrics (no `text`: it could not be made). */
  | { latchkey: 'metrics-text'; id: number; text?: string }
  | { latchkey: 'demo-run' }
  | { latchkey: 'demo-state'; demo: DemoSnapshot }
  | { latchkey: 'demo-forget'; state: string };

export function isMessage<T extends { latchkey: string }>(m: unknown): m is T {
  return typeof m === 'object' && m !== null && typeof (m as { latchkey?: unknown }).latchkey === 'string';
}

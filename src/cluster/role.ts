/**
 * A worker of `latchkey serve --workers N`: the role the primary gives it in its environment
 * (src/cluster/primary.ts), and the share of the cores it may use.
 */
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';

/** A worker's share of the cores: the hashing threads of one process are sized from it. */
export const cpuShare = (cores: number, workers: number): number => Math.max(1, Math.floor(cores / workers));

/** The environment variable that gives a worker its role (set by the primary, src/cluster/primary.ts). */
export const WORKER_ROLE_ENV = 'LATCHKEY_WORKER_ROLE';

/** What the primary tells a worker when it starts it. */
export interface WorkerRole {
  /** 1 … count; a replacement keeps the number of the worker it replaces. */
  id: number;
  count: number;
  /** Its share of the cores (cpuShare). */
  cpus: number;
  /** Whether it runs the purge timer: exactly one worker does. */
  purge: boolean;
}

/** This process's role when it is a worker of `serve --workers`; undefined otherwise. */
export function workerRole(env: NodeJS.ProcessEnv = process.env): WorkerRole | undefined {
  const raw = env[WORKER_ROLE_ENV];
  if (!cluster.isWorker || raw === undefined) return undefined;
  const r = JSON.parse(raw) as WorkerRole;
  return {
    id: Number(r.id),
    count: Number(r.count),
    cpus: Math.max(1, Number(r.cpus)),
    purge: r.purge === true,
  };
}

/** The cores this process may use: all of them, or its share as a worker. */
export const processCores = (): number => workerRole()?.cpus ?? availableParallelism();

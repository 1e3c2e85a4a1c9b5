/**
 * The primary of `latchkey serve --workers N`: it forks N workers (src/cluster/worker.ts) that
 * listen on one port (node:cluster hands each new connection to the next worker), and opens no
 * database itself: the workers migrate and make the first key under the start-up lock, one at a
 * time, as several nodes do. It prints the start-up lines once, after every worker listens;
 * restarts a worker that dies, with back-off; drains them all on SIGTERM / SIGINT; relays the
 * demo attempts between them; and gathers /metrics (src/cluster/metrics.ts).
 *
 * Worker 1 runs the purge (a replacement of worker 1 takes it over) and, in demo mode, makes the
 * demo data and banner at the first start; every worker learns the printed attempts before the
 * banner is printed, and a replacement learns them before it listens.
 */
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { listeningLine } from '../cli/serve-notes.js';
import type { Config } from '../config.js';
import type { DemoSnapshot } from '../demo/attempts.js';
import { type Backoff, backoff } from './backoff.js';
import { isMessage, type PrimaryMessage, type WorkerMessage } from './messages.js';
import { aggregateText, Collection, primaryMetrics } from './metrics.js';
import { cpuShare, WORKER_ROLE_ENV, type WorkerRole } from './role.js';

/** After the grace, how long the primary gives the workers to exit before it kills them. */
const KILL_MARGIN_MS = 5000;

interface Slot {
  id: number;
  worker: Worker | undefined;
  /** It listens (sent `ready`). */
  ready: boolean;
  startedAt: number;
  /** Why it could not start, as it said. */
  failure: string | undefined;
  restart: Backoff;
  timer: NodeJS.Timeout | undefined;
}

type Phase = 'starting' | 'serving' | 'stopping' | 'failed';

export async function servePrimary(config: Config, count: number): Promise<void> {
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const cores = availableParallelism();
  const metrics = primaryMetrics();
  const slots: Slot[] = Array.from({ length: count }, (_, i) => ({
    id: i + 1,
    worker: undefined,
    ready: false,
    startedAt: 0,
    failure: undefined,
    restart: backoff(),
    timer: undefined,
  }));
  let phase: Phase = 'starting';
  let demo: DemoSnapshot = { attempts: [] };
  const collections = new Map<number, Collection>();
  let nextCollection = 0;
  /** Workers yet to confirm the demo state (before the banner is printed). */
  let demoSync: { waiting: Set<number>; done: () => void } | undefined;
  let demoBanner: ((m: { lines: string[]; demo: DemoSnapshot } | undefined) => void) | undefined;

  let started!: { resolve: () => void; reject: (err: Error) => void };
  const allListening = new Promise<void>((resolve, reject) => {
    started = { resolve, reject };
  });
  let firstReady: Extract<WorkerMessage, { latchkey: 'ready' }> | undefined;

  const live = () => slots.filter((s) => s.worker !== undefined);
  const setGauge = () => metrics.workers.set(slots.filter((s) => s.ready).length);
  const sendTo = (w: Worker | undefined, m: PrimaryMessage) => {
    if (w?.isConnected()) w.send(m);
  };

  const fork = (slot: Slot) => {
    const role: WorkerRole = { id: slot.id, count, cpus: cpuShare(cores, count), purge: slot.id === 1 };
    const w = cluster.fork({ [WORKER_ROLE_ENV]: JSON.stringify(role) });
    Object.assign(slot, {
      worker: w,
      ready: false,
      startedAt: Date.now(),
      failure: undefined,
      timer: undefined,
    });
    w.on('message', (m: unknown) => {
      if (isMessage<WorkerMessage>(m)) onMessage(slot, w, m);
    });
    whenGone(w, (code, signal) => onGone(slot, w, code, signal));
  };

  const onMessage = (slot: Slot, w: Worker, m: WorkerMessage) => {
    switch (m.latchkey) {
      case 'ready': {
        slot.ready = true;
        setGauge();
        if (phase === 'serving') out(`worker ${slot.id} restarted (pid ${w.process.pid})`);
        firstReady ??= m;
        if (phase === 'starting' && slots.every((s) => s.ready)) started.resolve();
        return;
      }
      case 'failed':
        slot.failure = m.message;
        return;
      case 'metrics': {
        const id = ++nextCollection;
        const asked = live().filter((s) => s.worker?.isConnected());
        const c = new Collection(asked.map((s) => s.id));
        collections.set(id, c);
        for (const s of asked) sendTo(s.worker, { latchkey: 'metrics-collect', id });
        void c.parts
          .then((parts) => aggregateText(parts, metrics))
          .then(
            (text) => sendTo(w, { latchkey: 'metrics-text', id: m.id, text }),
            () => sendTo(w, { latchkey: 'metrics-text', id: m.id }),
          )
          .finally(() => collections.delete(id));
        return;
      }
      case 'metrics-part':
        collections.get(m.id)?.add(slot.id, m.metrics);
        return;
      case 'demo-get':
        return sendTo(w, { latchkey: 'demo-state', demo });
      case 'demo-synced':
        if (demoSync?.waiting.delete(slot.id) && demoSync.waiting.size === 0) demoSync.done();
        return;
      case 'demo-banner':
        demoBanner?.(m);
        return;
      case 'demo-taken':
        demo = { ...demo, attempts: demo.attempts.filter((a) => a.state !== m.state) };
        for (const s of live()) if (s !== slot) sendTo(s.worker, { latchkey: 'demo-forget', state: m.state });
        return;
    }
  };

  const onGone = (slot: Slot, w: Worker, code: number | null, signal: string | null) => {
    if (slot.worker !== w) return;
    slot.worker = undefined;
    slot.ready = false;
    setGauge();
    for (const c of collections.values()) c.add(slot.id);
    if (demoSync?.waiting.delete(slot.id) && demoSync.waiting.size === 0) demoSync.done();
    if (slot.id === 1) demoBanner?.(undefined);
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (phase === 'failed') return;
    if (phase === 'stopping') {
      exitCodes.push(code ?? 1);
      if (code !== 0) out(`shutdown: worker ${slot.id} (pid ${w.process.pid}) exited with ${how}`);
      if (live().length === 0) finishShutdown();
      return;
    }
    if (phase === 'starting') {
      started.reject(new Error(slot.failure ?? `worker ${slot.id} exited with ${how} before it listened`));
      return;
    }
    const delay = slot.restart.next(Date.now() - slot.startedAt);
    out(
      `worker ${slot.id} (pid ${w.process.pid}) died (${how}${slot.failure ? `: ${slot.failure}` : ''}); restarting it in ${delay} ms`,
    );
    slot.timer = setTimeout(() => {
      metrics.restarts.inc();
      fork(slot);
    }, delay);
  };

  // Shutdown: SIGTERM / SIGINT drain every worker; a second signal kills them and exits 1.
  const exitCodes: number[] = [];
  let stopStarted = 0;
  let force: NodeJS.Timeout | undefined;
  const finishShutdown = () => {
    clearTimeout(force);
    const ok = exitCodes.every((c) => c === 0);
    out(`shutdown: done in ${Date.now() - stopStarted} ms`);
    process.exit(ok ? 0 : 1);
  };
  const onSignal = (signal: string) => {
    if (phase === 'stopping') {
      out(`${signal} again: exiting now`);
      for (const s of live()) s.worker?.process.kill('SIGKILL');
      process.exit(1);
    }
    phase = 'stopping';
    stopStarted = Date.now();
    for (const s of slots) clearTimeout(s.timer);
    const running = live();
    out(
      `${signal}: shutting down ${running.length} worker${running.length === 1 ? '' : 's'} (in-flight requests get ${config.shutdownGraceSec} s; send the signal again to exit now)`,
    );
    if (running.length === 0) return finishShutdown();
    // A worker that listens drains when told; one still starting may not listen for messages
    // yet, and has nothing to drain: SIGTERM ends it either way.
    for (const s of running) {
      if (s.ready && s.worker?.isConnected()) sendTo(s.worker, { latchkey: 'shutdown' });
      else s.worker?.process.kill('SIGTERM');
    }
    force = setTimeout(
      () => {
        out(`shutdown: workers still running ${KILL_MARGIN_MS / 1000} s after the grace; killing them`);
        for (const s of live()) s.worker?.process.kill('SIGKILL');
        process.exit(1);
      },
      config.shutdownGraceSec * 1000 + KILL_MARGIN_MS,
    );
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));

  for (const slot of slots) fork(slot);
  try {
    await allListening;
  } catch (err) {
    // One worker could not start: so would the others (same settings, same database).
    phase = 'failed';
    const others = live().flatMap((s) => (s.worker && !s.worker.isDead() ? [s.worker] : []));
    for (const w of others) w.process.kill('SIGKILL');
    await Promise.all(others.map((w) => (w.isDead() ? undefined : new Promise((r) => w.once('exit', r)))));
    process.removeAllListeners('SIGTERM');
    process.removeAllListeners('SIGINT');
    throw err;
  }
  phase = 'serving';
  const first = firstReady!;
  const pids = slots.map((s) => s.worker?.process.pid).join(', ');
  out(listeningLine(first.url, config, first.location, `; ${count} workers, pids ${pids}`));
  for (const line of first.notes) out(line);

  if (config.demo) {
    // Worker 1 makes the demo data and the banner's attempt; every worker learns the attempt,
    // then the banner is printed (so its URL works whichever worker answers).
    const banner = await new Promise<{ lines: string[]; demo: DemoSnapshot } | undefined>((resolve) => {
      demoBanner = resolve;
      sendTo(slots[0]?.worker, { latchkey: 'demo-run' });
    });
    demoBanner = undefined;
    if (!banner) {
      out('WARNING: worker 1 exited before it printed the demo banner; restart the server for a new one.');
      return;
    }
    demo = banner.demo;
    await new Promise<void>((resolve) => {
      const waiting = new Set(live().map((s) => s.id));
      demoSync = { waiting, done: resolve };
      if (waiting.size === 0) resolve();
      for (const s of live()) sendTo(s.worker, { latchkey: 'demo-state', demo });
    });
    demoSync = undefined;
    for (const line of banner.lines) out(line);
  }
}

/** Calls `then` once the worker has exited and its channel is closed (its last messages read). */
function whenGone(w: Worker, then: (code: number | null, signal: string | null) => void): void {
  let exit: [number | null, string | null] | undefined;
  let disconnected = false;
  let called = false;
  const check = () => {
    if (!exit || !disconnected || called) return;
    called = true;
    then(...exit);
  };
  w.once('disconnect', () => {
    disconnected = true;
    check();
  });
  w.once('exit', (code: number | null, signal: string | null) => {
    exit = [code, signal];
    // The channel closes with the process; should it not say so, go on anyway.
    setTimeout(() => {
      disconnected = true;
      check();
    }, 1000).unref();
    check();
  });
}

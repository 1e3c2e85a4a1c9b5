/**
 * A worker of `latchkey serve --workers N` (src/cluster/primary.ts starts it): a whole server on
 * the port the workers share, which reports to the primary instead of printing its start-up
 * lines, answers /metrics with every worker's metrics, shares the demo attempts, runs the purge
 * only when its role says so, and drains when the primary says so.
 *
 * Signals: the terminal's Ctrl-C reaches the whole process group, so a worker gets SIGINT at
 * the same time as the primary (and systemd sends SIGTERM to every process of the service).
 * Each of these, the primary's `shutdown` and the primary's disappearance start the same drain,
 * once; a second signal is the primary's to act on (it kills the workers).
 */

import { demoBanner } from '../cli/demo.js';
import { processLogger } from '../cli/serve.js';
import { startupNotes } from '../cli/serve-notes.js';
import type { Config } from '../config.js';
import type { DemoAttempts, DemoSnapshot } from '../demo/attempts.js';
import { drain } from '../ops/shutdown.js';
import { OAuthError } from '../protocol/errors.js';
import { type RunningServer, startServer } from '../server.js';
import { isMessage, type PrimaryMessage, type WorkerMessage } from './messages.js';
import type { WorkerRole } from './role.js';

/** How long /metrics waits for the primary's aggregate. */
const METRICS_WAIT_MS = 5000;

const send = (m: WorkerMessage, then?: () => void): void => {
  if (!process.connected || !process.send) {
    then?.();
    return;
  }
  process.send(m, undefined, {}, () => then?.());
};

export async function serveWorker(config: Config, role: WorkerRole): Promise<void> {
  const log = (line: string) => process.stdout.write(`worker ${role.id}: ${line}\n`);
  let server: RunningServer | undefined;
  let stopping = false;

  const stop = () => {
    if (stopping) return;
    stopping = true;
    if (!server)
      process.exit(0); // not listening yet: nothing to drain
    else
      drain({ server: server.app.server, close: server.close }, { graceSec: config.shutdownGraceSec, log });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('disconnect', stop); // the primary is gone: nobody hands this worker connections

  // /metrics: the primary's aggregate of every worker's registry.
  const waitingMetrics = new Map<number, (text: string | undefined) => void>();
  let nextMetricsId = 0;
  const metricsText = () =>
    new Promise<string>((resolve, reject) => {
      const id = ++nextMetricsId;
      const fail = () =>
        reject(
          new OAuthError('temporarily_unavailable', 'The workers’ metrics are not available.', {
            status: 503,
          }),
        );
      const timer = setTimeout(() => {
        waitingMetrics.delete(id);
        fail();
      }, METRICS_WAIT_MS);
      waitingMetrics.set(id, (text) => {
        clearTimeout(timer);
        if (text === undefined) fail();
        else resolve(text);
      });
      send({ latchkey: 'metrics', id });
    });

  let demo: DemoAttempts | undefined;
  let demoState: ((s: DemoSnapshot) => void) | undefined;
  process.on('message', (m: unknown) => {
    if (!isMessage<PrimaryMessage>(m)) return;
    switch (m.latchkey) {
      case 'shutdown':
        return stop();
      case 'metrics-collect':
        if (!server) return send({ latchkey: 'metrics-part', id: m.id, metrics: [] });
        void server.app.metrics.registry
          .getMetricsAsJSON()
          .then((metrics) => send({ latchkey: 'metrics-part', id: m.id, metrics }));
        return;
      case 'metrics-text':
        waitingMetrics.get(m.id)?.(m.text);
        waitingMetrics.delete(m.id);
        return;
      case 'demo-state':
        demo?.adopt(m.demo);
        demoState?.(m.demo);
        return send({ latchkey: 'demo-synced' });
      case 'demo-forget':
        return demo?.forget(m.state);
      case 'demo-run':
        if (server?.demo) void runDemoBanner(server);
        return;
    }
  });

  try {
    server = await startServer(config, {
      logger: processLogger(config),
      purge: role.purge,
      metricsText,
      // Demo mode: the attempts printed so far, before the first request can come.
      async beforeListen(s) {
        if (!s.demo) return;
        demo = s.demo;
        const state = new Promise<DemoSnapshot>((resolve) => {
          demoState = resolve;
        });
        send({ latchkey: 'demo-get' });
        demo.adopt(await state);
        demo.onTaken = (state) => send({ latchkey: 'demo-taken', state });
      },
    });
  } catch (err) {
    // The primary prints it once (N workers would print it N times) and exits 1.
    const message = err instanceof Error ? err.message : String(err);
    send({ latchkey: 'failed', message: message.split('\n')[0] ?? message }, () => process.exit(1));
    return;
  }
  if (stopping) {
    stopping = false;
    stop();
    return;
  }
  const notes = await startupNotes(config, server.ctx.storage);
  send({ latchkey: 'ready', url: server.url, location: server.ctx.storage.location, notes });
}

/** Demo mode, first worker at the first start: the demo data and banner, for the primary to print. */
async function runDemoBanner(server: RunningServer): Promise<void> {
  const attempts = server.demo!;
  const lines = await demoBanner(server.ctx, attempts);
  send({ latchkey: 'demo-banner', lines, demo: attempts.snapshot() });
}

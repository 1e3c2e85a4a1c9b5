/**
 * `latchkey serve [--port N] [--host ADDRESS] [--issuer URL] [--db PATH_OR_URL] [--demo]
 * [--workers N|auto]`: one process, or with --workers a primary and its workers (src/cluster/).
 */

import { workerRole } from '../cluster/role.js';
import { workerCount } from '../cluster/worker-count.js';
import { type Config, loadConfig } from '../config.js';
import type { LoggerOption } from '../http/app.js';
import { chooseLogFormat, serveLogger } from '../http/logging.js';
import { handleShutdownSignals } from '../ops/shutdown.js';
import { startServer } from '../server.js';
import { dbOption, parse } from './args.js';
import { runDemo } from './demo.js';
import type { Io } from './io.js';
import { listeningLine, startupNotes } from './serve-notes.js';

/** The logger of a serving process (each worker has its own, with its pid in every JSON line). */
export const processLogger = (config: Config): LoggerOption =>
  serveLogger(
    config.logLevel,
    chooseLogFormat(config.logFormat, process.stdout.isTTY === true, config.issuer),
  );

/** Serves until a signal (ops/shutdown.ts); its output is the process's, always. */
export async function serveCommand(argv: string[], io: Io): Promise<void> {
  const { values } = parse(argv, {
    ...dbOption,
    port: { type: 'string' },
    issuer: { type: 'string' },
    host: { type: 'string' },
    demo: { type: 'boolean', default: false },
    workers: { type: 'string' },
  });
  const workers = workerCount(values.workers, io.env);
  const config = loadConfig(
    {
      port: values.port,
      issuer: values.issuer,
      database: values.db,
      host: values.host,
      demo: values.demo,
    },
    io.env,
  );
  const role = workerRole();
  if (role) return (await import('../cluster/worker.js')).serveWorker(config, role);
  if (workers > 1) return (await import('../cluster/primary.js')).servePrimary(config, workers);

  const server = await startServer(config, { logger: processLogger(config) });
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out(listeningLine(server.url, config, server.ctx.storage.location));
  for (const line of await startupNotes(config, server.ctx.storage)) out(line);
  // SIGTERM / SIGINT: drain, close the database, exit 0; a second signal exits at once.
  handleShutdownSignals(
    { server: server.app.server, close: server.close },
    { graceSec: config.shutdownGraceSec, log: out },
  );
  // The banner comes last, after the start-up log lines.
  if (config.demo) await runDemo(server, out);
}

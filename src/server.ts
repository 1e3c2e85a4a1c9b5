/** Starting and stopping a Latchkey server: storage, keys, HTTP. */
import { type Clock, offsetClock, systemClock } from './clock.js';
import type { Config } from './config.js';
import { type ContextOptions, createContext, type ServerContext } from './context.js';
import { DemoAttempts } from './demo/attempts.js';
import { type App, buildApp, type LoggerOption } from './http/app.js';
import { auditRetentionMs, deletedRows, startPurgeTimer } from './ops/cleanup.js';
import { parseMailFrom } from './ops/mail.js';
import { MailSender } from './ops/mail-sender.js';
import { openStorage } from './storage/index.js';

export interface RunningServer {
  app: App;
  ctx: ServerContext;
  /** Demo mode's printed authorize URLs (`serve --demo` only). */
  demo?: DemoAttempts;
  /** The background mail sender, when mail is on (tests call its tick()). */
  mailSender?: MailSender;
  /** Base URL it listens on (the issuer may differ behind a proxy). */
  url: string;
  close(): Promise<void>;
}

export interface ServerOptions {
  clock?: Clock;
  logger?: LoggerOption;
  context?: ContextOptions;
  /** How often the purge runs (default every minute, ops/cleanup.ts); tests make it short. */
  purgeIntervalMs?: number;
  /** Whether this process runs the purge timer (default true; one worker of `serve --workers`). */
  purge?: boolean;
  /** Whether this process runs the mail sender (default true; claims keep nodes from sending twice). */
  mailSender?: boolean;
  /** What /metrics answers instead of this process's own registry (`serve --workers`: all workers'). */
  metricsText?: () => Promise<string>;
  /** Runs after the server is built and before it listens (a worker adopts the demo attempts). */
  beforeListen?: (server: { ctx: ServerContext; demo?: DemoAttempts }) => Promise<void>;
}

export async function createServer(
  config: Config,
  opts: ServerOptions = {},
): Promise<{
  app: App;
  ctx: ServerContext;
  demo?: DemoAttempts;
  mailSender?: MailSender;
  close(): Promise<void>;
}> {
  const clock =
    opts.clock ??
    (config.clockOffsetSec !== 0 ? offsetClock(config.clockOffsetSec * 1000, systemClock) : systemClock);
  // The checkpoint thread's failure is reported through the server's logger once it exists.
  let checkpointFailure: Error | undefined;
  let reportCheckpointFailure = (err: Error) => {
    checkpointFailure = err;
  };
  const storage = await openStorage(config.database, {
    poolSize: config.pgPoolSize,
    sqliteCacheMib: config.sqliteCacheMib,
    backgroundCheckpoint: { onFailure: (err) => reportCheckpointFailure(err) },
  });
  try {
    const ctx = createContext(config, clock, storage, opts.context);
    // Under the start-up lock: a node that waited sees the key the first one made.
    const made = await storage.serialized(() =>
      ctx.keys.ensureKey({ ecRequired: config.accessTokenAlg === 'ES256' }),
    );
    await ctx.keys.checkKeys(); // a missing or wrong LATCHKEY_KEY_ENCRYPTION_KEY stops the start
    const demo = config.demo ? new DemoAttempts(() => clock.now()) : undefined;
    const app = await buildApp(ctx, {
      ...(opts.logger === undefined ? {} : { logger: opts.logger }),
      ...(demo ? { demo } : {}),
      ...(opts.metricsText ? { metricsText: opts.metricsText } : {}),
    });
    reportCheckpointFailure = (err) =>
      app.log.warn({ err }, 'the WAL checkpoint thread failed: SQLite checkpoints inside commits again');
    if (checkpointFailure) reportCheckpointFailure(checkpointFailure);
    // Through the server's logger (a test's logger is silent), not process-wide warnings.
    if (made && made.generation > 1)
      app.log.warn(
        `signing keys rotated to generation ${made.generation} for ES256 access tokens; they are signed RS256 until it is active`,
      );
    const purge =
      opts.purge === false
        ? undefined
        : startPurgeTimer(storage, clock, {
            ...(opts.purgeIntervalMs !== undefined ? { intervalMs: opts.purgeIntervalMs } : {}),
            purge: { auditRetentionMs: auditRetentionMs(config.auditRetentionSec) },
            onPurged: (run) => {
              app.metrics.observePurge(run);
              // One line per run that deleted something: counts per table and how long it took.
              if (deletedRows(run) > 0) app.log.info({ deleted: run.deleted, ms: run.ms }, 'purge');
            },
            onError: (err) => app.log.warn({ err }, 'purge failed'),
          });
    const transport = ctx.mailer.transport;
    const sender =
      transport === undefined || opts.mailSender === false
        ? undefined
        : new MailSender(storage.outbox, transport, clock, {
            from: parseMailFrom(config.mailFrom) ?? { address: 'no-reply@localhost', name: 'Latchkey' },
            // The id and a short error only: never a recipient, a subject or a body.
            onError: (e) =>
              app.log.warn(
                { mail: e.id, attempts: e.attempts, error: e.error },
                e.gaveUp ? 'mail given up' : 'mail not sent; it will be retried',
              ),
            onTickError: (err) => app.log.warn({ err }, 'mail sender failed'),
          });
    sender?.start();
    return {
      app,
      ctx,
      ...(demo ? { demo } : {}),
      ...(sender ? { mailSender: sender } : {}),
      async close() {
        await sender?.stop();
        await purge?.stop();
        await app.close();
        await storage.close();
      },
    };
  } catch (err) {
    await storage.close().catch(() => {});
    throw err;
  }
}

export async function startServer(config: Config, opts: ServerOptions = {}): Promise<RunningServer> {
  const s = await createServer(config, opts);
  try {
    await opts.beforeListen?.(s);
    await s.app.listen({ port: config.port, host: config.host });
  } catch (err) {
    await s.close().catch(() => {});
    throw err;
  }
  const addr = s.app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  return { ...s, url: `http://127.0.0.1:${port}` };
}

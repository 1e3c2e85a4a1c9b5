/** `latchkey serve [--port N] [--host ADDRESS] [--issuer URL] [--db PATH_OR_URL] [--demo]` */
import { configWarnings, loadConfig } from '../config.js';
import { chooseLogFormat, serveLogger } from '../http/logging.js';
import { handleShutdownSignals } from '../ops/shutdown.js';
import { startServer } from '../server.js';
import { hasClearPart } from '../tokens/key-encryption.js';
import { dbOption, parse } from './args.js';
import { runDemo } from './demo.js';
import type { Io } from './io.js';

/** Serves until a signal (ops/shutdown.ts); its output is the process's, always. */
export async function serveCommand(argv: string[], io: Io): Promise<void> {
  const { values } = parse(argv, {
    ...dbOption,
    port: { type: 'string' },
    issuer: { type: 'string' },
    host: { type: 'string' },
    demo: { type: 'boolean', default: false },
  });
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
  const server = await startServer(config, {
    logger: serveLogger(
      config.logLevel,
      chooseLogFormat(config.logFormat, process.stdout.isTTY === true, config.issuer),
    ),
  });
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out(
    `Latchkey listening on ${server.url}  (issuer ${config.issuer}, database ${server.ctx.storage.location})`,
  );
  if (config.issuer.startsWith('http:')) {
    out('WARNING: the issuer uses http. That is for development only: use an https issuer in production.');
  }
  if (config.keyEncryptionKey === undefined && config.issuer.startsWith('https:')) {
    out('NOTE: signing keys are stored unencrypted; set LATCHKEY_KEY_ENCRYPTION_KEY (docs/operations.md).');
  }
  if (config.keyEncryptionKey !== undefined && (await server.ctx.storage.keys.listAll()).some(hasClearPart)) {
    out(
      'NOTE: some signing keys are still stored in the clear: run `latchkey keys encrypt`, then `latchkey keys rotate`.',
    );
  }
  if (config.clockOffsetSec !== 0)
    out(
      `WARNING: the clock is shifted by ${config.clockOffsetSec} s (LATCHKEY_CLOCK_OFFSET_SEC); testing only.`,
    );
  if (!config.rateLimit) out('WARNING: sign-in throttling is off (LATCHKEY_RATE_LIMIT=false).');
  for (const w of configWarnings(config)) out(`WARNING: ${w}`);
  // SIGTERM / SIGINT: drain, close the database, exit 0; a second signal exits at once.
  handleShutdownSignals(
    { server: server.app.server, close: server.close },
    { graceSec: config.shutdownGraceSec, log: out },
  );
  // The banner comes last, after the start-up log lines.
  if (config.demo) await runDemo(server, out);
}

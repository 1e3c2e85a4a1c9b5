/** `latchkey serve [--port N] [--issuer URL] [--db PATH_OR_URL] [--demo]` */
import { randomBytes } from 'node:crypto';
import { configWarnings, loadConfig } from '../config.js';
import type { ServerContext } from '../context.js';
import { randomToken } from '../crypto.js';
import { handleShutdownSignals } from '../ops/shutdown.js';
import { capYoungGeneration } from '../ops/young-generation.js';
import { s256 } from '../protocol/pkce.js';
import { startServer } from '../server.js';
import { hasClearPart } from '../tokens/key-encryption.js';
import { dbOption, parse } from './args.js';

export async function serveCommand(argv: string[]): Promise<void> {
  const { values } = parse(argv, {
    ...dbOption,
    port: { type: 'string' },
    issuer: { type: 'string' },
    host: { type: 'string' },
    demo: { type: 'boolean', default: false },
  });
  const config = loadConfig({
    port: values.port,
    issuer: values.issuer,
    database: values.db,
    host: values.host,
    demo: values.demo,
  });
  capYoungGeneration(config.youngGenerationMib);
  const server = await startServer(config, {
    logger: config.logLevel === 'silent' ? false : { level: config.logLevel },
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
  if (config.demo) await demo(server.ctx, out);
}

/** Demo data, on an empty database only: a native application, a user, a ready authorize URL. */
async function demo(ctx: ServerContext, out: (s: string) => void): Promise<void> {
  const bar = '='.repeat(78);
  out(bar);
  out('DEMO MODE — demo data and an http issuer are for DEVELOPMENT ONLY. Never use --demo in production.');
  const [clients, users] = await Promise.all([ctx.storage.clients.list(), ctx.storage.users.list()]);
  if (clients.length > 0 || users.length > 0) {
    const app = clients.find((c) => c.name === 'Demo Native App') ?? clients[0];
    out('The database is not empty, so no demo data was created.');
    if (app) out(`An application to try: client_id ${app.clientId} (${app.name})`);
    out(bar);
    return;
  }
  const { client } = await ctx.clients.create({
    name: 'Demo Native App',
    type: 'native',
    redirectUris: ['http://127.0.0.1/callback', 'com.latchkey.demo:/callback'],
    postLogoutRedirectUris: ['http://127.0.0.1/logged-out'],
  });
  const password = randomBytes(12).toString('base64url');
  const user = await ctx.users.create({
    username: 'demo',
    name: 'Demo User',
    email: 'demo@example.com',
    password,
  });
  await ctx.audit.record('client_created', { clientId: client.clientId, detail: { via: 'demo' } });
  await ctx.audit.record('user_created', { userId: user.id, detail: { via: 'demo' } });
  const verifier = randomToken(32);
  const url = new URL(`${ctx.config.issuer}/authorize`);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: client.clientId,
    redirect_uri: 'http://127.0.0.1:8080/callback',
    scope: 'openid profile email offline_access',
    state: randomToken(12),
    nonce: randomToken(12),
    code_challenge: s256(verifier),
    code_challenge_method: 'S256',
  }).toString();
  out('Created demo data:');
  out(`  application : Demo Native App (native, PKCE), client_id ${client.clientId}`);
  out('  redirect URIs: http://127.0.0.1/callback (any port), com.latchkey.demo:/callback');
  out(`  user        : demo   password: ${password}`);
  out('Open this URL in a browser to sign in (the redirect to 127.0.0.1:8080 shows the code):');
  out(`  ${url.toString()}`);
  out(`  code_verifier for the token exchange: ${verifier}`);
  out(bar);
}

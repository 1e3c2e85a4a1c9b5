/**
 * The `latchkey` command: server, administration, and the sample native app and API.
 * The executable is src/cli/latchkey.ts (the package's bin); this module only defines the commands.
 */
import { dbOption, parse, UsageError } from './args.js';
import type { CommandGroup } from './command-table.js';
import { type Io, processIo } from './io.js';
import { USAGE, wantsHelp } from './usage.js';

const HELP = `latchkey — OAuth 2.1 / OpenID Connect authorization server

  latchkey serve [--port N] [--issuer URL] [--db PATH_OR_URL] [--demo] [--workers N|auto]
  latchkey migrate [--db PATH_OR_URL]
  latchkey purge [--db PATH_OR_URL] [--json]         (what the server deletes every minute, now)
  latchkey backup --to FILE [--db PATH] [--json]     (SQLite; PostgreSQL: docs/operations.md)
  latchkey restore --from FILE [--db PATH]           (refused while a server uses the database)
  latchkey clients create --name NAME --type native|spa|web|service [--redirect-uri URI]...
                          [--post-logout-redirect-uri URI]... [--consent none|required] [--scope S]... [--json]
  latchkey clients list|update|rotate-secret|delete …
  latchkey apis create --identifier URI --name NAME [--scope VALUE="DESCRIPTION"]... [--json]
  latchkey apis list|show|update|delete …             (APIs: the tokens' audiences and scopes)
  latchkey users create --username NAME [--email E] [--name FULL_NAME] --password-stdin [--admin] [--json]
  latchkey users list|set-password|disable|enable|grant-admin|revoke-admin|logout …
  latchkey users factors list|remove|require-enrolment USERNAME …   (passkeys, TOTP, recovery codes)
  latchkey keys list|rotate|encrypt [--json]
  latchkey registration-tokens create|list|revoke …  (initial access tokens for POST /register)
  latchkey audit list [--type T] [--user USERNAME] [--client CLIENT_ID] [--since S] [--limit N] [--json]
  latchkey audit export --since S | --from ISO [--to ISO]   (JSON lines, oldest first)
  latchkey COMMAND --help, latchkey COMMAND SUBCOMMAND --help: every flag

Sample native app and API (docs/sdk.md):
  latchkey login --issuer URL --client-id ID [--scope S] [--no-browser] [--dpop] [--device]
  latchkey whoami | token | logout
  latchkey sample-api --issuer URL [--audience A] [--port N] [--host H]

Environment: PORT, LATCHKEY_ISSUER, LATCHKEY_DATABASE (see README for the rest).`;

type Command = (argv: string[], io: Io) => Promise<void>;

async function migrateCommand(argv: string[], io: Io): Promise<void> {
  const { values } = parse(argv, dbOption);
  const { withContext } = await import('./db.js');
  await withContext(io, values.db, async (ctx) => {
    await ctx.storage.serialized(() => ctx.keys.ensureKey());
    io.out(`Database ${ctx.storage.location} is up to date.\n`);
  });
}

/** Runs `latchkey <argv…>` with `io` (the process's own by default); resolves to the exit code. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [cmd, ...rest] = argv;
  // Each command loads only its own modules: `serve` never loads the client or resource SDKs,
  // and `login` never loads the server (shorter start-up, less memory).
  const sample = (name: string) => async () => (await import('./samples.js')).sampleCommands[name] as Command;
  // A command with sub-commands answers its own --help (per sub-command: command-table.ts).
  const group = (load: () => Promise<CommandGroup>) => async (): Promise<Command> => {
    const [g, { runGroup }] = await Promise.all([load(), import('./command-table.js')]);
    return (args, cmdIo) => runGroup(g, args, cmdIo);
  };
  const groups = new Set(['clients', 'apis', 'users', 'keys', 'audit', 'registration-tokens']);
  const commands: Record<string, () => Promise<Command>> = {
    serve: async () => (await import('./serve.js')).serveCommand,
    migrate: async () => migrateCommand,
    clients: group(async () => (await import('./clients.js')).clientsCommand),
    apis: group(async () => (await import('./apis.js')).apisCommand),
    users: group(async () => (await import('./users.js')).usersCommand),
    keys: group(async () => (await import('./keys.js')).keysCommand),
    audit: group(async () => (await import('./audit.js')).auditCommand),
    'registration-tokens': group(
      async () => (await import('./registration-tokens.js')).registrationTokensCommand,
    ),
    purge: async () => (await import('./purge.js')).purgeCommand,
    backup: async () => (await import('./backup.js')).backupCommand,
    restore: async () => (await import('./backup.js')).restoreCommand,
    login: sample('login'),
    whoami: sample('whoami'),
    token: sample('token'),
    logout: sample('logout'),
    'sample-api': sample('sample-api'),
  };
  if (!cmd || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    io.out(`${HELP}\n`);
    return cmd ? 0 : 2;
  }
  const load = Object.hasOwn(commands, cmd) ? commands[cmd] : undefined;
  if (!load) {
    io.err(`latchkey: unknown command "${cmd}" (try latchkey --help)\n`);
    return 2;
  }
  if (!groups.has(cmd) && wantsHelp(rest)) {
    io.out(`${Object.hasOwn(USAGE, cmd) ? USAGE[cmd] : HELP}\n`);
    return 0;
  }
  try {
    const run = await load();
    await run(rest, io);
    return 0;
  } catch (err) {
    // One line, whatever went wrong (ConfigError, ClientInputError, UserInputError,
    // DuplicateError, an unreachable database…); usage errors exit 2, the rest 1.
    const msg = err instanceof Error ? err.message : String(err);
    io.err(`latchkey: ${msg.split('\n')[0]}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}

/**
 * Runs the command line and sets the process's exit status. `serve` keeps the process alive
 * (its server); every other command exits with its code once done.
 */
export async function runCommandLine(argv: string[]): Promise<void> {
  const code = await main(argv);
  const serving = argv[0] === 'serve';
  if (code !== 0 || !serving) process.exitCode = code;
  if (!serving && code !== 0) process.exit(code);
}

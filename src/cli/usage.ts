/**
 * What `latchkey <command> --help` prints: every flag of every command, as the README's CLI
 * reference lists them. A command missing here still answers --help with the overview.
 */
export const USAGE: Record<string, string> = {
  serve: `latchkey serve [--port N] [--host ADDRESS] [--issuer URL] [--db PATH_OR_URL] [--demo]

  Runs the authorization server. Settings also come from the environment (README, Configuration).
  --demo   on an empty database, creates a demo application and user (development only)`,
  migrate: `latchkey migrate [--db PATH_OR_URL]

  Runs pending database migrations and creates the first signing key, then exits.`,
  clients: `latchkey clients create --name NAME --type native|spa|web|service [--redirect-uri URI]...
                        [--post-logout-redirect-uri URI]... [--consent none|required]
                        [--token-endpoint-auth-method M] [--no-pkce] [--no-refresh-tokens]
                        [--refresh-grace S|default] [--scope S]... [--db PATH_OR_URL] [--json]
latchkey clients list [--json]
latchkey clients update [--name N] [--redirect-uri URI]... [--post-logout-redirect-uri URI]...
                        [--consent none|required] [--access-token-ttl S] [--refresh-token-ttl S]
                        [--refresh-idle-ttl S] [--refresh-grace S|default] [--no-refresh-tokens]
                        [--scope S]... [--json] [--] CLIENT_ID
latchkey clients rotate-secret [--json] [--] CLIENT_ID
latchkey clients delete [--json] [--] CLIENT_ID

  Every subcommand takes --db PATH_OR_URL. Flags may come before or after CLIENT_ID;
  after "--" everything is CLIENT_ID. --refresh-grace: seconds a retry of a rotated refresh
  token gets the same answer (0-60; 0 = off; default = LATCHKEY_REFRESH_GRACE, 30 s).`,
  users: `latchkey users create --username NAME [--email E] [--name FULL_NAME] --password-stdin [--admin] [--json]
latchkey users list [--json]
latchkey users set-password USERNAME --password-stdin [--json]
latchkey users disable USERNAME [--json]     # ends sessions, revokes refresh-token families
latchkey users enable USERNAME [--json]
latchkey users grant-admin USERNAME [--json]
latchkey users revoke-admin USERNAME [--json]

  Every subcommand takes --db PATH_OR_URL. --password-stdin reads the password from standard
  input (one trailing newline is stripped): echo 'a good password' | latchkey users create …`,
  keys: `latchkey keys list [--json]
latchkey keys rotate [--json]
latchkey keys encrypt [--json]     # seals keys stored in the clear with LATCHKEY_KEY_ENCRYPTION_KEY

  Every subcommand takes --db PATH_OR_URL.`,
  audit: `latchkey audit list [--type T] [--user USERNAME] [--client CLIENT_ID] [--limit N] [--db PATH_OR_URL] [--json]`,
  login: `latchkey login --issuer URL --client-id ID [--scope S] [--no-browser]

  The sample native app: signs in with PKCE through a loopback redirect and keeps the tokens.`,
  whoami: 'latchkey whoami\n\n  Shows who the sample native app is signed in as.',
  token:
    'latchkey token\n\n  Prints a valid access token of the sample native app (refreshing it when needed).',
  logout: 'latchkey logout\n\n  Revokes and removes the sample native app’s tokens.',
  'sample-api': `latchkey sample-api --issuer URL [--audience A] [--port N] [--host H]

  A sample protected API that accepts the issuer's access tokens.`,
};

/** --help or -h among a command's arguments (before a "--", after which all are positional). */
export function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/**
 * What `latchkey <command> --help` prints: every flag of every command, as the README's CLI
 * reference lists them. A command missing here still answers --help with the overview. The
 * commands with sub-commands (GROUPS) have one usage per sub-command, for
 * `latchkey clients update --help`, and the group's whole usage for `latchkey clients --help`.
 */
/** The usage of one sub-command: its synopsis (in the group's help too) and its flags. */
export interface SubUsage {
  synopsis: string;
  details: string;
}

/** A command with sub-commands: each one's usage, and the notes that close the group's help. */
export interface GroupUsage {
  subcommands: Record<string, SubUsage>;
  notes: string;
}

const DB_FLAG = '  --db PATH_OR_URL   the database (default LATCHKEY_DATABASE; pending migrations run first)';
const JSON_FLAG = '  --json             prints the result as JSON';
const TIMES = 'Times (S) are seconds or a duration: 90s, 15m, 1h, 7d, 1h30m.';
const MFA_FLAG = `  --mfa none|optional|required|inherit
                                   second factor at sign-in: none (never asked), optional (asked
                                   of people who have one), required (enrolled on the spot when
                                   missing); inherit = the server's LATCHKEY_MFA (default)`;

/** `latchkey users factors …`: a person's sign-in factors. */
const USER_FACTORS = {
  subcommands: {
    list: {
      synopsis: 'latchkey users factors list USERNAME [--json]',
      details: `  Lists a person's sign-in factors: passkeys, authenticator apps (TOTP) and the recovery
  codes (one entry, named with how many are left). --json prints an array of
  {"id", "type": "passkey"|"totp"|"recovery_codes", "name", "created_at", "last_used_at"}
  (ISO 8601 times; last_used_at is null when never used).
${DB_FLAG}
${JSON_FLAG}`,
    },
    remove: {
      synopsis: 'latchkey users factors remove USERNAME --id ID [--json]     # a lost phone or security key',
      details: `  Removes one factor of a person by its id (as listed), whatever its type; the recovery codes
  go as one set. An id the person has no factor with is an error (exit 2). Their sessions stay
  open: users logout ends them.
  --id ID            the factor's id
${DB_FLAG}
${JSON_FLAG}`,
    },
    'require-enrolment': {
      synopsis: 'latchkey users factors require-enrolment USERNAME [--json]',
      details: `  Asks for a second factor at the person's next sign-in, whatever the application's MFA
  policy: one who has none must enrol a passkey or an authenticator app, one who has a factor
  must use it. Cleared once they sign in with a passkey or an authenticator app enrolled.
${DB_FLAG}
${JSON_FLAG}`,
    },
  },
  notes: `  Every subcommand takes --db PATH_OR_URL. Every change is audited (user_factor_removed,
  user_mfa_enrolment_required).`,
} satisfies GroupUsage;

const GRANT_FLAGS = `  --grant G                        adds a grant to those of the application's type (repeatable):
                                   device_code (RFC 8628; native and web; a native application
                                   with it needs no redirect URI), refresh_token, authorization_code
  --no-grant G                     removes one (repeatable), e.g. --no-grant authorization_code`;
const ALLOW_API_FLAG = `  --allow-api IDENTIFIER[=SCOPE,SCOPE…]
                                   the application may ask tokens for that registered API
                                   (RFC 8707 resource), with those of its scopes (none listed:
                                   all of them); repeatable; naming an API again replaces its scopes`;

/** `latchkey clients|users|keys|audit …`: `latchkey <group> <sub> --help` prints the sub's usage. */
export const GROUPS = {
  clients: {
    subcommands: {
      create: {
        synopsis: `latchkey clients create --name NAME --type native|spa|web|service [--redirect-uri URI]...
                        [--post-logout-redirect-uri URI]... [--consent none|required]
                        [--token-endpoint-auth-method M] [--no-pkce] [--no-refresh-tokens]
                        [--refresh-grace S|default] [--scope S]... [--require-par]
                        [--jwks-file FILE | --jwks-uri URL] [--dpop-bound] [--profile fapi2]
                        [--mfa none|optional|required|inherit] [--grant G]... [--no-grant G]...
                        [--allow-api IDENTIFIER[=SCOPE,SCOPE…]]... [--db PATH_OR_URL] [--json]`,
        details: `  Registers an application; web and service applications get a client_secret, shown once.
  --redirect-uri URI               sign-in redirect URI (repeatable; not for service)
  --post-logout-redirect-uri URI   sign-out redirect URI (repeatable)
  --consent none|required          whether people are asked to consent (default none)
  --token-endpoint-auth-method M   none, client_secret_basic, client_secret_post,
                                   client_secret_jwt (needs LATCHKEY_KEY_ENCRYPTION_KEY) or
                                   private_key_jwt (needs --jwks-file or --jwks-uri)
  --no-pkce                        PKCE not required (confidential web applications only)
  --no-refresh-tokens              issues no refresh tokens
  --refresh-grace S|default        seconds a retry of a rotated refresh token gets the same answer
                                   (0-60; 0 = off; default = LATCHKEY_REFRESH_GRACE, 30 s)
  --scope S                        API scopes a service application may request (repeatable)
  --require-par                    /authorize takes requests only through /par (RFC 9126)
  --jwks-file FILE                 the application's public keys, a JWK Set (JSON; - = stdin)
  --jwks-uri URL                   where the application publishes them (https)
  --dpop-bound                     every token request must carry a DPoP proof (RFC 9449)
  --profile fapi2                  holds the application to the FAPI 2.0 Security Profile
                                   (private_key_jwt, PAR, DPoP, https redirect URIs, no RS256)
${MFA_FLAG}
${GRANT_FLAGS}
${ALLOW_API_FLAG}
${DB_FLAG}
${JSON_FLAG}
  ${TIMES}`,
      },
      list: {
        synopsis: 'latchkey clients list [--json]',
        details: `  Lists the registered applications (never their secrets).
${DB_FLAG}
${JSON_FLAG}`,
      },
      update: {
        synopsis: `latchkey clients update [--name N] [--redirect-uri URI]... [--post-logout-redirect-uri URI]...
                        [--consent none|required] [--access-token-ttl S] [--refresh-token-ttl S]
                        [--refresh-idle-ttl S] [--refresh-grace S|default] [--no-refresh-tokens]
                        [--refresh-tokens] [--scope S]... [--require-par] [--no-require-par]
                        [--token-endpoint-auth-method M] [--jwks-file FILE | --jwks-uri URL]
                        [--dpop-bound] [--no-dpop-bound] [--profile fapi2|none]
                        [--mfa none|optional|required|inherit] [--grant G]... [--no-grant G]...
                        [--allow-api IDENTIFIER[=SCOPE,SCOPE…]]... [--disallow-api IDENTIFIER]...
                        [--json] [--] CLIENT_ID`,
        details: `  Changes the given settings of an application; the others stay as they are.
  Flags may come before or after CLIENT_ID; after "--" everything is CLIENT_ID.
  --name N                         the application's name
  --redirect-uri URI               replaces the sign-in redirect URIs (repeatable)
  --post-logout-redirect-uri URI   replaces the sign-out redirect URIs (repeatable)
  --consent none|required          whether people are asked to consent
  --access-token-ttl S             access-token lifetime (1m to 1d)
  --refresh-token-ttl S            refresh-token family lifetime (1m to 1825d)
  --refresh-idle-ttl S             refresh-token idle lifetime (1m to 1825d)
  --refresh-grace S|default        seconds a retry of a rotated refresh token gets the same answer
                                   (0-60; 0 = off; default = LATCHKEY_REFRESH_GRACE, 30 s)
  --no-refresh-tokens, --refresh-tokens   stops or starts issuing refresh tokens
  --scope S                        replaces the API scopes of a service application (repeatable)
  --require-par, --no-require-par  requires pushed authorization requests (RFC 9126), or not
  --token-endpoint-auth-method M   changes the method: none, client_secret_basic, client_secret_post,
                                   client_secret_jwt (needs LATCHKEY_KEY_ENCRYPTION_KEY) or
                                   private_key_jwt (needs keys); a new secret is
                                   printed when the method needs one the server lacks
  --jwks-file FILE, --jwks-uri URL replaces the application's public keys (one or the other)
  --dpop-bound, --no-dpop-bound    requires DPoP proofs at /token (RFC 9449 §5.2), or not
  --profile fapi2|none             the FAPI 2.0 Security Profile for this application, or none
${MFA_FLAG}
${GRANT_FLAGS}
${ALLOW_API_FLAG}
  --disallow-api IDENTIFIER        the application may no longer ask tokens for that API (repeatable)
${DB_FLAG}
${JSON_FLAG}
  ${TIMES}`,
      },
      'rotate-secret': {
        synopsis: 'latchkey clients rotate-secret [--json] [--] CLIENT_ID',
        details: `  Gives a web or service application a new client_secret (shown once); the old one stops working.
${DB_FLAG}
${JSON_FLAG}`,
      },
      delete: {
        synopsis: 'latchkey clients delete [--json] [--] CLIENT_ID',
        details: `  Deletes an application and revokes every grant and token it holds.
${DB_FLAG}
${JSON_FLAG}`,
      },
    },
    notes: `  Every subcommand takes --db PATH_OR_URL. Flags may come before or after CLIENT_ID;
  after "--" everything is CLIENT_ID. --refresh-grace: seconds a retry of a rotated refresh
  token gets the same answer (0-60; 0 = off; default = LATCHKEY_REFRESH_GRACE, 30 s).
  ${TIMES} latchkey clients SUBCOMMAND --help: one subcommand.`,
  },
  apis: {
    subcommands: {
      create: {
        synopsis: `latchkey apis create --identifier URI --name NAME [--scope VALUE="DESCRIPTION"]...
                     [--access-token-ttl S] [--token-alg RS256|ES256] [--allow-dynamic-clients]
                     [--db PATH_OR_URL] [--json]`,
        details: `  Registers an API (a resource server): its identifier is the access tokens' aud (RFC 8707).
  --identifier URI          an absolute URI without a fragment, such as https://api.example.com
  --name NAME               what people read on the consent page
  --scope VALUE=DESCRIPTION a scope of the API and the words that describe it (repeatable)
  --access-token-ttl S      access token lifetime for this API (60 s to 24 h; default: the
                            server's LATCHKEY_ACCESS_TOKEN_TTL; an application's own wins)
  --token-alg RS256|ES256   how its access tokens are signed (default LATCHKEY_ACCESS_TOKEN_ALG)
  --allow-dynamic-clients   self-registered clients may ask for it (always with consent)
${DB_FLAG}
${JSON_FLAG}
  ${TIMES}`,
      },
      list: {
        synopsis: 'latchkey apis list [--json]',
        details: `  Lists the APIs, the default one (LATCHKEY_AUDIENCE) first.
${DB_FLAG}
${JSON_FLAG}`,
      },
      show: {
        synopsis: 'latchkey apis show IDENTIFIER [--json]',
        details: `  Shows one API: its scopes with their descriptions and its settings.
${DB_FLAG}
${JSON_FLAG}`,
      },
      update: {
        synopsis: `latchkey apis update IDENTIFIER [--name NAME] [--scope VALUE="DESCRIPTION"]...
                     [--access-token-ttl S|default] [--token-alg RS256|ES256|default]
                     [--allow-dynamic-clients | --no-dynamic-clients] [--db PATH_OR_URL] [--json]`,
        details: `  Changes an API's settings; the default API (LATCHKEY_AUDIENCE) can be changed too.
  --scope VALUE=DESCRIPTION the API's scopes from now on (repeatable; replaces the list)
  --access-token-ttl S|default   default: the server's setting again
  --token-alg RS256|ES256|default
  --allow-dynamic-clients / --no-dynamic-clients
${DB_FLAG}
${JSON_FLAG}
  ${TIMES}`,
      },
      delete: {
        synopsis: 'latchkey apis delete IDENTIFIER [--json]',
        details: `  Deletes an API (not the default one). Tokens already issued for it stay valid until they expire.
${DB_FLAG}
${JSON_FLAG}`,
      },
    },
    notes:
      '  Every subcommand takes --db PATH_OR_URL. Every change is audited (api_created, api_updated, api_deleted).',
  },
  users: {
    subcommands: {
      create: {
        synopsis:
          'latchkey users create --username NAME [--email E] [--name FULL_NAME] --password-stdin [--admin] [--json]',
        details: `  Creates a user.
  --username NAME    the sign-in name
  --email E          their email address
  --name FULL_NAME   their full name
  --password-stdin   reads the password from standard input (one trailing newline is stripped):
                     echo 'a good password' | latchkey users create --username alice --password-stdin
  --admin            makes the user an administrator (admin console and API)
${DB_FLAG}
${JSON_FLAG}`,
      },
      list: {
        synopsis: 'latchkey users list [--json]',
        details: `  Lists the users.
${DB_FLAG}
${JSON_FLAG}`,
      },
      'set-password': {
        synopsis: 'latchkey users set-password USERNAME --password-stdin [--json]',
        details: `  Sets a user's password.
  --password-stdin   reads the password from standard input (one trailing newline is stripped)
${DB_FLAG}
${JSON_FLAG}`,
      },
      disable: {
        synopsis:
          'latchkey users disable USERNAME [--json]     # ends sessions, revokes refresh-token families',
        details: `  Disables a user: their sessions end and their refresh-token families are revoked.
${DB_FLAG}
${JSON_FLAG}`,
      },
      enable: {
        synopsis: 'latchkey users enable USERNAME [--json]',
        details: `  Enables a disabled user again.
${DB_FLAG}
${JSON_FLAG}`,
      },
      'grant-admin': {
        synopsis: 'latchkey users grant-admin USERNAME [--json]',
        details: `  Makes a user an administrator.
${DB_FLAG}
${JSON_FLAG}`,
      },
      'revoke-admin': {
        synopsis: 'latchkey users revoke-admin USERNAME [--json]',
        details: `  Withdraws a user's administrator role.
${DB_FLAG}
${JSON_FLAG}`,
      },
      logout: {
        synopsis:
          'latchkey users logout USERNAME [--json]     # ends every session, revokes every refresh token',
        details: `  Signs a person out everywhere without disabling the account: every session ends and every
  grant is revoked, so their refresh tokens and access tokens stop working. They can sign in
  again at once. --json adds sessions_ended and grants_revoked.
${DB_FLAG}
${JSON_FLAG}`,
      },
      factors: {
        synopsis: groupUsage({ subcommands: USER_FACTORS.subcommands, notes: '' }),
        details: '',
      },
    },
    notes: `  Every subcommand takes --db PATH_OR_URL. --password-stdin reads the password from standard
  input (one trailing newline is stripped): echo 'a good password' | latchkey users create …`,
  },
  'users factors': USER_FACTORS,
  keys: {
    subcommands: {
      list: {
        synopsis: 'latchkey keys list [--json]',
        details: `  Lists the signing-key generations and what each one does now.
${DB_FLAG}
${JSON_FLAG}`,
      },
      rotate: {
        synopsis: 'latchkey keys rotate [--json]',
        details: `  Publishes a new signing key at once; it signs after LATCHKEY_KEY_PUBLICATION_DELAY.
${DB_FLAG}
${JSON_FLAG}`,
      },
      encrypt: {
        synopsis:
          'latchkey keys encrypt [--json]     # seals keys stored in the clear with LATCHKEY_KEY_ENCRYPTION_KEY',
        details: `  Seals the private keys stored in the clear with LATCHKEY_KEY_ENCRYPTION_KEY.
${DB_FLAG}
${JSON_FLAG}`,
      },
    },
    notes: '  Every subcommand takes --db PATH_OR_URL.',
  },
  audit: {
    subcommands: {
      list: {
        synopsis:
          'latchkey audit list [--type T] [--user USERNAME] [--client CLIENT_ID] [--since S] [--limit N] [--db PATH_OR_URL] [--json]',
        details: `  The audit log, newest first.
  --type T             only events of this type (such as login_failure)
  --user USERNAME      only events about this user
  --client CLIENT_ID   only events about this application
  --since S            only events of the last S: seconds or a duration (90s, 15m, 1h, 7d, 1h30m)
  --limit N            at most N events (1-1000, default 100)
${DB_FLAG}
${JSON_FLAG}`,
      },
      export: {
        synopsis:
          'latchkey audit export --since S | --from ISO [--to ISO] [--db PATH_OR_URL]     # JSON lines, oldest first',
        details: `  Writes audit events to standard output as JSON lines (one event per line, the fields of
  audit list --json), oldest first: for a log store, before LATCHKEY_AUDIT_RETENTION deletes them.
  --since S     the events of the last S: seconds or a duration (90s, 15m, 1h, 7d, 90d)
  --from ISO    the events from this time (such as 2026-12-01 or 2026-12-01T08:00:00Z) …
  --to ISO      … up to this time, not included (default: now)
${DB_FLAG}`,
      },
    },
    notes: '',
  },
  'registration-tokens': {
    subcommands: {
      create: {
        synopsis:
          'latchkey registration-tokens create [--max-uses N] [--expires-in S] [--db PATH_OR_URL] [--json]',
        details: `  Makes an initial access token for Dynamic Client Registration (RFC 7591 §3) with
  LATCHKEY_REGISTRATION=token: a client sends it as "Authorization: Bearer TOKEN" to POST /register.
  The token is printed once (only its hash is kept).
  --max-uses N     registrations it allows (1-100000, default 1)
  --expires-in S   how long it is valid (1 minute to 365 days, default 1d)
  --json prints {"id", "token", "created_at", "expires_at", "max_uses", "uses", "revoked_at", "state"}.
${DB_FLAG}
${JSON_FLAG}
  ${TIMES}`,
      },
      list: {
        synopsis: 'latchkey registration-tokens list [--db PATH_OR_URL] [--json]',
        details: `  Lists the initial access tokens (never the tokens themselves): uses, expiry, state
  (active, used_up, expired or revoked).
${DB_FLAG}
${JSON_FLAG}`,
      },
      revoke: {
        synopsis: 'latchkey registration-tokens revoke ID [--db PATH_OR_URL] [--json]',
        details: `  Revokes an initial access token: no more registrations with it. The clients it
  registered stay (remove them with latchkey clients delete).
${DB_FLAG}
${JSON_FLAG}`,
      },
    },
    notes:
      '  Every subcommand takes --db PATH_OR_URL. Every change is audited (registration_token_created, registration_token_revoked).',
  },
} satisfies Record<string, GroupUsage>;

/** What `latchkey <group> --help` prints: every sub-command's synopsis, then the notes. */
export function groupUsage(g: GroupUsage): string {
  const synopses = Object.values(g.subcommands)
    .map((s) => s.synopsis)
    .join('\n');
  return g.notes ? `${synopses}\n\n${g.notes}` : synopses;
}

/** What `latchkey <group> <sub> --help` prints: that sub-command's synopsis and flags. */
export function subUsage(s: SubUsage): string {
  return `${s.synopsis}\n\n${s.details}`;
}

export const USAGE: Record<string, string> = {
  serve: `latchkey serve [--port N] [--host ADDRESS] [--issuer URL] [--db PATH_OR_URL] [--demo]
               [--workers N|auto]

  Runs the authorization server. Settings also come from the environment (README, Configuration).
  --demo             on an empty database, creates a demo application and user (development only)
  --workers N|auto   worker processes on one port (default 1, or LATCHKEY_WORKERS; auto: one
                     per core); the first process restarts them and drains them on SIGTERM`,
  purge: `latchkey purge [--db PATH_OR_URL] [--json]

  Deletes what has expired in every table now, as the server does every minute, and prints the
  rows deleted per table and how long it took (--json: { "deleted": { "<table>": n, … }, "ms": n }).
  Audit events go after LATCHKEY_AUDIT_RETENTION (default 90d; 0 keeps them).`,
  migrate: `latchkey migrate [--db PATH_OR_URL]

  Runs pending database migrations and creates the first signing key, then exits.`,
  clients: groupUsage(GROUPS.clients),
  apis: groupUsage(GROUPS.apis),
  users: groupUsage(GROUPS.users),
  keys: groupUsage(GROUPS.keys),
  audit: groupUsage(GROUPS.audit),
  'registration-tokens': groupUsage(GROUPS['registration-tokens']),
  login: `latchkey login --issuer URL --client-id ID [--scope S] [--no-browser] [--dpop] [--device]

  The sample native app: signs in with PKCE through a loopback redirect and keeps the tokens.
  --dpop binds them to a DPoP key of its own (RFC 9449; kept in the token file) and shows the
  token_type (DPoP) and the access token's cnf.jkt.
  --device uses the device authorization grant (RFC 8628) instead, for a machine without a
  browser: it prints a URL and a code to enter there on any device, and waits for the approval
  (the application needs the grant: latchkey clients update ID --grant device_code).`,
  whoami: 'latchkey whoami\n\n  Shows who the sample native app is signed in as.',
  token:
    'latchkey token\n\n  Prints a valid access token of the sample native app (refreshing it when needed).',
  logout: 'latchkey logout\n\n  Revokes and removes the sample native app’s tokens.',
  'sample-api': `latchkey sample-api --issuer URL [--audience A] [--port N] [--host H]

  A sample protected API that accepts the issuer's access tokens. On a loopback host with a
  fixed port it also serves its RFC 9728 metadata, which its 401 challenges name.`,
};

/** --help or -h among a command's arguments (before a "--", after which all are positional). */
export function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

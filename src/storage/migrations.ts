/**
 * Migrations live in code, in order. Kysely's Migrator takes a lock (an advisory lock on
 * PostgreSQL) so several nodes starting together run each migration exactly once.
 */
import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import { GRANT_RETENTION_MS, REFRESH_RETENTION_MS } from './retention.js';

// biome-ignore lint/suspicious/noExplicitAny: migrations run before the typed schema exists
type AnyDb = Kysely<any>;

const ms = 'bigint' as const;

const migrations: Record<string, Migration> = {
  '0001_initial': {
    // One function on purpose: the initial schema, one table (and its indexes) after another,
    // as it shipped. A released migration is not edited (databases that ran it would differ
    // from new ones), so it is not split up either; later changes are new migrations below.
    async up(db: AnyDb) {
      await db.schema
        .createTable('clients')
        .addColumn('client_id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('redirect_uris', 'text', (c) => c.notNull())
        .addColumn('post_logout_redirect_uris', 'text', (c) => c.notNull())
        .addColumn('grant_types', 'text', (c) => c.notNull())
        .addColumn('token_endpoint_auth_method', 'text', (c) => c.notNull())
        .addColumn('secret_hash', 'text')
        .addColumn('consent', 'text', (c) => c.notNull())
        .addColumn('require_pkce', 'integer', (c) => c.notNull())
        .addColumn('access_token_ttl', 'integer')
        .addColumn('refresh_token_ttl', 'integer')
        .addColumn('refresh_idle_ttl', 'integer')
        .addColumn('refresh_grace', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('rotate_refresh_tokens', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('created_at', ms, (c) => c.notNull())
        .addColumn('updated_at', ms, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('username', 'text', (c) => c.notNull().unique())
        .addColumn('email', 'text')
        .addColumn('name', 'text')
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', ms, (c) => c.notNull())
        .addColumn('updated_at', ms, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('sessions')
        .addColumn('id_hash', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('auth_time', ms, (c) => c.notNull())
        .addColumn('created_at', ms, (c) => c.notNull())
        .addColumn('last_seen_at', ms, (c) => c.notNull())
        .addColumn('expires_at', ms, (c) => c.notNull())
        .addColumn('ended_at', ms)
        .execute();
      await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();
      await db.schema.createIndex('sessions_expires').on('sessions').column('expires_at').execute();

      await db.schema
        .createTable('interactions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('request', 'text', (c) => c.notNull())
        .addColumn('csrf', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text')
        .addColumn('session_hash', 'text')
        .addColumn('auth_time', ms)
        .addColumn('created_at', ms, (c) => c.notNull())
        .addColumn('expires_at', ms, (c) => c.notNull())
        .addColumn('completed_at', ms)
        .execute();
      await db.schema.createIndex('interactions_expires').on('interactions').column('expires_at').execute();

      await db.schema
        .createTable('grants')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('session_hash', 'text')
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('nonce', 'text')
        .addColumn('auth_time', ms, (c) => c.notNull())
        .addColumn('created_at', ms, (c) => c.notNull())
        .addColumn('revoked_at', ms)
        .execute();
      await db.schema.createIndex('grants_user').on('grants').column('user_id').execute();

      await db.schema
        .createTable('codes')
        .addColumn('hash', 'text', (c) => c.primaryKey())
        .addColumn('grant_id', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('redirect_uri', 'text')
        .addColumn('code_challenge', 'text')
        .addColumn('expires_at', ms, (c) => c.notNull())
        .addColumn('consumed_at', ms)
        .execute();
      await db.schema.createIndex('codes_expires').on('codes').column('expires_at').execute();

      await db.schema
        .createTable('access_tokens')
        .addColumn('jti', 'text', (c) => c.primaryKey())
        .addColumn('grant_id', 'text')
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('sub', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('expires_at', ms, (c) => c.notNull())
        .addColumn('revoked_at', ms)
        .execute();
      await db.schema.createIndex('access_tokens_grant').on('access_tokens').column('grant_id').execute();
      await db.schema.createIndex('access_tokens_expires').on('access_tokens').column('expires_at').execute();

      await db.schema
        .createTable('refresh_tokens')
        .addColumn('hash', 'text', (c) => c.primaryKey())
        .addColumn('grant_id', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('created_at', ms, (c) => c.notNull())
        .addColumn('expires_at', ms, (c) => c.notNull())
        .addColumn('idle_expires_at', ms, (c) => c.notNull())
        .addColumn('consumed_at', ms)
        .addColumn('successor', 'text')
        .addColumn('grace_until', ms)
        .execute();
      await db.schema.createIndex('refresh_tokens_grant').on('refresh_tokens').column('grant_id').execute();
      await db.schema
        .createIndex('refresh_tokens_expires')
        .on('refresh_tokens')
        .column('expires_at')
        .execute();

      await db.schema
        .createTable('consents')
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('created_at', ms, (c) => c.notNull())
        .addPrimaryKeyConstraint('consents_pk', ['user_id', 'client_id'])
        .execute();

      await db.schema
        .createTable('signing_keys')
        .addColumn('kid', 'text', (c) => c.primaryKey())
        .addColumn('generation', 'integer', (c) => c.notNull().unique())
        .addColumn('alg', 'text', (c) => c.notNull())
        .addColumn('private_pem', 'text', (c) => c.notNull())
        .addColumn('public_jwk', 'text', (c) => c.notNull())
        .addColumn('created_at', ms, (c) => c.notNull())
        .addColumn('active_at', ms, (c) => c.notNull())
        .addColumn('retired_at', ms)
        .addColumn('expires_at', ms)
        .execute();

      await db.schema
        .createTable('audit_events')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('at', ms, (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text')
        .addColumn('user_id', 'text')
        .addColumn('ip', 'text')
        .addColumn('detail', 'text')
        .execute();
      await db.schema.createIndex('audit_events_at').on('audit_events').column('at').execute();
    },
  },
  '0002_admin_role': {
    /** Who may use the admin console: a flag on the user, off for everyone who exists already. */
    async up(db: AnyDb) {
      await db.schema
        .alterTable('users')
        .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },
  },
  '0003_login_failures': {
    /** Failed sign-ins per account and per IP, shared by every node (sign-in throttling). */
    async up(db: AnyDb) {
      await db.schema
        .createTable('login_failures')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('at', ms, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('login_failures_key_at')
        .on('login_failures')
        .columns(['key', 'at'])
        .execute();
      await db.schema.createIndex('login_failures_at').on('login_failures').column('at').execute();
    },
  },
  '0004_client_allowed_scopes': {
    /** API scopes a service application may ask for with client credentials (space-delimited). */
    async up(db: AnyDb) {
      await db.schema
        .alterTable('clients')
        .addColumn('allowed_scopes', 'text', (c) => c.notNull().defaultTo(''))
        .execute();
    },
  },
  '0005_codes_in_grants': {
    /**
     * The authorization code is written in its grant's row: one insert per /authorize instead of
     * a transaction of two, and redemption is one UPDATE … RETURNING on that row (bench/README.md).
     * The old codes table stays: codes written before the upgrade, or by a node not yet upgraded,
     * are still redeemed from it (a fallback read), and the purge empties it as they expire.
     */
    async up(db: AnyDb) {
      for (const [column, type] of [
        ['code_hash', 'text'],
        ['code_redirect_uri', 'text'],
        ['code_challenge', 'text'],
        ['code_expires_at', ms],
        ['code_consumed_at', ms],
        ['purge_after', ms],
      ] as const) {
        await db.schema.alterTable('grants').addColumn(column, type).execute();
      }
      // Grants were never purged before: from now on each has the time after which it may go
      // (storage/retention.ts), two days after it was made or a day after its refresh-token
      // family ends, whichever is later.
      await db
        .updateTable('grants')
        .set((eb) => ({ purge_after: eb('created_at', '+', GRANT_RETENTION_MS) }))
        .execute();
      await db
        .updateTable('grants')
        .set((eb) => ({
          purge_after: eb(
            eb
              .selectFrom('refresh_tokens')
              .select((f) => f.fn.max('refresh_tokens.expires_at').as('end'))
              .whereRef('refresh_tokens.grant_id', '=', 'grants.id'),
            '+',
            REFRESH_RETENTION_MS,
          ),
        }))
        .where((eb) =>
          eb.exists(
            eb
              .selectFrom('refresh_tokens')
              .select('refresh_tokens.hash')
              .whereRef('refresh_tokens.grant_id', '=', 'grants.id'),
          ),
        )
        .execute();
      await db.schema.createIndex('grants_code_hash').on('grants').column('code_hash').unique().execute();
      await db.schema.createIndex('grants_purge_after').on('grants').column('purge_after').execute();
      // Access tokens are no longer recorded at issue; their rows are written only on revocation.
    },
  },
  '0006_signing_key_ec_part': {
    /**
     * Each key generation may also hold a P-256 key for ES256 access tokens
     * (LATCHKEY_ACCESS_TOKEN_ALG=ES256): created, published, rotated and retired with its
     * RS256 key, which keeps signing ID tokens.
     */
    async up(db: AnyDb) {
      for (const column of ['ec_kid', 'ec_private_pem', 'ec_public_jwk']) {
        await db.schema.alterTable('signing_keys').addColumn(column, 'text').execute();
      }
    },
  },
  '0007_refresh_grace_server_default': {
    /**
     * clients.refresh_grace becomes nullable: null follows the server's LATCHKEY_REFRESH_GRACE
     * (now 30 s by default). Every application used to be created with an explicit 0 (the old
     * default), so a stored 0 cannot be told from a chosen one: 0 becomes null, other values stay.
     * SQLite cannot drop a NOT NULL constraint in place, so the column is replaced (add, copy,
     * drop, rename) on both engines, in one transaction.
     */
    async up(db: AnyDb) {
      const run = async (t: AnyDb) => {
        await t.schema.alterTable('clients').addColumn('refresh_grace_0007', 'integer').execute();
        await t
          .updateTable('clients')
          .set((eb) => ({ refresh_grace_0007: eb.ref('refresh_grace') }))
          .where('refresh_grace', '<>', 0)
          .execute();
        await t.schema.alterTable('clients').dropColumn('refresh_grace').execute();
        await t.schema.alterTable('clients').renameColumn('refresh_grace_0007', 'refresh_grace').execute();
      };
      // PostgreSQL migrations already run in a transaction (transactional DDL); SQLite's do not.
      if (db.isTransaction) await run(db);
      else await db.transaction().execute(run);
    },
  },
  '0008_login_reservations': {
    /**
     * A sign-in attempt in progress is a reservation, not a failure: a row of login_failures with
     * an expires_at (its lease), turned into a failure (expires_at null) only when the password
     * proves wrong, deleted otherwise. Rows written before this are failures (null), as are the
     * rows of a node not yet upgraded.
     */
    async up(db: AnyDb) {
      await db.schema.alterTable('login_failures').addColumn('expires_at', ms).execute();
    },
  },
  '0009_sessions_ended_index': {
    /**
     * The purge deletes ended sessions by `ended_at`; without an index that statement scanned
     * every session each minute (storage/sql/purge.ts).
     */
    async up(db: AnyDb) {
      await db.schema.createIndex('sessions_ended').on('sessions').column('ended_at').execute();
    },
  },
  '0010_pushed_requests_and_replays': {
    /** RFC 9126 pushed authorization requests; one-time `jti`s of DPoP proofs and client assertions. */
    async up(db: AnyDb) {
      await db.schema
        .createTable('pushed_requests')
        .addColumn('uri_hash', 'text', (c) => c.primaryKey())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('params', 'text', (c) => c.notNull())
        .addColumn('created_at', ms, (c) => c.notNull())
        .addColumn('expires_at', ms, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('pushed_requests_expires')
        .on('pushed_requests')
        .column('expires_at')
        .execute();
      await db.schema
        .createTable('replays')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('expires_at', ms, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('replays_expires').on('replays').column('expires_at').execute();
    },
  },
  '0011_client_require_par': {
    async up(db: AnyDb) {
      await db.schema
        .alterTable('clients')
        .addColumn('require_par', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },
  },
  '0012_refresh_token_dpop_binding': {
    async up(db: AnyDb) {
      await db.schema.alterTable('refresh_tokens').addColumn('dpop_jkt', 'text').execute();
    },
  },
  '0013_client_keys_and_profile': {
    /** private_key_jwt keys (jwks, jwks_uri), client_secret_jwt's sealed secret, DPoP-bound, fapi2. */
    async up(db: AnyDb) {
      for (const column of ['jwks', 'jwks_uri', 'secret_sealed', 'profile'])
        await db.schema.alterTable('clients').addColumn(column, 'text').execute();
      await db.schema
        .alterTable('clients')
        .addColumn('dpop_bound', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },
  },
  '0014_code_dpop_binding': {
    /** RFC 9449 §10: a code bound to a DPoP key (`dpop_jkt` at /authorize or /par). */
    async up(db: AnyDb) {
      await db.schema.alterTable('grants').addColumn('code_dpop_jkt', 'text').execute();
    },
  },
  '0015_strong_sign_in': {
    /**
     * Passkeys (WebAuthn credentials), TOTP factors, recovery codes and single-use WebAuthn
     * challenges; what a session's and an interaction's person did to sign in (RFC 8176 method
     * values with their times); the `amr`/`acr` a grant's tokens carry; per-application MFA
     * policy; an administrator's "enrol a factor at the next sign-in".
     */
    async up(db: AnyDb) {
      await db.schema
        .createTable('passkeys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('credential_id', 'text', (c) => c.notNull().unique())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('counter', ms, (c) => c.notNull())
        .addColumn('transports', 'text', (c) => c.notNull())
        .addColumn('backup_eligible', 'integer', (c) => c.notNull())
        .addColumn('backed_up', 'integer', (c) => c.notNull())
        .addColumn('aaguid', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', ms, (c) => c.notNull())
        .addColumn('last_used_at', ms)
        .execute();
      await db.schema.createIndex('passkeys_user').on('passkeys').column('user_id').execute();
      await db.schema
        .createTable('totp_factors')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('secret_sealed', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', ms, (c) => c.notNull())
        .addColumn('confirmed_at', ms)
        .addColumn('last_used_at', ms)
        .addColumn('last_step', ms, (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.createIndex('totp_factors_user').on('totp_factors').column('user_id').execute();
      await db.schema
        .createTable('recovery_codes')
        .addColumn('code_hash', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('set_id', 'text', (c) => c.notNull())
        .addColumn('created_at', ms, (c) => c.notNull())
        .addColumn('used_at', ms)
        .execute();
      await db.schema.createIndex('recovery_codes_user').on('recovery_codes').column('user_id').execute();
      await db.schema
        .createTable('webauthn_challenges')
        .addColumn('challenge', 'text', (c) => c.primaryKey())
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('binding', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text')
        .addColumn('expires_at', ms, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('webauthn_challenges_expires')
        .on('webauthn_challenges')
        .column('expires_at')
        .execute();
      await db.schema.alterTable('sessions').addColumn('auth_methods', 'text').execute();
      await db.schema.alterTable('interactions').addColumn('auth_methods', 'text').execute();
      await db.schema.alterTable('grants').addColumn('amr', 'text').execute();
      await db.schema.alterTable('grants').addColumn('acr', 'text').execute();
      await db.schema.alterTable('clients').addColumn('mfa', 'text').execute();
      await db.schema
        .alterTable('users')
        .addColumn('mfa_enrol_required', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },
  },
  '0016_session_device': {
    /**
     * Where a session was started from, for the account page's list of sessions: the client IP
     * and the User-Agent header (at most 256 characters); null for sessions older than this.
     */
    async up(db: AnyDb) {
      await db.schema.alterTable('sessions').addColumn('ip', 'text').execute();
      await db.schema.alterTable('sessions').addColumn('user_agent', 'text').execute();
    },
  },
  '0017_apis': {
    /**
     * Protected APIs (resource servers, RFC 8707): identifier (the tokens' `aud`), name, scopes
     * with their descriptions (JSON), and settings that override the server's when set.
     */
    async up(db: AnyDb) {
      await db.schema
        .createTable('apis')
        .addColumn('identifier', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('access_token_ttl', 'integer')
        .addColumn('token_alg', 'text')
        .addColumn('allow_dynamic_clients', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', ms, (c) => c.notNull())
        .addColumn('updated_at', ms, (c) => c.notNull())
        .execute();
    },
  },
  '0018_resource_indicators': {
    /**
     * RFC 8707: which APIs an application may ask tokens for (JSON, null = the default API only)
     * and which APIs a grant covers (JSON, null = the default API only, as every older grant).
     */
    async up(db: AnyDb) {
      await db.schema.alterTable('clients').addColumn('allowed_apis', 'text').execute();
      await db.schema.alterTable('grants').addColumn('resources', 'text').execute();
    },
  },
  '0019_device_codes': {
    /**
     * Device authorization requests (RFC 8628): the hashes of the device code and of the user
     * code (unique: the page looks it up), the client, scope and polling interval, the person's
     * decision and the grant it made, when a token request took it, and the APIs (RFC 8707
     * resources, JSON array; null: the default API) asked for.
     */
    async up(db: AnyDb) {
      await db.schema
        .createTable('device_codes')
        .addColumn('hash', 'text', (c) => c.primaryKey())
        .addColumn('user_code_hash', 'text', (c) => c.notNull().unique())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('poll_interval', 'integer', (c) => c.notNull())
        .addColumn('created_at', ms, (c) => c.notNull())
        .addColumn('expires_at', ms, (c) => c.notNull())
        .addColumn('last_polled_at', ms)
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('grant_id', 'text')
        .addColumn('consumed_at', ms)
        .addColumn('resources', 'text')
        .execute();
      await db.schema.createIndex('device_codes_expires').on('device_codes').column('expires_at').execute();
    },
  },
  '0020_client_registration': {
    /**
     * Dynamic Client Registration (RFC 7591, RFC 7592): how a client was registered (null: by an
     * administrator; `dynamic`: at /register) and the hash of its registration access token;
     * initial access tokens (hashed), with their use count, limit, expiry and revocation.
     */
    async up(db: AnyDb) {
      await db.schema.alterTable('clients').addColumn('registration', 'text').execute();
      await db.schema.alterTable('clients').addColumn('registration_token_hash', 'text').execute();
      await db.schema
        .createTable('registration_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', ms, (c) => c.notNull())
        .addColumn('expires_at', ms, (c) => c.notNull())
        .addColumn('max_uses', 'integer', (c) => c.notNull())
        .addColumn('uses', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('revoked_at', ms)
        .execute();
    },
  },
  '0021_mail_outbox': {
    /**
     * The mail outbox (ops/mail-sender.ts): each message until it is sent or given up, with its
     * attempts, when it is next due, the last error (short, no secrets) and the lease of the node
     * sending it (claimed_by, claimed_until: taken by one conditional UPDATE). Bodies are emptied
     * once sent or failed; purge_after (set then) is when the purge deletes the row.
     */
    async up(db: AnyDb) {
      await db.schema
        .createTable('mail_outbox')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('recipient', 'text', (c) => c.notNull())
        .addColumn('recipient_name', 'text')
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('text_body', 'text', (c) => c.notNull())
        .addColumn('html_body', 'text', (c) => c.notNull())
        .addColumn('created_at', ms, (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', ms, (c) => c.notNull())
        .addColumn('claimed_by', 'text')
        .addColumn('claimed_until', ms)
        .addColumn('sent_at', ms)
        .addColumn('failed_at', ms)
        .addColumn('last_error', 'text')
        .addColumn('purge_after', ms)
        .execute();
      await db.schema.createIndex('mail_outbox_due').on('mail_outbox').column('next_attempt_at').execute();
      await db.schema
        .createIndex('mail_outbox_purge_after')
        .on('mail_outbox')
        .column('purge_after')
        .execute();
    },
  },
};

class InCodeMigrations implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations;
  }
}

/** Runs the pending migrations (up to `opts.to`, for upgrade tests; default all). */
export async function migrate(db: AnyDb, opts: { to?: string } = {}): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: new InCodeMigrations(),
    migrationTableName: 'latchkey_migrations',
    migrationLockTableName: 'latchkey_migrations_lock',
  });
  const { error, results } =
    opts.to === undefined ? await migrator.migrateToLatest() : await migrator.migrateTo(opts.to);
  if (error) {
    throw new Error(`database migration failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

export async function pendingMigrations(db: AnyDb): Promise<number> {
  const migrator = new Migrator({
    db,
    provider: new InCodeMigrations(),
    migrationTableName: 'latchkey_migrations',
    migrationLockTableName: 'latchkey_migrations_lock',
  });
  const all = await migrator.getMigrations();
  return all.filter((m) => m.executedAt === undefined).length;
}

export { sql };

/**
 * How long rows outlive their use (the purge, storage/sql/purge.ts, deletes them after that).
 * Codes live at most 10 minutes and access tokens at most a day (MAX_SIGNED_LIFETIME_SEC).
 */

/**
 * A code is kept a day after it expires, so a late replay is still recognised as reuse (and
 * revokes what the code issued) rather than looking unknown.
 */
export const CODE_RETENTION_MS = 24 * 3600 * 1000;

/**
 * A grant outlives its code's retention and every access token issued at redemption; a grant with
 * a refresh-token family is kept as long as the family's rows (its `purge_after` moves then).
 */
export const GRANT_RETENTION_MS = 2 * 24 * 3600 * 1000;

/**
 * A refresh-token family's rows are kept a day past its absolute end: reuse detection no longer
 * matters then, and the last access token it issued (at most a day) has expired.
 */
export const REFRESH_RETENTION_MS = 24 * 3600 * 1000;

/** Sign-in failures matter only inside the throttle window (15 minutes); a day is ample. */
export const LOGIN_FAILURE_RETENTION_MS = 24 * 3600 * 1000;

/**
 * A device code is kept an hour past its expiry: a device still polling is told expired_token
 * (RFC 8628 §3.5) rather than that the code is unknown.
 */
export const DEVICE_CODE_RETENTION_MS = 3600 * 1000;

/**
 * A sent or given-up mail is kept a day (its bodies are emptied at once: they may hold one-time
 * links), so an operator can see what went out and what failed; then the purge deletes it.
 */
export const MAIL_RETENTION_MS = 24 * 3600 * 1000;

/**
 * The tables of the in-memory stores (FOR TESTS ONLY, see ./index.ts) and the one handle every
 * store writes through: rows are replaced, never changed in place, and a write made inside a
 * transaction leaves an undo step behind, so a failed transaction can be rolled back.
 */
import type {
  AccessTokenRecord,
  Api,
  AuditEvent,
  AuthorizationCode,
  Client,
  Consent,
  DeviceCode,
  Grant,
  InitialAccessToken,
  Interaction,
  OutboxMessage,
  Passkey,
  PushedRequest,
  RefreshTokenRecord,
  Session,
  SigningKey,
  TotpFactor,
  User,
  WebauthnChallenge,
} from '../types.js';

/** A grant with the code written in its row (as migration 0005 has it in SQL). */
export interface GrantRow {
  grant: Grant;
  code: Omit<AuthorizationCode, 'grantId' | 'clientId'> | null;
}

/** A row of login_failures: a failure (expiresAt null) or a reservation (leased until expiresAt). */
export interface LoginFailureRow {
  id: string;
  key: string;
  at: number;
  expiresAt: number | null;
}

/** Every table, keyed by its primary key. */
export interface MemoryTables {
  clients: Map<string, Client>;
  /** By identifier. */
  apis: Map<string, Api>;
  /** By id; usernames are unique too (checked on insert). */
  users: Map<string, User>;
  sessions: Map<string, Session>;
  interactions: Map<string, Interaction>;
  /** By grant id; code hashes are unique too (checked on insert). */
  grants: Map<string, GrantRow>;
  /** Revocation rows only (like the SQL table since migration 0005). */
  accessTokens: Map<string, AccessTokenRecord>;
  refreshTokens: Map<string, RefreshTokenRecord>;
  /** By `consentKey(userId, clientId)`. */
  consents: Map<string, Consent>;
  /** By kid; generations are unique too (checked on insert). */
  keys: Map<string, SigningKey>;
  audit: Map<string, AuditEvent>;
  loginFailures: Map<string, LoginFailureRow>;
  /** By request_uri hash. */
  pushedRequests: Map<string, PushedRequest>;
  replays: Map<string, { key: string; expiresAt: number }>;
  /** By id; credential ids are unique too (checked on insert). */
  passkeys: Map<string, Passkey>;
  totpFactors: Map<string, TotpFactor>;
  /** By code hash. */
  recoveryCodes: Map<string, RecoveryCodeRow>;
  /** By challenge. */
  webauthnChallenges: Map<string, WebauthnChallenge>;
  /** By device code hash; user code hashes are unique too (checked on insert). */
  deviceCodes: Map<string, DeviceCode>;
  /** By id; token hashes are unique too (checked on insert). */
  registrationTokens: Map<string, InitialAccessToken>;
  /** The mail outbox, by id. */
  outbox: Map<string, OutboxMessage>;
}

export interface RecoveryCodeRow {
  codeHash: string;
  userId: string;
  setId: string;
  createdAt: number;
  usedAt: number | null;
}

export type TableName = keyof MemoryTables;
export type RowOf<N extends TableName> = MemoryTables[N] extends Map<string, infer R> ? R : never;

export function emptyTables(): MemoryTables {
  return {
    clients: new Map(),
    apis: new Map(),
    users: new Map(),
    sessions: new Map(),
    interactions: new Map(),
    grants: new Map(),
    accessTokens: new Map(),
    refreshTokens: new Map(),
    consents: new Map(),
    keys: new Map(),
    audit: new Map(),
    loginFailures: new Map(),
    pushedRequests: new Map(),
    replays: new Map(),
    passkeys: new Map(),
    totpFactors: new Map(),
    recoveryCodes: new Map(),
    webauthnChallenges: new Map(),
    deviceCodes: new Map(),
    registrationTokens: new Map(),
    outbox: new Map(),
  };
}

/** What one transaction wrote: how to undo it, newest last; closed once it commits or rolls back. */
export interface UndoLog {
  steps: (() => void)[];
  open: boolean;
}

/** Whether the storage is still open (shared by every handle of one storage). */
export interface Lifecycle {
  closed: boolean;
}

/**
 * The handle the stores use, as the SQL stores use Kysely: bound to the tables, and inside a
 * transaction to its undo log.
 */
export class MemoryDb {
  constructor(
    private readonly tables: MemoryTables,
    private readonly life: Lifecycle,
    private readonly tx?: UndoLog,
  ) {}

  #check(): void {
    if (this.life.closed) throw new Error('the in-memory storage is closed');
    if (this.tx && !this.tx.open) throw new Error('the transaction has already ended');
  }

  /** A table to read. Its rows must not be changed in place: write them back with put(). */
  rows<N extends TableName>(name: N): ReadonlyMap<string, RowOf<N>> {
    this.#check();
    return this.tables[name] as unknown as ReadonlyMap<string, RowOf<N>>;
  }

  /** Inserts or replaces a row. */
  put<N extends TableName>(name: N, key: string, row: RowOf<N>): void {
    this.#check();
    const table = this.tables[name] as unknown as Map<string, RowOf<N>>;
    if (this.tx) {
      const had = table.has(key);
      const prior = table.get(key);
      this.tx.steps.push(() => {
        if (had) table.set(key, prior as RowOf<N>);
        else table.delete(key);
      });
    }
    table.set(key, row);
  }

  /** Deletes a row; true when there was one. */
  delete<N extends TableName>(name: N, key: string): boolean {
    this.#check();
    const table = this.tables[name] as unknown as Map<string, RowOf<N>>;
    if (!table.has(key)) return false;
    if (this.tx) {
      const prior = table.get(key) as RowOf<N>;
      this.tx.steps.push(() => table.set(key, prior));
    }
    return table.delete(key);
  }
}

/** A deep copy: nothing a caller holds is shared with a stored row. */
export const copy = <T>(value: T): T => structuredClone(value);

/** What a JSON text column gives back (the SQL stores keep lists, JWKs and details as JSON). */
export const viaJson = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/**
 * In-memory stores — FOR TESTS ONLY, NOT A PRODUCTION BACK END.
 *
 * Every store of src/storage/types.ts kept in Maps, so grant, sign-in and store tests run in
 * milliseconds without a database. It passes the same contract suite as the SQL stores
 * (test/storage/contract.test.ts) and mirrors their semantics: DuplicateError where they reject
 * a duplicate, one winner for every atomic consume (nothing awaits between a check and its
 * write), the consent union, unique key generations, audit order and filters, the throttle's
 * reservations and leases, revocation through the grant. Rows are copied in and out, so callers
 * cannot change what is stored.
 *
 * It is deliberately not a `Storage` (storage/index.ts) and has no `Dialect`: nothing persists,
 * there are no migrations, purge, health or start-up lock across processes, and `openStorage`
 * (LATCHKEY_DATABASE) cannot select it. Only tests import this module.
 *
 * Transactions: `transaction(fn)` runs one at a time (a mutex) and is all or nothing: every write
 * made through the stores it passes to `fn` is undone, newest first, when `fn` rejects. Writes
 * made meanwhile through the top-level stores are not part of it and stay (they are visible to
 * it, and it to them: there is no isolation beyond that, unlike a database).
 */
import type { Storage } from '../index.js';
import type { Stores } from '../types.js';
import { MemoryApiStore } from './apis.js';
import { MemoryClientStore } from './clients.js';
import { emptyTables, type Lifecycle, MemoryDb, type MemoryTables, type UndoLog } from './db.js';
import { MemoryDeviceCodeStore } from './device-codes.js';
import { MemoryFactorStore, MemoryWebauthnChallengeStore } from './factors.js';
import { MemoryAccessTokenStore, MemoryGrantStore } from './grants.js';
import { MemoryAuditStore, MemoryConsentStore, MemoryKeyStore } from './misc.js';
import { MemoryPushedRequestStore, MemoryReplayStore } from './one-time.js';
import { MemoryOutboxStore } from './outbox.js';
import { MemoryRefreshTokenStore } from './refresh-tokens.js';
import { MemoryInitialAccessTokenStore } from './registration-tokens.js';
import { MemoryInteractionStore, MemorySessionStore } from './sessions.js';
import { MemoryThrottleStore } from './throttle.js';
import { MemoryUserStore } from './users.js';

/** The in-memory stores with what a test needs of a Storage: transactions and close. */
export interface MemoryStorage extends Stores, Pick<Storage, 'transaction' | 'serialized' | 'close'> {
  /** Not a Dialect: this is no back end a server can run on. */
  readonly kind: 'memory';
}

function storesOn(db: MemoryDb): Stores {
  return {
    clients: new MemoryClientStore(db),
    apis: new MemoryApiStore(db),
    users: new MemoryUserStore(db),
    sessions: new MemorySessionStore(db),
    interactions: new MemoryInteractionStore(db),
    grants: new MemoryGrantStore(db),
    accessTokens: new MemoryAccessTokenStore(db),
    refreshTokens: new MemoryRefreshTokenStore(db),
    consents: new MemoryConsentStore(db),
    keys: new MemoryKeyStore(db),
    audit: new MemoryAuditStore(db),
    throttle: new MemoryThrottleStore(db),
    pushedRequests: new MemoryPushedRequestStore(db),
    replays: new MemoryReplayStore(db),
    factors: new MemoryFactorStore(db),
    webauthnChallenges: new MemoryWebauthnChallengeStore(db),
    deviceCodes: new MemoryDeviceCodeStore(db),
    registrationTokens: new MemoryInitialAccessTokenStore(db),
    outbox: new MemoryOutboxStore(db),
  };
}

/** Fresh, empty in-memory stores (for tests). */
export function openMemoryStorage(): MemoryStorage {
  const tables: MemoryTables = emptyTables();
  const life: Lifecycle = { closed: false };
  // Transactions run one after another: each waits for the one before it to settle.
  let last: Promise<void> = Promise.resolve();

  async function transaction<T>(fn: (stores: Stores) => Promise<T>): Promise<T> {
    const turn = last;
    let release: () => void = () => {};
    last = new Promise<void>((resolve) => {
      release = resolve;
    });
    await turn;
    try {
      if (life.closed) throw new Error('the in-memory storage is closed');
      const log: UndoLog = { steps: [], open: true };
      try {
        const result = await fn(storesOn(new MemoryDb(tables, life, log)));
        log.open = false;
        return result;
      } catch (err) {
        log.open = false;
        for (const undo of log.steps.reverse()) undo();
        throw err;
      }
    } finally {
      release();
    }
  }

  return {
    ...storesOn(new MemoryDb(tables, life)),
    kind: 'memory',
    transaction,
    // One process, nothing to lock against other processes.
    serialized: (fn) => fn(),
    async close() {
      life.closed = true;
    },
  };
}

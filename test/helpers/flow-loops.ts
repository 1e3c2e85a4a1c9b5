/**
 * Concurrent flow loops over real HTTP against a `latchkey serve` (test/helpers/serve-child.ts),
 * for the crash and backup tests. Each loop is its own person, signed in once through the HTML
 * form and then by its session: authorize → code → /token → refresh → refresh → … Every loop
 * keeps a few of its codes unredeemed. The loops record everything a client RECEIVED, when it
 * received it, and the one request each has in flight (sent, not answered yet).
 */
import { Browser } from './browser.js';
import { type Code, getCode, pkce, redeem, refresh } from './flow.js';
import type { Seeded } from './serve-child.js';

/** The scope of the loops' requests: offline_access, for a refresh token. */
const OFFLINE = { scope: 'openid offline_access' };

export interface Received<T> {
  value: T;
  /** When the answer was received (ms). */
  at: number;
  /** When the request that brought it was sent (ms). */
  requestedAt: number;
}

export interface Family {
  /** The code the family was redeemed from. */
  code: string;
  /** The latest refresh token received. */
  latest: string;
  /** Every refresh token of the family received, in order. */
  history: Received<string>[];
}

export type Pending =
  | { kind: 'authorize' }
  | { kind: 'redeem'; code: Code }
  | { kind: 'refresh'; family: Family; token: string };

export interface LoopState {
  user: string;
  browser: Browser;
  /** Codes received and never sent to /token. */
  held: Received<Code>[];
  /** Codes received and redeemed (answer received). */
  redeemed: string[];
  families: Family[];
  accessTokens: Received<string>[];
  /** The request sent and not answered (when the loop ended: what a crash cut off). */
  pending?: Pending;
  /** The unexpected answer or failure that ended the loop, and when. */
  error?: { message: string; at: number };
  answers: number;
}

export interface FlowLoops {
  states: LoopState[];
  /** Ends the loops after their current request (or its failure); resolves when all ended. */
  stop(): Promise<void>;
  /** Every refresh token received by any loop. */
  refreshTokens(): string[];
}

export interface FlowLoopOptions {
  /** Codes each loop keeps unredeemed (every third code, up to this many); default 2. */
  heldPerLoop?: number;
  /** Refreshes of a family before the loop starts the next; default 3. */
  refreshesPerFamily?: number;
}

/** Authorize with the loop's session (signing in the first time): the code from the redirect. */
async function authorizeOnce(base: string, s: Seeded, st: LoopState): Promise<Code> {
  const { code, verifier } = await getCode(base, s.app, pkce(), OFFLINE, {
    browser: st.browser,
    username: st.user,
  });
  return { code, verifier };
}

async function flowLoop(
  base: string,
  s: Seeded,
  st: LoopState,
  stopped: () => boolean,
  opts: Required<FlowLoopOptions>,
): Promise<void> {
  try {
    for (let n = 0; !stopped(); n++) {
      st.pending = { kind: 'authorize' };
      let requestedAt = Date.now();
      const c = await authorizeOnce(base, s, st);
      st.pending = undefined;
      st.answers++;
      if (n % 3 === 1 && st.held.length < opts.heldPerLoop) {
        st.held.push({ value: c, at: Date.now(), requestedAt });
        continue;
      }
      st.pending = { kind: 'redeem', code: c };
      requestedAt = Date.now();
      const r = await redeem(base, s.app, c.code, c.verifier);
      if (r.status !== 200) throw new Error(`redeem: ${r.status} ${JSON.stringify(r.json)}`);
      st.pending = undefined;
      st.answers++;
      let at = Date.now();
      st.redeemed.push(c.code);
      const first = String(r.json.refresh_token);
      const family: Family = { code: c.code, latest: first, history: [{ value: first, at, requestedAt }] };
      st.families.push(family);
      st.accessTokens.push({ value: String(r.json.access_token), at, requestedAt });
      for (let k = 0; k < opts.refreshesPerFamily && !stopped(); k++) {
        st.pending = { kind: 'refresh', family, token: family.latest };
        requestedAt = Date.now();
        const f = await refresh(base, s.app, family.latest);
        if (f.status !== 200) throw new Error(`refresh: ${f.status} ${JSON.stringify(f.json)}`);
        st.pending = undefined;
        st.answers++;
        at = Date.now();
        family.latest = String(f.json.refresh_token);
        family.history.push({ value: family.latest, at, requestedAt });
        st.accessTokens.push({ value: String(f.json.access_token), at, requestedAt });
      }
    }
  } catch (err) {
    // The request stays pending: after a kill, that is what the crash cut off.
    st.error = { message: (err as Error).message, at: Date.now() };
  }
}

/** Starts one loop per seeded user against `base`. */
export function runFlowLoops(base: string, s: Seeded, options: FlowLoopOptions = {}): FlowLoops {
  const opts = { heldPerLoop: 2, refreshesPerFamily: 3, ...options };
  let stopped = false;
  const states: LoopState[] = s.usernames.map((user) => ({
    user,
    browser: new Browser(base),
    held: [],
    redeemed: [],
    families: [],
    accessTokens: [],
    answers: 0,
  }));
  const loops = states.map((st) => flowLoop(base, s, st, () => stopped, opts));
  return {
    states,
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
    refreshTokens: () => states.flatMap((st) => st.families.flatMap((f) => f.history.map((h) => h.value))),
  };
}

/**
 * Demo mode only (`latchkey serve --demo`): the code verifiers of the authorize URLs the server
 * printed at start, by their `state`, so that its own callback page (/demo/callback) can show the
 * exact exchange and do it. Kept in memory for an hour; each verifier is handed out once.
 */
import { randomToken } from '../crypto.js';
import { s256 } from '../protocol/pkce.js';

export const DEMO_CALLBACK_PATH = '/demo/callback';
const KEEP_MS = 3600_000;
const MAX = 100;

export interface DemoAttempt {
  state: string;
  nonce: string;
  verifier: string;
  challenge: string;
}

/**
 * What the processes of `serve --workers` share (src/cluster/): the demo application and the
 * printed attempts, so that whichever worker answers the callback knows the verifier.
 */
export interface DemoSnapshot {
  clientId?: string;
  attempts: Array<{ state: string; verifier: string; at: number }>;
}

export class DemoAttempts {
  readonly #byState = new Map<string, { verifier: string; at: number }>();
  /** The demo application's client_id, once the demo data exists (src/cli/demo.ts). */
  clientId: string | undefined;
  /** Told when an attempt is used up here (take), so that the other workers forget it too. */
  onTaken: ((state: string) => void) | undefined;

  constructor(private readonly now: () => number) {}

  /** The demo application and the attempts kept, for the other workers. */
  snapshot(): DemoSnapshot {
    return {
      ...(this.clientId === undefined ? {} : { clientId: this.clientId }),
      attempts: [...this.#byState].map(([state, a]) => ({ state, verifier: a.verifier, at: a.at })),
    };
  }

  /** Takes on another process's attempts and demo application (the attempts keep their age). */
  adopt(s: DemoSnapshot): void {
    if (s.clientId !== undefined) this.clientId = s.clientId;
    for (const a of s.attempts) {
      if (this.#byState.size >= MAX && !this.#byState.has(a.state))
        this.#byState.delete(this.#byState.keys().next().value as string);
      this.#byState.set(a.state, { verifier: a.verifier, at: a.at });
    }
  }

  /** Forgets an attempt another worker used up. */
  forget(state: string): void {
    this.#byState.delete(state);
  }

  /** A fresh verifier, challenge, state and nonce for a printed authorize URL. */
  start(): DemoAttempt {
    const verifier = randomToken(32);
    const attempt = { state: randomToken(12), nonce: randomToken(12), verifier, challenge: s256(verifier) };
    if (this.#byState.size >= MAX) this.#byState.delete(this.#byState.keys().next().value as string);
    this.#byState.set(attempt.state, { verifier, at: this.now() });
    return attempt;
  }

  /** The verifier of a printed URL (undefined for an unknown or old state). */
  peek(state: string): string | undefined {
    const a = this.#byState.get(state);
    return a && this.now() - a.at < KEEP_MS ? a.verifier : undefined;
  }

  /** Like peek, but once: the exchange uses it up. */
  take(state: string): string | undefined {
    const v = this.peek(state);
    if (this.#byState.delete(state)) this.onTaken?.(state);
    return v;
  }
}

/**
 * The one clock. Everything time-based (codes, sessions, tokens, keys) asks it,
 * so tests move time instead of sleeping.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock shifted by a fixed offset (spawned test servers use `LATCHKEY_CLOCK_OFFSET_SEC`). */
export function offsetClock(offsetMs: number, base: Clock = systemClock): Clock {
  return { now: () => base.now() + offsetMs };
}

/** A clock tests can move by hand. */
export class ManualClock implements Clock {
  #offset = 0;
  constructor(private readonly base: Clock = systemClock) {}
  now(): number {
    return this.base.now() + this.#offset;
  }
  advance(ms: number): void {
    this.#offset += ms;
  }
  advanceSeconds(s: number): void {
    this.advance(s * 1000);
  }
}

export const epochSeconds = (clock: Clock): number => Math.floor(clock.now() / 1000);

/**
 * Request parameters as a flat map of strings. RFC 6749 §3.1 / §3.2: "Request and response
 * parameters MUST NOT be included more than once"; oversized values are refused, not truncated.
 */
import { invalidRequest } from './errors.js';

export const MAX_PARAM_LENGTH = 4096;
export const MAX_PARAMS = 64;

export interface Params {
  get(name: string): string | undefined;
  /** Names that appeared more than once. */
  readonly duplicated: readonly string[];
  /** Names whose value was too long or not text. */
  readonly malformed: readonly string[];
  has(name: string): boolean;
}

class ParamMap implements Params {
  constructor(
    private readonly values: Map<string, string>,
    readonly duplicated: readonly string[],
    readonly malformed: readonly string[],
  ) {}
  get(name: string): string | undefined {
    return this.values.get(name);
  }
  has(name: string): boolean {
    return this.values.has(name);
  }
}

/** Accepts what Fastify's query or form parser produced (strings, arrays for repeats). */
export function readParams(source: unknown): Params {
  const values = new Map<string, string>();
  const duplicated: string[] = [];
  const malformed: string[] = [];
  if (source === null || source === undefined) return new ParamMap(values, duplicated, malformed);
  if (typeof source !== 'object') throw invalidRequest('The request parameters could not be read.');
  const entries = Object.entries(source as Record<string, unknown>);
  if (entries.length > MAX_PARAMS) throw invalidRequest(`Too many parameters (at most ${MAX_PARAMS}).`);
  for (const [name, raw] of entries) {
    if (Array.isArray(raw)) {
      duplicated.push(name);
      const first = raw[0];
      if (typeof first === 'string' && first.length <= MAX_PARAM_LENGTH) values.set(name, first);
      continue;
    }
    if (typeof raw !== 'string' || raw.length > MAX_PARAM_LENGTH || raw.includes('\u0000')) {
      malformed.push(name);
      continue;
    }
    values.set(name, raw);
  }
  return new ParamMap(values, duplicated, malformed);
}

/** Throws invalid_request if any parameter was repeated or malformed. */
export function assertWellFormed(params: Params, only?: readonly string[]): void {
  const dup = only ? params.duplicated.filter((n) => only.includes(n)) : params.duplicated;
  if (dup.length > 0)
    throw invalidRequest(`Parameter included more than once: ${dup.slice(0, 3).join(', ')}.`);
  const bad = only ? params.malformed.filter((n) => only.includes(n)) : params.malformed;
  if (bad.length > 0) throw invalidRequest(`Parameter too long or malformed: ${bad.slice(0, 3).join(', ')}.`);
}

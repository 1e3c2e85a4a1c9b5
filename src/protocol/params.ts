/**
 * Request parameters as a flat map of strings. RFC 6749 §3.1 / §3.2: "Request and response
 * parameters MUST NOT be included more than once"; oversized values are refused, not truncated.
 */
import { invalidRequest } from './errors.js';

export const MAX_PARAM_LENGTH = 4096;
export const MAX_PARAMS = 64;

/**
 * Parameters that may be repeated: RFC 8707 §2 — "the resource parameter … can be used multiple
 * times to indicate that the requested token is intended to be used at multiple resources".
 */
export const MULTI_VALUED: ReadonlySet<string> = new Set(['resource']);
/** At most this many values of one repeatable parameter. */
export const MAX_REPEATS = 16;

/** Parameters as a record: one string each, a list for a repeatable one given more than once. */
export type ParamRecord = Record<string, string | string[]>;

export interface Params {
  get(name: string): string | undefined;
  /** Names that appeared more than once. */
  readonly duplicated: readonly string[];
  /** Names whose value was too long or not text. */
  readonly malformed: readonly string[];
  has(name: string): boolean;
  /** Every value of a repeatable parameter (MULTI_VALUED), in order; [] when absent. */
  all(name: string): readonly string[];
  /** The readable parameters, name → value (repeated ones: their first value). */
  toRecord(): Record<string, string>;
  /** As toRecord, with every value of a repeatable parameter (for keeping a request whole). */
  toFullRecord(): ParamRecord;
}

class ParamMap implements Params {
  constructor(
    private readonly values: Map<string, string>,
    readonly duplicated: readonly string[],
    readonly malformed: readonly string[],
    private readonly repeated: ReadonlyMap<string, readonly string[]> = new Map(),
  ) {}
  all(name: string): readonly string[] {
    const many = this.repeated.get(name);
    if (many) return many;
    const one = this.values.get(name);
    return one === undefined ? [] : [one];
  }
  toFullRecord(): ParamRecord {
    const out: ParamRecord = Object.fromEntries(this.values);
    for (const [name, list] of this.repeated) out[name] = [...list];
    return out;
  }
  get(name: string): string | undefined {
    return this.values.get(name);
  }
  has(name: string): boolean {
    return this.values.has(name);
  }
  toRecord(): Record<string, string> {
    return Object.fromEntries(this.values);
  }
}

/**
 * Names in a raw `a=b&c=d` string whose name or value is not valid percent-encoded UTF-8
 * (`%zz`, a lone `%`, `%E0%A4%A`). Fastify's parser passes such values through undecoded,
 * so without this a state of `%zz` would come back to the client as `%25zz`.
 */
export function badlyEncodedNames(raw: string): string[] {
  const out: string[] = [];
  if (!raw.includes('%')) return out;
  for (const pair of raw.split('&')) {
    if (!pair.includes('%')) continue;
    const eq = pair.indexOf('=');
    const rawName = eq < 0 ? pair : pair.slice(0, eq);
    const rawValue = eq < 0 ? '' : pair.slice(eq + 1);
    let name: string;
    try {
      name = decodeURIComponent(rawName.replace(/\+/g, ' '));
    } catch {
      out.push(rawName);
      continue;
    }
    try {
      decodeURIComponent(rawValue.replace(/\+/g, ' '));
    } catch {
      out.push(name);
    }
  }
  return out;
}

/**
 * Accepts what Fastify's query or form parser produced (strings, arrays for repeats).
 * Pass the raw query string as `raw` to have badly percent-encoded parameters marked malformed.
 */
export function readParams(source: unknown, raw?: string): Params {
  const values = new Map<string, string>();
  const repeated = new Map<string, string[]>();
  const duplicated: string[] = [];
  const malformed: string[] = raw === undefined ? [] : badlyEncodedNames(raw);
  if (source === null || source === undefined) return new ParamMap(values, duplicated, malformed);
  if (typeof source !== 'object') throw invalidRequest('The request parameters could not be read.');
  const entries = Object.entries(source as Record<string, unknown>);
  if (entries.length > MAX_PARAMS) throw invalidRequest(`Too many parameters (at most ${MAX_PARAMS}).`);
  for (const [name, value] of entries) {
    if (Array.isArray(value) && MULTI_VALUED.has(name) && !malformed.includes(name)) {
      // A repeatable parameter: every value must be readable, and there is a bound.
      if (
        value.length > MAX_REPEATS ||
        value.some((v) => typeof v !== 'string' || v.length > MAX_PARAM_LENGTH || v.includes('\u0000'))
      ) {
        malformed.push(name);
        continue;
      }
      const list = value as string[];
      if (list.length === 1) values.set(name, list[0]!);
      else if (list.length > 1) {
        values.set(name, list[0]!);
        repeated.set(name, list);
      }
      continue;
    }
    if (Array.isArray(value)) {
      duplicated.push(name);
      const first = value[0];
      if (typeof first === 'string' && first.length <= MAX_PARAM_LENGTH) values.set(name, first);
      continue;
    }
    if (malformed.includes(name)) continue;
    if (typeof value !== 'string' || value.length > MAX_PARAM_LENGTH || value.includes('\u0000')) {
      malformed.push(name);
      continue;
    }
    values.set(name, value);
  }
  return new ParamMap(values, duplicated, malformed, repeated);
}

/** Throws invalid_request if any parameter was repeated or malformed. */
export function assertWellFormed(params: Params, only?: readonly string[]): void {
  const dup = only ? params.duplicated.filter((n) => only.includes(n)) : params.duplicated;
  if (dup.length > 0) throw invalidRequest(`Parameter included more than once: ${names(dup)}.`);
  const bad = only ? params.malformed.filter((n) => only.includes(n)) : params.malformed;
  if (bad.length > 0) throw invalidRequest(`Parameter too long or malformed: ${names(bad)}.`);
}

/** Parameter names as they may appear in an error description: a few, short. */
const names = (list: readonly string[]): string =>
  list
    .slice(0, 3)
    .map((n) => (n.length > 40 ? `${n.slice(0, 40)}…` : n))
    .join(', ');

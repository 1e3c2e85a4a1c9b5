/**
 * Property-based fuzzing of the HTTP endpoints (fast-check), over real HTTP.
 *
 * A request is a list of fields, each a name and a value written with an encoding (plain,
 * spaces as `+`, every byte escaped, or unescaped bytes in a body), sometimes with a broken
 * escape (`%zz`, a lone `%`, invalid UTF-8) spliced in. Values may name a secret of the test
 * world (`{ ref: 'code' }`, edited or not) that is filled in when the request is sent, so a
 * generator can hold real codes, verifiers and refresh tokens it does not know yet. What was sent
 * is decoded again strictly (decodeURIComponent; a value that does not decode is `undefined`), and
 * the rules of each endpoint judge the answer against that.
 *
 * An endpoint is a row of a small table (`Endpoint`): method, path, where its fields go, and the
 * check every answer must pass. A form endpoint with client authentication and JSON errors, such
 * as /token, needs only `oauthJsonAnswer` with its error list and success rule.
 *
 * Runs and seed: each property runs its own modest number of times with a fixed seed (the normal
 * suite). LATCHKEY_FUZZ_RUNS overrides the number for every property, LATCHKEY_FUZZ_SEED the seed
 * (`random` for a fresh one); LATCHKEY_FUZZ_PATH replays one counterexample (fast-check's path).
 * Each property prints what its answers were (`303 sign-in ×52, redirect code ×23, …`), by error
 * description too with LATCHKEY_FUZZ_DETAIL=1: a check no run reaches shows up missing there.
 * `npm run fuzz` is the long run. The seed is printed, and a failure says how to replay it.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import fc from 'fast-check';
import { Agent, request } from 'undici';

// ---------------------------------------------------------------------------------------------
// Runs and seed

const DEFAULT_SEED = 20260607;

function seedFromEnv(): number {
  const raw = process.env.LATCHKEY_FUZZ_SEED;
  if (raw === undefined || raw === '') return DEFAULT_SEED;
  if (raw === 'random') return Math.floor(Math.random() * 2 ** 31);
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new Error(`LATCHKEY_FUZZ_SEED must be an integer or "random": ${raw}`);
  return n;
}

function runsFromEnv(): number | undefined {
  const raw = process.env.LATCHKEY_FUZZ_RUNS;
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new Error(`LATCHKEY_FUZZ_RUNS must be a positive integer: ${raw}`);
  return n;
}

export const FUZZ = {
  seed: seedFromEnv(),
  runs: runsFromEnv(),
  path: process.env.LATCHKEY_FUZZ_PATH || undefined,
};

/** LATCHKEY_FUZZ_DETAIL=1: the tally tells answers apart by their description too. */
const DETAIL = process.env.LATCHKEY_FUZZ_DETAIL === '1';
const detail = (description: unknown): string =>
  DETAIL && typeof description === 'string' ? ` (${description.slice(0, 60)})` : '';

/** How often each kind of answer came back during the current property (see noteOutcome). */
const outcomes = new Map<string, number>();

/** Counts an answer's kind (`303 code`, `400 invalid_grant`, …); checkProperty prints the tally. */
export function noteOutcome(label: string): void {
  outcomes.set(label, (outcomes.get(label) ?? 0) + 1);
}

/**
 * Runs `property` with the suite's seed: `defaultRuns` times, or LATCHKEY_FUZZ_RUNS. A failure
 * names the environment that replays exactly the shrunk counterexample.
 */
export async function checkProperty<T>(
  t: TestContext,
  arbitrary: fc.Arbitrary<T>,
  predicate: (value: T) => Promise<void>,
  defaultRuns: number,
): Promise<void> {
  const numRuns = FUZZ.runs ?? defaultRuns;
  t.diagnostic(`fuzz: seed ${FUZZ.seed}, ${numRuns} runs`);
  outcomes.clear();
  const details = await fc.check(fc.asyncProperty(arbitrary, predicate), {
    seed: FUZZ.seed,
    numRuns,
    ...(FUZZ.path ? { path: FUZZ.path } : {}),
  });
  // What the runs reached (shrinking included, on a failure): a check deep in the endpoint that
  // never answers is a generator that does not get there.
  const tally = [...outcomes].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ×${n}`);
  t.diagnostic(`answers: ${tally.join(', ')}`);
  if (!details.failed) return;
  const replay = `LATCHKEY_FUZZ_SEED=${details.seed} LATCHKEY_FUZZ_RUNS=${numRuns} LATCHKEY_FUZZ_PATH=${details.counterexamplePath} node test/run.mjs fuzz`;
  const cause = details.errorInstance;
  const message = cause instanceof Error ? cause.message : String(cause);
  throw new Error(
    `property failed after ${details.numRuns} runs (seed ${details.seed})\nreplay: ${replay}\n` +
      `counterexample: ${fc.stringify(details.counterexample)}\n${message}`,
    { cause },
  );
}

// ---------------------------------------------------------------------------------------------
// Fields, encodings and broken escapes

/** A value known only when the request is sent (a fresh code, a secret), maybe edited. */
export interface Ref {
  ref: string;
  edit: Edit;
}
export type Text = string | Ref;

/** How a real value is damaged: every edit but `none` changes it. */
export type Edit =
  | { kind: 'none' }
  | { kind: 'flip'; at: number }
  | { kind: 'cut'; at: number }
  | { kind: 'append'; text: string }
  | { kind: 'prepend'; text: string }
  | { kind: 'case' }
  | { kind: 'twice' };

/**
 * plain: RFC 3986 query characters as they are, the rest %XX. plus: spaces as `+`. every: each
 * byte %xx in lower case. raw (bodies only; plain in a query): UTF-8 unescaped but for & = + %.
 */
export type Encoding = 'plain' | 'plus' | 'every' | 'raw';

/** A broken escape spliced into the encoded name or value, at a fraction of its length. */
export interface Breakage {
  part: 'name' | 'value';
  escape: string;
  at: number;
}

export interface Field {
  name: string;
  /** null: the name alone, no `=`. */
  value: Text | null;
  encoding: Encoding;
  broken?: Breakage;
}

export const field = (name: string, value: Text | null, encoding: Encoding = 'plain'): Field => ({
  name,
  value,
  encoding,
});

/** A value as the test world knows it: refs resolve here. */
export type Values = Readonly<Record<string, string>>;

export function resolve(text: Text, values: Values): string {
  if (typeof text === 'string') return text;
  const real = values[text.ref];
  assert.ok(real !== undefined, `no value for ref ${text.ref}`);
  return applyEdit(real, text.edit);
}

function applyEdit(s: string, e: Edit): string {
  const i = (at: number) => Math.min(s.length - 1, Math.floor(at * s.length));
  switch (e.kind) {
    case 'none':
      return s;
    case 'flip': {
      if (s.length === 0) return 'x';
      const k = i(e.at);
      const c = s[k]!;
      return s.slice(0, k) + (c === 'A' ? 'B' : 'A') + s.slice(k + 1);
    }
    case 'cut':
      return s.slice(0, i(e.at));
    case 'append':
      return s + (e.text || '=');
    case 'prepend':
      return (e.text || ' ') + s;
    case 'case': {
      const flipped = s.replace(/[a-zA-Z]/g, (c) =>
        c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase(),
      );
      return flipped === s ? `${s}x` : flipped;
    }
    case 'twice':
      return s + s;
  }
}

/** What strict decoding gives: `+` is a space, a bad escape or bad UTF-8 gives undefined. */
export function strictDecode(encoded: string): string | undefined {
  try {
    return decodeURIComponent(encoded.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

const PLAIN = /^[A-Za-z0-9\-._~!$'()*,;:@/?]$/;
const hex = (b: number) => b.toString(16).padStart(2, '0');

export function encode(text: string, encoding: Encoding, carrier: 'query' | 'body'): string {
  const enc = encoding === 'raw' && carrier === 'query' ? 'plain' : encoding;
  if (enc === 'raw') {
    // Lone surrogates become U+FFFD here, as they will on the wire.
    const wellFormed = Buffer.from(text, 'utf8').toString('utf8');
    return wellFormed.replace(/[&=+%]/g, (c) => `%${hex(c.charCodeAt(0)).toUpperCase()}`);
  }
  let out = '';
  for (const b of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(b);
    if (enc === 'every') out += `%${hex(b)}`;
    else if (b === 0x20 && enc === 'plus') out += '+';
    else if (b < 0x80 && PLAIN.test(c)) out += c;
    else out += `%${hex(b).toUpperCase()}`;
  }
  return out;
}

/** Splices the broken escape `bad` between two encoded characters (never inside a %XX). */
function splice(encoded: string, bad: string, at: number): string {
  const tokens = encoded.match(/%[0-9A-Fa-f]{2}|[\s\S]/g) ?? [];
  const k = Math.min(tokens.length, Math.floor(at * (tokens.length + 1)));
  return [...tokens.slice(0, k), bad, ...tokens.slice(k)].join('');
}

/** A field as written on the wire, and what strict decoding reads back. */
export interface SentField {
  raw: string;
  name: string | undefined;
  value: string | undefined;
}

export function writeField(f: Field, values: Values, carrier: 'query' | 'body'): SentField {
  let name = encode(f.name, f.encoding, carrier);
  let value = f.value === null ? null : encode(resolve(f.value, values), f.encoding, carrier);
  if (f.broken?.part === 'name') name = splice(name, f.broken.escape, f.broken.at);
  if (f.broken?.part === 'value' && value !== null) value = splice(value, f.broken.escape, f.broken.at);
  return {
    raw: value === null ? name : `${name}=${value}`,
    name: strictDecode(name),
    value: value === null ? '' : strictDecode(value),
  };
}

/** The parameters as sent: every field strictly decoded, in order. */
export class SentParams {
  constructor(readonly fields: readonly SentField[]) {}
  /** How many fields have this (decoded) name. */
  count(name: string): number {
    return this.fields.filter((f) => f.name === name).length;
  }
  /** The value of the one field of this name; undefined when absent, repeated or undecodable. */
  only(name: string): string | undefined {
    const all = this.fields.filter((f) => f.name === name);
    return all.length === 1 ? all[0]!.value : undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Requests

/** How a POST body is sent, besides the usual form. */
export type Body =
  | { kind: 'form' }
  /** The fields as a JSON object (repeats as arrays), whatever the content type says. */
  | { kind: 'json' }
  /** The form, then `&` and bytes that are not UTF-8 (no & or = among them). */
  | { kind: 'junk'; bytes: Uint8Array }
  /** The form, then one field of this many bytes (over the body limit). */
  | { kind: 'huge'; size: number };

/** client_secret_basic (RFC 6749 §2.3.1): id and secret form-encoded (or not), then base64. */
export interface BasicAuth {
  basic: { id: Text; secret: Text; urlencode: boolean };
}

/** A header: text, pieces with refs (a real cookie among others), or Basic credentials. */
export type HeaderValue = string | readonly Text[] | BasicAuth;

export interface FuzzRequest {
  fields: Field[];
  /** Joins fields with `&&`, or adds a leading or trailing `&`. */
  separators?: 'single' | 'double' | 'leading' | 'trailing';
  headers: Record<string, HeaderValue>;
  body?: Body;
}

export interface Endpoint {
  method: 'GET' | 'POST';
  path: string;
  /** Where the fields go. */
  carries: 'query' | 'body';
  /** The rules every answer keeps (assertions). */
  check(answer: Answer, sent: Sent): void | Promise<void>;
}

/** A request as it went out. */
export interface Sent {
  endpoint: Endpoint;
  /** The path and query, as written. */
  target: string;
  headers: Record<string, string>;
  /** The Basic credentials sent, resolved (before encoding). */
  basic?: { id: string; secret: string };
  /** The fields as read back; none when the body was not a form (or not the form's fields). */
  params: SentParams;
  /** The start of the body (POST), as text. */
  body?: string;
  values: Values;
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export const header = (a: Answer, name: string): string | undefined => {
  const v = a.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
};

/** application/x-www-form-urlencoded, as a server reading only forms must recognise it. */
export const isFormType = (type: string | undefined): boolean =>
  (type ?? '').split(';')[0]!.trim().toLowerCase() === 'application/x-www-form-urlencoded';

/** Answers may carry long Locations (a 2 KB state, percent-encoded three times over). */
const agent = new Agent({ pipelining: 0, maxHeaderSize: 1024 * 1024 });

export function closeFuzzAgent(): Promise<void> {
  return agent.close();
}

function joinFields(parts: string[], separators: FuzzRequest['separators']): string {
  switch (separators ?? 'single') {
    case 'single':
      return parts.join('&');
    case 'double':
      return parts.join('&&');
    case 'leading':
      return `&${parts.join('&')}`;
    case 'trailing':
      return `${parts.join('&')}&`;
  }
}

/** The headers of a request, refs resolved; the Basic credentials as they were before encoding. */
function writeHeaders(
  given: FuzzRequest['headers'],
  values: Values,
): { headers: Record<string, string>; basic?: { id: string; secret: string } } {
  const headers: Record<string, string> = {};
  let basic: { id: string; secret: string } | undefined;
  for (const [name, value] of Object.entries(given)) {
    if (typeof value === 'string') headers[name] = value;
    else if ('basic' in value) {
      const id = resolve(value.basic.id, values);
      const secret = resolve(value.basic.secret, values);
      basic = { id, secret };
      const pair = value.basic.urlencode
        ? `${encode(id, 'plain', 'query')}:${encode(secret, 'plain', 'query')}`
        : `${id}:${secret}`;
      headers[name] = `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`;
    } else headers[name] = value.map((t) => resolve(t, values)).join('');
  }
  return basic ? { headers, basic } : { headers };
}

/** Sends `req` to `endpoint` at `base`, with `values` for its refs. */
export async function send(
  base: string,
  endpoint: Endpoint,
  req: FuzzRequest,
  values: Values,
): Promise<{ answer: Answer; sent: Sent }> {
  const fields = req.fields.map((f) => writeField(f, values, endpoint.carries));
  const encoded = joinFields(
    fields.map((f) => f.raw),
    req.separators,
  );
  const { headers, basic } = writeHeaders(req.headers, values);
  let target = endpoint.path;
  let body: string | Buffer | undefined;
  let params = new SentParams(fields);
  if (endpoint.carries === 'query') {
    if (encoded) target += `?${encoded}`;
  } else {
    const form = isFormType(headers['content-type']);
    const kind = req.body ?? { kind: 'form' };
    if (kind.kind === 'json') {
      const obj: Record<string, string | string[]> = {};
      for (const f of fields) {
        const k = f.name ?? '';
        const v = f.value ?? '';
        const prev = obj[k];
        obj[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
      }
      body = JSON.stringify(obj);
      // A JSON text under a form content type is one odd field, not these parameters.
      if (form) params = new SentParams([]);
    } else if (kind.kind === 'junk') {
      body = Buffer.concat([Buffer.from(`${encoded}&`), Buffer.from(kind.bytes)]);
    } else if (kind.kind === 'huge') {
      body = `${encoded}&x=${'x'.repeat(kind.size)}`;
      params = new SentParams([...fields, { raw: '', name: 'x', value: 'x'.repeat(kind.size) }]);
    } else {
      body = encoded;
    }
    if (!form) params = new SentParams([]);
  }
  const res = await request(base + target, {
    method: endpoint.method,
    dispatcher: agent,
    headers,
    ...(body !== undefined ? { body } : {}),
  });
  const answer = { status: res.statusCode, headers: res.headers, body: await res.body.text() };
  const sent: Sent = { endpoint, target, headers, ...(basic ? { basic } : {}), params, values };
  if (body !== undefined)
    sent.body = (typeof body === 'string' ? body : body.toString('latin1')).slice(0, 600);
  return { answer, sent };
}

/**
 * About how many bytes the request line and headers of `req` take (refs counted as 64
 * characters). Node answers 431 itself past 16 KB, before the application sees the request;
 * generators stay under that.
 */
export function headerBytes(req: FuzzRequest, carrier: 'query' | 'body'): number {
  const stand = new Proxy({}, { get: () => 'x'.repeat(64) }) as Values;
  const query =
    carrier === 'query'
      ? req.fields.reduce((n, f) => n + writeField(f, stand, 'query').raw.length + 2, 0)
      : 0;
  const { headers } = writeHeaders(req.headers, stand);
  return Object.entries(headers).reduce((n, [k, v]) => n + k.length + Buffer.byteLength(v) + 4, query);
}

/** What generators keep requests under (see headerBytes). */
export const HEADER_BUDGET = 14_000;

// ---------------------------------------------------------------------------------------------
// Rules every answer keeps

/** Frames, internal error names, file positions, framework codes: what a body never shows. */
export const INTERNALS =
  /\n\s+at \S|\bat \S+ \(|(?:Type|Range|Syntax|Reference|Eval|URI|Assertion|Sqlite|Database)?Error: |node_modules|\.(?:ts|js|mjs|cjs|tsx):\d+|FST_ERR|ERR_[A-Z_]{3,}|SQLITE_|"statusCode"|"stack"/;

const ROOT = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');

/** Markup among the generated values: an HTML answer that echoes it must escape it. */
export const MARKUP = '<script>alert(1)</script>';

/** No 5xx, no stack trace, no internals, no file paths of this checkout, no echoed markup. */
export function assertNoInternals(a: Answer, where: string): void {
  assert.ok(a.status < 500, `a ${a.status}: ${where}`);
  assert.doesNotMatch(a.body, INTERNALS, `internals in the body: ${where}`);
  assert.ok(!a.body.includes(ROOT), `a file path in the body: ${where}`);
  if ((header(a, 'content-type') ?? '').startsWith('text/html'))
    assert.ok(!a.body.includes(MARKUP), `markup echoed unescaped: ${where}`);
}

/** An error page: 4xx, HTML with a heading, no Location. */
export function assertErrorPage(a: Answer, where: string): void {
  assert.ok(a.status >= 400 && a.status < 500, `an error page is 4xx: ${where}`);
  assert.equal(header(a, 'location'), undefined, `no redirect from an error page: ${where}`);
  assert.match(header(a, 'content-type') ?? '', /^text\/html/, `an error page is HTML: ${where}`);
  assert.match(a.body, /<h1>/, `an error page has a heading: ${where}`);
}

/** A short description of a request and its answer, for assertion messages. */
export function describeExchange(a: Answer, sent: Sent): string {
  const loc = header(a, 'location');
  return [
    `${sent.endpoint.method} ${sent.target.slice(0, 600)}`,
    ...(sent.body !== undefined ? [`body ${JSON.stringify(sent.body)}`] : []),
    `headers ${JSON.stringify(sent.headers).slice(0, 300)}`,
    `→ ${a.status} ${header(a, 'content-type') ?? ''}${loc ? ` Location ${loc.slice(0, 300)}` : ''}`,
    a.body.slice(0, 400),
  ].join('\n');
}

/**
 * The JSON answers of an OAuth endpoint (RFC 6749 §5.2): an error from `errors`, with only
 * error, error_description and error_uri; 401 only for invalid_client (with WWW-Authenticate);
 * Cache-Control: no-store. Anything else must be a success `success` accepts.
 */
export function oauthJsonAnswer(rules: {
  errors: readonly string[];
  successStatus?: number;
  success(json: Record<string, unknown>, sent: Sent, where: string, answer: Answer): void | Promise<void>;
}): Endpoint['check'] {
  return async (a, sent) => {
    const where = describeExchange(a, sent);
    assertNoInternals(a, where);
    assert.match(header(a, 'content-type') ?? '', /^application\/json/, `JSON: ${where}`);
    assert.equal(header(a, 'cache-control'), 'no-store', `no-store: ${where}`);
    assert.equal(header(a, 'location'), undefined, `no redirect: ${where}`);
    const json = JSON.parse(a.body) as Record<string, unknown>;
    assert.equal(typeof json, 'object', where);
    noteOutcome(`${a.status} ${String(json['error'] ?? 'success')}${detail(json['error_description'])}`);
    if (a.status === (rules.successStatus ?? 200)) {
      assert.equal(json['error'], undefined, `no error in a success: ${where}`);
      await rules.success(json, sent, where, a);
      return;
    }
    assert.ok(a.status === 400 || a.status === 401 || a.status === 413, `status ${a.status}: ${where}`);
    assert.ok(rules.errors.includes(String(json['error'])), `error ${String(json['error'])}: ${where}`);
    for (const k of Object.keys(json))
      assert.ok(['error', 'error_description', 'error_uri'].includes(k), `member ${k}: ${where}`);
    if (json['error_description'] !== undefined) {
      assert.equal(typeof json['error_description'], 'string', where);
      assert.doesNotMatch(json['error_description'] as string, INTERNALS, `internals: ${where}`);
    }
    if (a.status === 401) {
      assert.equal(json['error'], 'invalid_client', `401 is invalid_client: ${where}`);
      assert.ok(header(a, 'www-authenticate'), `WWW-Authenticate on a 401: ${where}`);
    }
    if (a.status === 413) assert.equal(json['error'], 'invalid_request', where);
  };
}

// ---------------------------------------------------------------------------------------------
// Authorization responses

/** RFC 6749 §4.1.2.1 and OIDC Core §3.1.2.6 (server_error and temporarily_unavailable left out: the storage is up). */
export const AUTHORIZATION_ERRORS = [
  'invalid_request',
  'unauthorized_client',
  'access_denied',
  'unsupported_response_type',
  'invalid_scope',
  'interaction_required',
  'login_required',
  'account_selection_required',
  'consent_required',
  'invalid_request_uri',
  'invalid_request_object',
  'request_not_supported',
  'request_uri_not_supported',
  'registration_not_supported',
  // RFC 8707 §2: a bad or unknown `resource`.
  'invalid_target',
] as const;

/** What an /authorize-like endpoint answered, read from the answer alone. */
export type AuthorizationOutcome =
  | { kind: 'page' }
  /** A 303 to this server's own sign-in or consent page. */
  | { kind: 'interaction'; location: string }
  /** A redirect (or form_post) to `uri`: the location before the parameters added to it. */
  | { kind: 'response'; uri: string; via: 'redirect' | 'form_post'; params: URLSearchParams };

const unescapeHtml = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#x27;|&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/**
 * Reads an answer: an error page, the redirect to the sign-in page, or an authorization response
 * (a redirect, or a form_post page). `uriOf` says which redirect URI a Location or form action
 * is for, if any the request may be answered at; one it does not know fails here.
 */
export function readAuthorization(
  a: Answer,
  where: string,
  uriOf: (location: string) => string | undefined,
): AuthorizationOutcome {
  const location = header(a, 'location');
  if (location !== undefined) {
    assert.ok(a.status === 303 || a.status === 302, `a redirect is 303 or 302: ${where}`);
    if (/^\/interaction\/[A-Za-z0-9_-]+$/.test(location)) {
      noteOutcome(`${a.status} sign-in`);
      return { kind: 'interaction', location };
    }
    const uri = uriOf(location);
    assert.ok(uri !== undefined, `a redirect to a URI the client did not register: ${where}`);
    const rest = location.slice(uri.length);
    const sep = uri.includes('?') ? '&' : '?';
    assert.ok(rest.startsWith(sep), `parameters follow the redirect URI: ${where}`);
    return {
      kind: 'response',
      uri,
      via: 'redirect',
      params: new URLSearchParams(rest.slice(1)),
    };
  }
  const type = header(a, 'content-type') ?? '';
  if (a.status === 200 && type.startsWith('text/html') && /<form method="post"/.test(a.body)) {
    const action = /<form method="post" action="([^"]*)"/.exec(a.body);
    assert.ok(action, `a form_post page names its action: ${where}`);
    const uri = unescapeHtml(action[1]!);
    assert.equal(uriOf(uri), uri, `form_post to a URI the client did not register: ${where}`);
    const params = new URLSearchParams();
    // An empty value is written as a bare `value` attribute.
    for (const m of a.body.matchAll(/<input type="hidden" name="([^"]*)" value(?:="([^"]*)")?\/?>/g))
      params.append(unescapeHtml(m[1]!), unescapeHtml(m[2] ?? ''));
    return { kind: 'response', uri, via: 'form_post', params };
  }
  assertErrorPage(a, where);
  noteOutcome(`${a.status} page${detail(/class="lead">([^<]*)/.exec(a.body)?.[1])}`);
  return { kind: 'page' };
}

/**
 * The parameters of an authorization response (RFC 6749 §4.1.2, §4.1.2.1; RFC 9207): either a
 * code or an error from AUTHORIZATION_ERRORS, `iss`, maybe state, nothing else.
 */
export function assertAuthorizationParams(
  params: URLSearchParams,
  issuer: string,
  where: string,
  via = 'redirect',
): void {
  noteOutcome(
    `${via} ${params.get('error') ?? (params.has('code') ? 'code' : 'nothing')}${detail(params.get('error_description'))}`,
  );
  for (const k of params.keys())
    assert.ok(
      ['code', 'state', 'iss', 'error', 'error_description', 'error_uri'].includes(k),
      `${k}: ${where}`,
    );
  for (const k of new Set(params.keys())) assert.equal(params.getAll(k).length, 1, `${k} once: ${where}`);
  assert.equal(params.get('iss'), issuer, `iss: ${where}`);
  const code = params.get('code');
  const error = params.get('error');
  assert.ok((code === null) !== (error === null), `either a code or an error: ${where}`);
  if (error !== null)
    assert.ok((AUTHORIZATION_ERRORS as readonly string[]).includes(error), `error ${error}: ${where}`);
  const description = params.get('error_description');
  if (description !== null) assert.doesNotMatch(description, INTERNALS, `internals: ${where}`);
}

/**
 * RFC 9700 §4.1.3 / RFC 8252 §7.3, written independently of the server: a URI the request may be
 * answered at, for a client that registered `registered`: the same string, or for a loopback IP
 * (127.0.0.1, [::1]) the same but for the port.
 */
export function sameRedirectUri(uri: string, registered: string): boolean {
  if (uri === registered) return true;
  const loopback = /^http:\/\/(127\.0\.0\.1|\[::1\])(?::(\d{1,5}))?(\/[^#]*)?$/;
  const a = loopback.exec(uri);
  const b = loopback.exec(registered);
  if (!a || !b) return false;
  if (a[2] !== undefined && Number(a[2]) > 65535) return false;
  return a[1] === b[1] && (a[3] ?? '') === (b[3] ?? '');
}

// ---------------------------------------------------------------------------------------------
// Generators shared by the endpoints

const noInternals = (s: string) => !INTERNALS.test(s) && !s.includes(ROOT);

/** Text of every kind: ASCII, Unicode, lone surrogates, NUL and controls, lengths near the caps. */
export const garbageText: fc.Arbitrary<string> = fc
  .oneof(
    { weight: 4, arbitrary: fc.string({ maxLength: 24 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 16 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 16 }) },
    {
      weight: 1,
      arbitrary: fc.string({
        unit: fc.oneof(
          fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
          fc.constantFrom('\u0000', '\u0001', '\r', '\n', '\t', '\u007f', '\u2028', '\ufeff', '\ufffd'),
        ),
        minLength: 1,
        maxLength: 6,
      }),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '',
        ' ',
        '%',
        '%zz',
        '%25',
        '+',
        '&',
        '=',
        'null',
        'undefined',
        'true',
        '0',
        '-1',
        '1e309',
        'NaN',
        '[]',
        '{}',
        '{"a":1}',
        '__proto__',
        'constructor',
        MARKUP,
        "' OR 1=1 --",
        '../../etc/passwd',
        'a\u0000b',
        'é',
        '\u{1F600}',
      ),
    },
    {
      weight: 1,
      // Around the caps: 512 (codes, tokens, nonce), 2048 (state), 4096 (any parameter).
      arbitrary: fc
        .tuple(
          fc.constantFrom(511, 512, 513, 2048, 2049, 4096, 4097, 6000),
          fc.constantFrom('a', 'é', '%', '\u0000'),
        )
        .map(([n, c]) => c.repeat(n)),
    },
  )
  .filter(noInternals);

/** Printable ASCII (header values: no controls). */
export const headerText: fc.Arbitrary<string> = fc
  .string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 })
  .filter(noInternals);

export const encodingArb: fc.Arbitrary<Encoding> = fc.constantFrom<Encoding>(
  'plain',
  'plain',
  'plain',
  'plus',
  'every',
  'raw',
);

export const breakageArb: fc.Arbitrary<Breakage> = fc.record({
  part: fc.constantFrom<'name' | 'value'>('name', 'value', 'value'),
  escape: fc.constantFrom(
    '%',
    '%z',
    '%zz',
    '%G1',
    '%E0%A4%A',
    '%C0%AF',
    '%FF',
    '%ED%A0%80',
    '%F4%90%80%80',
    '%%',
  ),
  at: fc.double({ min: 0, max: 1, noNaN: true }),
});

/** Edits of a real value (mostly none); `appended` is what an `append` adds. */
export const editsOf = (appended: fc.Arbitrary<string>): fc.Arbitrary<Edit> =>
  fc.oneof(
    { weight: 10, arbitrary: fc.constant<Edit>({ kind: 'none' }) },
    {
      weight: 1,
      arbitrary: fc.double({ min: 0, max: 1, noNaN: true }).map<Edit>((at) => ({ kind: 'flip', at })),
    },
    {
      weight: 1,
      arbitrary: fc.double({ min: 0, max: 1, noNaN: true }).map<Edit>((at) => ({ kind: 'cut', at })),
    },
    { weight: 1, arbitrary: appended.map<Edit>((text) => ({ kind: 'append', text })) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('', ' ', '+', '%20').map<Edit>((text) => ({ kind: 'prepend', text })),
    },
    { weight: 1, arbitrary: fc.constant<Edit>({ kind: 'case' }) },
    { weight: 1, arbitrary: fc.constant<Edit>({ kind: 'twice' }) },
  );

/** A ref to a real value, usually intact (`header`: edits that stay printable ASCII). */
export const refArb = (ref: string, opts: { header?: boolean } = {}): fc.Arbitrary<Ref> =>
  editsOf(opts.header ? headerText : garbageText).map((edit) => ({ ref, edit }));

/** Parameter names that are not any endpoint's own. */
export const oddName: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    'scope[]',
    'a[b]',
    '__proto__',
    'constructor',
    'hasOwnProperty',
    'toString',
    'client_id ',
    ' client_id',
    'Client_Id',
    'CLIENT_ID',
    'client_id[]',
    'client_id\u0000',
    'resource',
    'audience',
    'claims',
    'acr_values',
    'dpop_jkt',
    'authorization_details',
  ),
  garbageText,
);

/**
 * What a vocabulary offers for each parameter: `like`, values a client might send (the valid
 * ones and plausible mistakes); `odd`, anything (garbageText when left out); `weight`, how often
 * mutations pick the parameter (default 4).
 */
export type Vocabulary = Record<
  string,
  { like: fc.Arbitrary<Text>; odd?: fc.Arbitrary<Text>; weight?: number }
>;

/** One change to a request that otherwise looks right. */
export type Mutation =
  | { kind: 'set'; name: string; value: Text }
  | { kind: 'drop'; name: string }
  | { kind: 'repeat'; name: string; value: Text | 'same' }
  | { kind: 'extra'; name: string; value: Text | null }
  | { kind: 'rename'; name: string; to: string }
  | { kind: 'encoding'; name: string; encoding: Encoding }
  | { kind: 'break'; name: string; broken: Breakage }
  | { kind: 'bare'; name: string }
  | { kind: 'move'; name: string }
  /** `count` more fields: p0=1, p1=1, … or, with `same`, the named parameter again and again. */
  | { kind: 'many'; name: string; count: number; same: boolean };

/**
 * Mutations over the parameters of `vocabulary`. Gentle ones (a `like` value, a dropped or moved
 * parameter, another encoding) keep a request well-formed, so it gets past the parameter checks
 * to the ones behind them; rough ones repeat, rename, break escapes, add odd parameters.
 */
export function mutationArb(vocabulary: Vocabulary, rough: boolean): fc.Arbitrary<Mutation> {
  const name = fc.oneof(
    ...Object.entries(vocabulary).map(([n, v]) => ({ weight: v.weight ?? 4, arbitrary: fc.constant(n) })),
  );
  const valuesFor = (n: string) =>
    rough ? fc.oneof(vocabulary[n]!.like, vocabulary[n]!.odd ?? garbageText) : vocabulary[n]!.like;
  const gentle: fc.WeightedArbitrary<Mutation>[] = [
    {
      weight: 8,
      arbitrary: name.chain((n) => valuesFor(n).map<Mutation>((value) => ({ kind: 'set', name: n, value }))),
    },
    { weight: 2, arbitrary: name.map<Mutation>((n) => ({ kind: 'drop', name: n })) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(name, encodingArb)
        .map<Mutation>(([n, encoding]) => ({ kind: 'encoding', name: n, encoding })),
    },
    { weight: 1, arbitrary: name.map<Mutation>((n) => ({ kind: 'move', name: n })) },
  ];
  if (!rough) return fc.oneof(...gentle);
  return fc.oneof(
    ...gentle,
    {
      weight: 2,
      arbitrary: name.chain((n) =>
        fc
          .oneof(fc.constant<'same'>('same'), valuesFor(n))
          .map<Mutation>((value) => ({ kind: 'repeat', name: n, value })),
      ),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(oddName, fc.option(garbageText, { nil: null }))
        .map<Mutation>(([n, value]) => ({ kind: 'extra', name: n, value })),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(name, oddName).map<Mutation>(([n, to]) => ({ kind: 'rename', name: n, to })),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(name, breakageArb)
        .map<Mutation>(([n, broken]) => ({ kind: 'break', name: n, broken })),
    },
    { weight: 1, arbitrary: name.map<Mutation>((n) => ({ kind: 'bare', name: n })) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(name, fc.constantFrom(10, 60, 64, 65, 300), fc.boolean())
        .map<Mutation>(([n, count, same]) => ({ kind: 'many', name: n, count, same })),
    },
  );
}

/** Applies `mutations` in order to (a copy of) `fields`. */
export function mutate(fields: readonly Field[], mutations: readonly Mutation[]): Field[] {
  const out = fields.map((f) => ({ ...f }));
  const find = (name: string) => out.findIndex((f) => f.name === name);
  for (const m of mutations) {
    const i = find(m.name);
    switch (m.kind) {
      case 'set':
        if (i >= 0) out[i] = { ...out[i]!, value: m.value };
        else out.push(field(m.name, m.value));
        break;
      case 'drop':
        if (i >= 0) out.splice(i, 1);
        break;
      case 'repeat':
        out.push(field(m.name, m.value === 'same' ? (i >= 0 ? out[i]!.value : '') : m.value));
        break;
      case 'extra':
        out.push(field(m.name, m.value));
        break;
      case 'rename':
        if (i >= 0) out[i] = { ...out[i]!, name: m.to };
        break;
      case 'encoding':
        if (i >= 0) out[i] = { ...out[i]!, encoding: m.encoding };
        break;
      case 'break':
        if (i >= 0) out[i] = { ...out[i]!, broken: m.broken };
        break;
      case 'bare':
        if (i >= 0) out[i] = { ...out[i]!, value: null };
        break;
      case 'move':
        if (i >= 0) out.push(...out.splice(i, 1));
        break;
      case 'many':
        for (let k = 0; k < m.count; k++) out.push(field(m.same ? m.name : `p${k}`, m.same ? `${k}` : '1'));
        break;
    }
  }
  return out;
}

/**
 * `base` (a valid request) changed a little: up to three gentle mutations (more often), or up to
 * six of any kind.
 */
export function mutatedFields(base: readonly Field[], vocabulary: Vocabulary): fc.Arbitrary<Field[]> {
  return fc
    .oneof(
      { weight: 3, arbitrary: fc.array(mutationArb(vocabulary, false), { maxLength: 3 }) },
      { weight: 2, arbitrary: fc.array(mutationArb(vocabulary, true), { maxLength: 6 }) },
    )
    .map((ms) => mutate(base, ms));
}

/** Fields with no relation to the endpoint: names and values of every kind. */
export const randomFields: fc.Arbitrary<Field[]> = fc.array(
  fc.record({
    name: fc.oneof(oddName, fc.string({ maxLength: 12 })),
    value: fc.option(garbageText, { nil: null }),
    encoding: encodingArb,
  }),
  { maxLength: 12 },
);

export const separatorsArb: fc.Arbitrary<NonNullable<FuzzRequest['separators']>> = fc.constantFrom(
  'single',
  'single',
  'single',
  'single',
  'double',
  'leading',
  'trailing',
);

/** Content types of a form endpoint: mostly the form, then its odd spellings, then others. */
export const contentTypeArb: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 12, arbitrary: fc.constant('application/x-www-form-urlencoded') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'application/x-www-form-urlencoded; charset=utf-8',
      'APPLICATION/X-WWW-FORM-URLENCODED',
      'application/x-www-form-urlencoded;charset=ISO-8859-1',
      'application/x-www-form-urlencoded; boundary=x',
    ),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      undefined,
      'application/json',
      'text/plain',
      'multipart/form-data; boundary=b',
      'application/xml',
      'application/x-www-form-urlencodedx',
      'application/octet-stream',
      '',
      ';',
      'text/html; charset=utf-8',
    ),
  },
);

/** How a POST body goes out: mostly the form itself. */
export const bodyArb: fc.Arbitrary<Body> = fc.oneof(
  { weight: 20, arbitrary: fc.constant<Body>({ kind: 'form' }) },
  { weight: 2, arbitrary: fc.constant<Body>({ kind: 'json' }) },
  {
    weight: 2,
    arbitrary: fc.uint8Array({ minLength: 1, maxLength: 64 }).map<Body>((bytes) => ({
      kind: 'junk',
      bytes: bytes.map((b) => (b === 0x26 || b === 0x3d ? 0xff : b)),
    })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(65_000, 70_000, 300_000).map<Body>((size) => ({ kind: 'huge', size })),
  },
);

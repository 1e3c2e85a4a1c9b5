/**
 * The load generator: its own process, talking to one server over loopback with an undici Pool.
 * `concurrency` workers loop over one scenario; iterations that start during the warm-up are not
 * recorded. Prints one JSON line (LoadResult) on stdout.
 *
 *   flow    — GET /authorize with a signed-in person's browser session (→ 302/303 with a code),
 *             then POST /token (code + verifier → access and ID tokens). Fresh verifier/state/nonce
 *             each time.
 *   refresh — each worker gets a refresh token through one flow (scope openid offline_access), then
 *             loops grant_type=refresh_token, always using the rotated token.
 *   With `dpop`, flow and refresh send a DPoP proof (RFC 9449) with every /token request, each
 *   worker with an ES256 key of its own, and check that the tokens are bound (token_type DPoP).
 *   signin  — a browser without a session: GET /authorize → sign-in page → POST the form
 *             (argon2id on the server) → redirects until the client gets its code.
 *
 * People: `target.sessions` holds one browser session per person (signed in beforehand). Worker w
 * of C takes the people w, w + C, w + 2C, … in turn, so no person is in two requests at once and,
 * with more people than workers (200 over 16 connections), each worker cycles over its own.
 *
 * Usage: tsx bench/load.ts '<json LoadConfig>'
 */
import { generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { exportJWK, SignJWT } from 'jose';
import { Pool } from 'undici';
import {
  CookieJar,
  Latencies,
  type LoadResult,
  PASSWORD,
  processTree,
  REDIRECT_URI,
  random,
  s256,
  userName,
} from './lib.js';

export interface LoadTarget {
  origin: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  clientId: string;
  /** Cookie headers of signed-in browser sessions, one per person (bench-0 … bench-N-1). */
  sessions: string[];
}

export interface LoadConfig {
  target: LoadTarget;
  scenario: 'flow' | 'refresh' | 'signin';
  concurrency: number;
  seconds: number;
  warmupSeconds: number;
  /** How many access tokens to hand back (for the verification benchmark). */
  keepTokens?: number;
  /** The server's pid: its CPU time (/proc/<pid>/stat) over the measured window is reported. */
  serverPid?: number;
  /**
   * Iterations per second of all workers together, each on a fixed schedule (an open-loop probe:
   * a late iteration starts at once, the schedule does not slip). Unset: flat out.
   */
  ratePerSecond?: number;
  /** DPoP proofs at /token, one ES256 key per worker (the client's extra signature). */
  dpop?: boolean;
}

/** A worker's DPoP key: the private key and the public JWK its proofs carry. */
interface DpopKey {
  privateKey: KeyObject;
  jwk: Record<string, unknown>;
}

async function newDpopKey(): Promise<DpopKey> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { kty, crv, x, y } = await exportJWK(publicKey);
  return { privateKey, jwk: { kty, crv, x, y } };
}

function dpopProof(key: DpopKey, htu: string): Promise<string> {
  return new SignJWT({ jti: randomUUID(), htm: 'POST', htu, iat: Math.floor(Date.now() / 1000) })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.jwk })
    .sign(key.privateKey);
}

/** User + system CPU time of a process and its descendants in ms (Linux; undefined elsewhere). */
export function cpuTimeMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  let total: number | undefined;
  for (const p of processTree(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      // Fields after the command name, which is in parentheses and may contain spaces.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
      total = (total ?? 0) + (ticks * 1000) / 100; // USER_HZ is 100 on Linux
    } catch {
      // not readable (not Linux, or it exited)
    }
  }
  return total;
}

const config = JSON.parse(process.argv[2] ?? '{}') as LoadConfig;
const { target } = config;
const pool = new Pool(target.origin, { connections: config.concurrency, pipelining: 1 });
const authorizePath = new URL(target.authorizationEndpoint).pathname;
const tokenPath = new URL(target.tokenEndpoint).pathname;

class BenchError extends Error {}

type Headers = Record<string, string | string[] | undefined>;
interface Reply {
  status: number;
  headers: Headers;
  body: string;
}

async function get(path: string, cookie: string): Promise<Reply> {
  const res = await pool.request({ method: 'GET', path, headers: { cookie, accept: 'text/html' } });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

async function postForm(
  path: string,
  form: Record<string, string>,
  cookie?: string,
  dpop?: string,
): Promise<Reply> {
  const res = await pool.request({
    method: 'POST',
    path,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json, text/html',
      ...(cookie ? { cookie } : {}),
      ...(dpop ? { dpop } : {}),
    },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

const header = (h: Headers, name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

function authorizeQuery(scope: string) {
  const verifier = random(32);
  const state = random(12);
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: target.clientId,
    redirect_uri: REDIRECT_URI,
    scope,
    state,
    nonce: random(12),
    code_challenge: s256(verifier),
    code_challenge_method: 'S256',
  });
  return { path: `${authorizePath}?${query}`, verifier, state };
}

/** The code from a redirect to the client, checking state. */
function codeFrom(location: string | undefined, state: string): string {
  if (!location?.startsWith(REDIRECT_URI))
    throw new BenchError(`expected a redirect to the client, got ${location}`);
  const url = new URL(location);
  const code = url.searchParams.get('code');
  if (!code) throw new BenchError(`no code in redirect: ${url.search.slice(0, 200)}`);
  if (url.searchParams.get('state') !== state) throw new BenchError('state mismatch');
  return code;
}

interface Tokens {
  access_token?: string;
  token_type?: string;
  id_token?: string;
  refresh_token?: string;
}

async function token(form: Record<string, string>, key?: DpopKey): Promise<Tokens> {
  const proof = key ? await dpopProof(key, target.tokenEndpoint) : undefined;
  const res = await postForm(tokenPath, { client_id: target.clientId, ...form }, undefined, proof);
  if (res.status !== 200) throw new BenchError(`token ${res.status}: ${res.body.slice(0, 200)}`);
  const body = JSON.parse(res.body) as Tokens;
  if (!body.access_token) throw new BenchError('token response without access_token');
  if (key && body.token_type !== 'DPoP') throw new BenchError(`token_type ${body.token_type}, not DPoP`);
  return body;
}

const steps = { authorize: new Latencies(), token: new Latencies() };
const keptTokens: string[] = [];
const keptKeys: Record<string, unknown>[] = [];

/** One full flow in a person's session; step latencies recorded when `record`. */
async function flow(session: string, scope: string, record: boolean, key?: DpopKey): Promise<Tokens> {
  const { path, verifier, state } = authorizeQuery(scope);
  const t0 = performance.now();
  const res = await get(path, session);
  if (res.status !== 302 && res.status !== 303)
    throw new BenchError(`authorize ${res.status}: ${res.body.slice(0, 200)}`);
  const code = codeFrom(header(res.headers, 'location'), state);
  const t1 = performance.now();
  const tokens = await token(
    {
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    },
    key,
  );
  if (scope.includes('openid') && !tokens.id_token) throw new BenchError('token response without id_token');
  if (record) {
    steps.authorize.add(t1 - t0);
    steps.token.add(performance.now() - t1);
    if (tokens.access_token && keptTokens.length < (config.keepTokens ?? 0)) {
      keptTokens.push(tokens.access_token);
      if (key) keptKeys.push(await exportJWK(key.privateKey));
    }
  }
  return tokens;
}

/** Sign-in of `username` from a browser without a session, following redirects to the client. */
async function signIn(username: string): Promise<void> {
  const jar = new CookieJar();
  const { path, state } = authorizeQuery('openid profile');
  let res = await get(path, jar.header());
  jar.store(res.headers['set-cookie']);
  let signedIn = false;
  for (let hop = 0; hop < 6; hop++) {
    if (res.status !== 302 && res.status !== 303)
      throw new BenchError(`sign-in step ${hop}: ${res.status} ${res.body.slice(0, 200)}`);
    const location = header(res.headers, 'location') ?? '';
    if (location.startsWith(REDIRECT_URI)) {
      if (!signedIn) throw new BenchError('redirected to the client before signing in');
      codeFrom(location, state);
      return;
    }
    const next = location.startsWith('http') ? new URL(location) : new URL(location, target.origin);
    res = await get(next.pathname + next.search, jar.header());
    jar.store(res.headers['set-cookie']);
    if (res.status === 200 && res.body.includes('name="password"')) {
      const action = /<form[^>]*action="([^"]*login[^"]*)"/.exec(res.body)?.[1]?.replace(/&amp;/g, '&');
      if (!action) throw new BenchError('sign-in page without a login form');
      const csrf = /name="csrf" value="([^"]+)"/.exec(res.body)?.[1];
      res = await postForm(action, { ...(csrf ? { csrf } : {}), username, password: PASSWORD }, jar.header());
      jar.store(res.headers['set-cookie']);
      signedIn = true;
    }
  }
  throw new BenchError('too many redirects during sign-in');
}

async function main(): Promise<void> {
  const latencies = new Latencies();
  const errors: string[] = [];
  let errorCount = 0;
  const start = performance.now();
  const measureFrom = start + config.warmupSeconds * 1000;
  const end = measureFrom + config.seconds * 1000;
  let cpuAtStart: number | undefined;
  let ownCpuAtStart: NodeJS.CpuUsage | undefined;
  const cpuTimer = setTimeout(
    () => {
      cpuAtStart = cpuTimeMs(config.serverPid);
      ownCpuAtStart = process.cpuUsage();
    },
    Math.max(0, measureFrom - performance.now()),
  );

  const fail = (err: unknown) => {
    errorCount++;
    if (errors.length < 5) errors.push((err as Error).message ?? String(err));
  };

  const people = target.sessions.length;
  if (people < config.concurrency) throw new Error(`${people} sessions for ${config.concurrency} workers`);
  const worker = async (w: number) => {
    let refreshToken: string | undefined;
    // Each worker is its own client instance with its own key (made before the clock starts).
    const key = config.dpop ? await newDpopKey() : undefined;
    // This worker's people: w, w + C, w + 2C, … (below the number of sessions).
    const mine = Array.from(
      { length: Math.ceil((people - w) / config.concurrency) },
      (_, k) => w + k * config.concurrency,
    );
    let turn = 0;
    const nextPerson = () => mine[turn++ % mine.length]!;
    // Paced: worker w of C starts at start + w/rate, then every C/rate seconds.
    const interval = config.ratePerSecond ? (config.concurrency * 1000) / config.ratePerSecond : 0;
    let due = start + (interval * w) / config.concurrency;
    while (performance.now() < end) {
      if (interval > 0) {
        const wait = due - performance.now();
        due += interval;
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        if (performance.now() >= end) break;
      }
      const t0 = performance.now();
      const record = t0 >= measureFrom;
      try {
        if (config.scenario === 'flow') {
          await flow(target.sessions[nextPerson()]!, 'openid profile email', record, key);
        } else if (config.scenario === 'signin') {
          await signIn(userName(nextPerson()));
        } else {
          if (!refreshToken) {
            refreshToken = (await flow(target.sessions[nextPerson()]!, 'openid offline_access', false, key))
              .refresh_token;
            if (!refreshToken) throw new BenchError('no refresh_token issued for offline_access');
            continue;
          }
          const tokens = await token({ grant_type: 'refresh_token', refresh_token: refreshToken }, key);
          if (!tokens.refresh_token) throw new BenchError('refresh grant did not rotate the refresh token');
          refreshToken = tokens.refresh_token;
        }
        if (record) latencies.add(performance.now() - t0);
      } catch (err) {
        if (record) fail(err);
        else if (errorCount === 0 && errors.length < 5) errors.push(`(warm-up) ${(err as Error).message}`);
        refreshToken = undefined;
        // An error storm (for example a server that died) must not spin: back off a little.
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  };
  await Promise.all(Array.from({ length: config.concurrency }, (_, w) => worker(w)));
  clearTimeout(cpuTimer);
  const cpuAtEnd = cpuTimeMs(config.serverPid);
  const ownCpu = ownCpuAtStart ? process.cpuUsage(ownCpuAtStart) : undefined;
  const windowMs = performance.now() - measureFrom;
  await pool.close();
  const serverCpuMs = cpuAtStart !== undefined && cpuAtEnd !== undefined ? cpuAtEnd - cpuAtStart : undefined;

  const { p50, p99 } = latencies.summary();
  const result: LoadResult = {
    scenario: config.scenario,
    concurrency: config.concurrency,
    seconds: config.seconds,
    count: latencies.count,
    perSecond: Math.round((latencies.count / config.seconds) * 10) / 10,
    p50,
    p99,
    errors: errorCount,
    firstErrors: errors,
    ...(serverCpuMs !== undefined && latencies.count > 0
      ? { serverCpuMsPerIteration: Math.round((serverCpuMs / latencies.count) * 100) / 100 }
      : {}),
    ...(serverCpuMs !== undefined ? { serverCores: Math.round((serverCpuMs / windowMs) * 100) / 100 } : {}),
    ...(ownCpu
      ? { loadCores: Math.round(((ownCpu.user + ownCpu.system) / 1000 / windowMs) * 100) / 100 }
      : {}),
    steps: { authorize: steps.authorize.summary(), token: steps.token.summary() },
    ...(config.keepTokens ? { accessTokens: keptTokens } : {}),
    ...(config.keepTokens && config.dpop ? { dpopKeys: keptKeys } : {}),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();

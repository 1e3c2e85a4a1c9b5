/**
 * What the benchmark's orchestrators share (bench/run.ts, bench/growth.ts): building both servers
 * and the load generator, starting and stopping processes, running a load, and signing people in
 * through a server's real sign-in form.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CookieJar,
  type LoadResult,
  PASSWORD,
  processTree,
  REDIRECT_URI,
  random,
  s256,
  userName,
} from './lib.js';
import type { LoadConfig } from './load.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BUILD = join(ROOT, '.tmp', 'bench');
/** Sign-ins run this many at a time while the sessions are made (before any measurement). */
const SIGN_IN_PARALLEL = 4;

export const log = (s: string) => process.stderr.write(`${s}\n`);

// ---------------------------------------------------------------------------------------------
// Building: both servers run as plain JavaScript bundled by esbuild (no TypeScript loader in the
// measured processes, which would distort cold start and memory). Falls back to tsx.

export interface Entry {
  /** node arguments that start it */
  args: string[];
  how: string;
}

export async function build(): Promise<{ latchkey: Entry; peer: Entry; load: Entry }> {
  const tsx = (file: string): Entry => ({ args: ['--import', 'tsx', join(ROOT, file)], how: 'tsx' });
  try {
    const esbuild = await import('esbuild');
    mkdirSync(BUILD, { recursive: true });
    const common = {
      bundle: true,
      platform: 'node' as const,
      format: 'esm' as const,
      target: 'node20',
      packages: 'external' as const,
      logLevel: 'error' as const,
      jsx: 'automatic' as const,
      jsxImportSource: 'preact',
    };
    const latchkeyOut = join(BUILD, 'latchkey', 'latchkey.js');
    const peerOut = join(BUILD, 'peer', 'peer-oidc-provider.js');
    const loadOut = join(BUILD, 'load', 'load.js');
    await Promise.all([
      esbuild.build({ ...common, entryPoints: [join(ROOT, 'bench/load.ts')], outfile: loadOut }),
      // Split at dynamic imports, as in dist/: each CLI command loads only its own modules.
      esbuild.build({
        ...common,
        entryPoints: [join(ROOT, 'src/cli/latchkey.ts')],
        outdir: dirname(latchkeyOut),
        splitting: true,
      }),
      esbuild.build({
        ...common,
        entryPoints: [join(ROOT, 'bench/peer-oidc-provider.ts')],
        outfile: peerOut,
      }),
    ]);
    return {
      latchkey: { args: [latchkeyOut], how: 'esbuild bundle of src/cli/latchkey.ts' },
      peer: { args: [peerOut], how: 'esbuild bundle of bench/peer-oidc-provider.ts' },
      load: { args: [loadOut], how: 'esbuild bundle of bench/load.ts' },
    };
  } catch (err) {
    log(`bench: esbuild not usable (${(err as Error).message}); running through tsx`);
    return {
      latchkey: tsx('src/cli/latchkey.ts'),
      peer: tsx('bench/peer-oidc-provider.ts'),
      load: tsx('bench/load.ts'),
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Processes

/**
 * Per-core mode (npm run bench -- --per-core): servers on one core, the load generator on the
 * other. `taskset -c N node …` sets the affinity and then execs node (same pid), so every thread
 * the process makes later (libuv's pool, hashing and checkpoint threads) stays on that core.
 */
const pinning: { server?: string; load?: string } = {};

export function setPinning(p: { server: string; load: string }): void {
  Object.assign(pinning, p);
}

/** The command and arguments that run node with `args`, on `cpu` when given. */
function nodeCommand(args: string[], cpu: string | undefined): [string, string[]] {
  return cpu === undefined ? [process.execPath, args] : ['taskset', ['-c', cpu, process.execPath, ...args]];
}

export function run(
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv; cpu?: string } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const [command, commandArgs] = nodeCommand(args, opts.cpu);
    const child = execFile(
      command,
      commandArgs,
      { cwd: ROOT, env: { ...process.env, ...opts.env }, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${args.slice(-3).join(' ')}: ${stderr || err.message}`));
        else resolve(stdout);
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export interface Started {
  child: ChildProcess;
  base: string;
  coldStartMs: number;
  stderr: () => string;
}

/** Spawns a server and measures process start → first 200 from discovery. */
export async function startServer(args: string[], env: NodeJS.ProcessEnv, base: string): Promise<Started> {
  let stderr = '';
  const t0 = performance.now();
  const [command, commandArgs] = nodeCommand(args, pinning.server);
  const child = spawn(command, commandArgs, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  const deadline = t0 + 20_000;
  while (performance.now() < deadline) {
    if (exited) throw new Error(`server exited during start-up: ${stderr}`);
    try {
      const res = await fetch(`${base}/.well-known/openid-configuration`);
      if (res.status === 200) {
        await res.arrayBuffer();
        return { child, base, coldStartMs: Math.round(performance.now() - t0), stderr: () => stderr };
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  child.kill('SIGTERM');
  throw new Error(`server did not answer discovery within 20 s: ${stderr}`);
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Resident memory of a process and its descendants (a primary and its workers), MiB. */
export function rssMiB(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  let kib: number | null = null;
  for (const p of processTree(pid)) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) kib = (kib ?? 0) + Number(m[1]);
    } catch {
      // exited meanwhile
    }
  }
  return kib === null ? null : Math.round(kib / 102.4) / 10;
}

let loadEntry: Entry = { args: ['--import', 'tsx', join(ROOT, 'bench/load.ts')], how: 'tsx' };

/** The load generator's build (from build()). */
export function setLoadEntry(entry: Entry): void {
  loadEntry = entry;
}

export function load(config: LoadConfig): Promise<LoadResult> {
  return run([...loadEntry.args, JSON.stringify(config)], pinning.load ? { cpu: pinning.load } : {}).then(
    (out) => {
      const line = out.trim().split('\n').pop() ?? '';
      return JSON.parse(line) as LoadResult;
    },
  );
}

// ---------------------------------------------------------------------------------------------
// Signing in once through the HTML form, as a browser would.

export async function signInOnce(
  origin: string,
  authorizationEndpoint: string,
  clientId: string,
  username: string,
): Promise<string> {
  const jar = new CookieJar();
  const verifier = random(32);
  const state = random(12);
  const url = new URL(authorizationEndpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    scope: 'openid profile email offline_access',
    state,
    nonce: random(12),
    code_challenge: s256(verifier),
    code_challenge_method: 'S256',
  }).toString();
  let next: string | undefined = url.toString();
  let method: 'GET' | 'POST' = 'GET';
  let body: string | undefined;
  for (let hop = 0; hop < 8 && next; hop++) {
    const res: Response = await fetch(new URL(next, origin), {
      method,
      redirect: 'manual',
      headers: {
        cookie: jar.header(),
        accept: 'text/html',
        ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(body ? { body } : {}),
    });
    jar.store(res.headers.getSetCookie());
    const text = await res.text();
    method = 'GET';
    body = undefined;
    const location = res.headers.get('location');
    if (location?.startsWith(REDIRECT_URI)) {
      if (!new URL(location).searchParams.get('code'))
        throw new Error(`sign-in ended without a code: ${location}`);
      return jar.header();
    }
    if ((res.status === 302 || res.status === 303) && location) {
      next = location;
      continue;
    }
    if (res.status === 200 && text.includes('name="password"')) {
      const action = /<form[^>]*action="([^"]*login[^"]*)"/.exec(text)?.[1]?.replace(/&amp;/g, '&');
      const csrf = /name="csrf" value="([^"]+)"/.exec(text)?.[1];
      if (!action) throw new Error('sign-in page without a login form');
      next = action;
      method = 'POST';
      body = new URLSearchParams({
        ...(csrf ? { csrf } : {}),
        username,
        password: PASSWORD,
      }).toString();
      continue;
    }
    throw new Error(`sign-in failed at step ${hop}: ${res.status} ${text.slice(0, 300)}`);
  }
  throw new Error('sign-in did not reach the client');
}

/** Signs in bench-0 … bench-(count-1), SIGN_IN_PARALLEL at a time: one session cookie each. */
export async function signInPeople(
  origin: string,
  authorizationEndpoint: string,
  clientId: string,
  count: number,
): Promise<string[]> {
  const sessions: string[] = new Array(count);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < count; i = next++)
      sessions[i] = await signInOnce(origin, authorizationEndpoint, clientId, userName(i));
  };
  await Promise.all(Array.from({ length: SIGN_IN_PARALLEL }, lane));
  return sessions;
}

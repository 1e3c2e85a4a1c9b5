/**
 * RFC 8252 §7.3 loopback redirect receiver for native and CLI apps (Node only).
 * Listens on 127.0.0.1 on an ephemeral port, accepts exactly one callback carrying the expected
 * `state`, answers it with a small "you can close this window" page, and times out cleanly.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { invalidArgument, LatchkeyError } from './errors.js';

export interface LoopbackOptions {
  /** The `state` of the authorization request; any other callback fails the wait. */
  expectedState: string;
  /** Default 5 minutes. */
  timeoutMs?: number;
  /** Callback path; default `/callback` (so the client registers `http://127.0.0.1/callback`). */
  path?: string;
  /** Default 0: an ephemeral port. */
  port?: number;
}

export interface LoopbackReceiver {
  /** `http://127.0.0.1:<port><path>`: pass it as redirect_uri. */
  redirectUri: string;
  port: number;
  /** Resolves with the full callback URL; rejects with LATCHKEY_STATE_MISMATCH or LATCHKEY_TIMEOUT. */
  wait(): Promise<URL>;
  close(): Promise<void>;
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function page(res: ServerResponse, status: number, title: string, text: string): void {
  const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}</style>
</head><body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p></body></html>`;
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    'x-frame-options': 'DENY',
    connection: 'close',
  });
  res.end(body);
}

/** The options, checked, with their defaults. */
function checkOptions(opts: LoopbackOptions): { timeoutMs: number; path: string; port: number } {
  if (!opts || typeof opts.expectedState !== 'string' || opts.expectedState === '')
    throw invalidArgument('expectedState must be a non-empty string');
  const timeoutMs = opts.timeoutMs ?? 5 * 60_000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
    throw invalidArgument('timeoutMs must be a positive number');
  const path = opts.path ?? '/callback';
  if (!path.startsWith('/')) throw invalidArgument('path must start with "/"');
  const port = opts.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw invalidArgument('port must be 0–65535');
  return { timeoutMs, path, port };
}

/** Why the wait failed when no callback came in time: only wrong ones (how many), or none. */
function timeoutError(timeoutMs: number, mismatches: number): LatchkeyError {
  return mismatches > 0
    ? new LatchkeyError(
        'LATCHKEY_STATE_MISMATCH',
        `no callback with the expected state within ${Math.round(timeoutMs / 1000)} s (${mismatches} refused)`,
      )
    : new LatchkeyError('LATCHKEY_TIMEOUT', `no sign-in callback within ${Math.round(timeoutMs / 1000)} s`);
}

// One closure on purpose: the request handler, the timer and close() share the receiver's state
// (settled, mismatches, the pending wait), and which of them settles it first is the point.
export async function listenLoopback(opts: LoopbackOptions): Promise<LoopbackReceiver> {
  const { timeoutMs, path, port } = checkOptions(opts);

  let settled = false;
  /** Callbacks refused for a wrong or missing state (reported if nothing else arrives). */
  let mismatches = 0;
  let resolveWait!: (u: URL) => void;
  let rejectWait!: (e: unknown) => void;
  const result = new Promise<URL>((res, rej) => {
    resolveWait = res;
    rejectWait = rej;
  });
  // A rejection nobody awaits yet must not crash the process.
  result.catch(() => {});

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${actualPort}`);
    if (req.method !== 'GET' || url.pathname !== path) {
      page(res, 404, 'Not found', 'Nothing here.');
      return;
    }
    if (settled) {
      page(res, 410, 'Already used', 'This sign-in has already finished. You can close this window.');
      return;
    }
    if (
      url.searchParams.get('state') !== opts.expectedState ||
      url.searchParams.getAll('state').length !== 1
    ) {
      // Not ours (any web page can request this URL): refuse it, keep waiting for the real one.
      mismatches++;
      page(res, 400, 'Sign-in failed', 'This response does not belong to the sign-in in progress.');
      return;
    }
    settled = true;
    const title = url.searchParams.has('error') ? 'Sign-in did not complete' : 'Signed in';
    page(res, 200, title, 'You can close this window and return to the application.');
    finish(() => resolveWait(url));
  });

  const timer = setTimeout(() => {
    if (settled) return;
    settled = true;
    finish(() => rejectWait(timeoutError(timeoutMs, mismatches)));
  }, timeoutMs);

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    clearTimeout(timer);
    closing ??= new Promise<void>((res) => {
      server.close(() => res());
      server.closeIdleConnections();
    });
    if (!settled) {
      settled = true;
      rejectWait(new LatchkeyError('LATCHKEY_TIMEOUT', 'the loopback receiver was closed before a callback'));
    }
    return closing;
  };
  function finish(settle: () => void): void {
    clearTimeout(timer);
    settle();
    void close();
  }

  await new Promise<void>((res, rej) => {
    server.once('error', (e) =>
      rej(new LatchkeyError('LATCHKEY_NETWORK_ERROR', `cannot listen on 127.0.0.1:${port}`, { cause: e })),
    );
    server.listen(port, '127.0.0.1', () => res());
  });
  const actualPort = (server.address() as AddressInfo).port;
  return {
    redirectUri: `http://127.0.0.1:${actualPort}${path}`,
    port: actualPort,
    wait: () => result,
    close,
  };
}

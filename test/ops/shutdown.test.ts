/**
 * SIGTERM on a real `latchkey serve` process: in-flight requests finish with their normal
 * answer, idle keep-alive connections are closed at once, a request that arrives during the
 * drain gets 503 + Retry-After in the project's error format, the process exits 0 promptly;
 * a second signal exits at once; the grace (LATCHKEY_SHUTDOWN_GRACE) bounds a stuck request.
 *
 * The slow requests: token requests whose body is still being sent (Content-Length announced,
 * the last bytes held back), and a burst of password sign-ins, whose argon2 hashes run one or a
 * few at a time, so most are still being answered when the signal comes. No test-only route.
 * "The database is closed": the process prints `shutdown: done` only after the store closed,
 * and SQLite removes the -wal file only when its last connection closes (a process that exits
 * without closing it leaves the file behind).
 */
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Browser, formOf, type Step } from '../helpers/browser.js';
import { authorizeRequest } from '../helpers/flow.js';
import { type Seeded, type ServeProcess, seed, startServe } from '../helpers/serve-child.js';
import { freePort, PASSWORD, tempDir } from '../helpers/server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Parses one HTTP/1.1 response (Content-Length bodies) from what a socket received. */
function parseResponse(raw: string): RawResponse {
  const end = raw.indexOf('\r\n\r\n');
  assert.ok(end > 0, `no complete response in ${JSON.stringify(raw.slice(0, 200))}`);
  const [statusLine, ...lines] = raw.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  const len = Number(headers['content-length'] ?? 0);
  return { status: Number(statusLine!.split(' ')[1]), headers, body: raw.slice(end + 4, end + 4 + len) };
}

/** A raw connection: what was received, and whether the server closed it. */
function connect(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  let received = '';
  let closedAt: number | undefined;
  socket.on('data', (d) => (received += d.toString('utf8')));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) =>
    socket.on('close', () => {
      closedAt = Date.now();
      resolve();
    }),
  );
  return {
    socket,
    received: () => received,
    closed,
    closedAt: () => closedAt,
    ready: new Promise<void>((resolve) => socket.once('connect', () => resolve())),
  };
}

/** A client_credentials token request: written in two parts, it stays in flight in between. */
function tokenRequest(s: Seeded, port: number): { head: string; body: string } {
  const body = new URLSearchParams({ grant_type: 'client_credentials' }).toString();
  const auth = Buffer.from(`${s.service.clientId}:${s.service.secret}`).toString('base64');
  const head =
    `POST /token HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Basic ${auth}\r\n` +
    `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n` +
    'Connection: keep-alive\r\n\r\n';
  return { head, body };
}

/** Opens `n` keep-alive connections through an http.Agent and leaves them idle. */
async function idleKeepAlive(
  port: number,
  n: number,
): Promise<{ agent: http.Agent; closed: Promise<number[]> }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: n });
  const sockets: net.Socket[] = [];
  await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<void>((resolve, reject) => {
          const req = http.get({ host: '127.0.0.1', port, path: '/healthz', agent }, (res) => {
            res.resume();
            res.on('end', () => resolve());
          });
          req.on('socket', (s) => {
            if (!sockets.includes(s)) sockets.push(s);
          });
          req.on('error', reject);
        }),
    ),
  );
  assert.equal(sockets.length, n, 'one socket per request');
  const closed = Promise.all(
    sockets.map((s) => new Promise<number>((resolve) => s.once('close', () => resolve(Date.now())))),
  );
  return { agent, closed };
}

/** A browser on the sign-in page of a fresh authorization request: the POST still to send. */
async function atSignIn(base: string, s: Seeded): Promise<() => Promise<Step & { at: number }>> {
  const browser = new Browser(base);
  const first = await browser.get(authorizeRequest(base, s.app, { scope: 'openid offline_access' }).url);
  assert.equal(first.status, 303);
  const page = await browser.get(first.location!);
  const { csrf, actions } = formOf(page.body);
  const login = actions.find((a) => a.endsWith('/login'))!;
  return async () => {
    const step = await browser.post(login, { csrf, username: s.usernames[0]!, password: PASSWORD });
    return { ...step, at: Date.now() };
  };
}

const SIGN_INS = 8;

describe('SIGTERM on latchkey serve', () => {
  let dir: string;
  let db: string;
  let seeded: Seeded;
  const running: ServeProcess[] = [];
  before(async () => {
    dir = tempDir('latchkey-shutdown-');
    db = join(dir, 'latchkey.db');
    seeded = await seed(db);
  });
  after(async () => {
    for (const p of running) await p.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  test('in-flight requests finish, idle keep-alive connections close, drain requests get 503, exit 0', async () => {
    const port = await freePort();
    const serve = await startServe(db, port);
    running.push(serve);

    // Two slow token requests in flight: their bodies are not complete yet.
    const slow = [connect(port), connect(port)];
    await Promise.all(slow.map((c) => c.ready));
    const req = tokenRequest(seeded, port);
    for (const c of slow) c.socket.write(req.head + req.body.slice(0, 5));
    // A request whose headers are only half sent: it arrives during the drain.
    const late = connect(port);
    await late.ready;
    late.socket.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`);
    // Idle kept-alive connections, as a load balancer or an HTTP client pool holds them.
    const idle = await idleKeepAlive(port, 3);
    // A burst of sign-ins: argon2 hashes queue on the hashing threads.
    const posts = await Promise.all(Array.from({ length: SIGN_INS }, () => atSignIn(serve.url, seeded)));
    await sleep(100);
    const signIns = posts.map((post) => post());
    await sleep(50);

    const sent = Date.now();
    serve.child.kill('SIGTERM');
    // Idle connections are closed at once (not after the keep-alive timeout).
    const idleClosed = await idle.closed;
    for (const at of idleClosed) assert.ok(at - sent < 1000, `idle connection closed after ${at - sent} ms`);
    idle.agent.destroy();
    // No new connection is accepted.
    await sleep(200);
    // A new connection (agent: false; fetch's pool could reuse one of the sign-ins' connections).
    const refused = await new Promise<string>((resolve) =>
      http
        .get({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (res) => {
          res.resume();
          resolve(`answered ${res.statusCode}`);
        })
        .on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message)),
    );
    assert.equal(refused, 'ECONNREFUSED');

    // The late request completes its headers now: refused in our format, 503 + Retry-After.
    late.socket.write('\r\n');
    await late.closed;
    const lateRes = parseResponse(late.received());
    assert.equal(lateRes.status, 503);
    assert.equal(lateRes.headers['retry-after'], '1');
    assert.equal(lateRes.headers['connection'], 'close');
    const lateBody = JSON.parse(lateRes.body) as Record<string, unknown>;
    assert.equal(lateBody.error, 'temporarily_unavailable');
    assert.equal(typeof lateBody.error_description, 'string');

    // The in-flight requests finish with their normal answer, then their connections close.
    for (const c of slow) c.socket.write(req.body.slice(5));
    await Promise.all(slow.map((c) => c.closed));
    for (const c of slow) {
      const res = parseResponse(c.received());
      assert.equal(res.status, 200, res.body);
      assert.equal(typeof (JSON.parse(res.body) as { access_token?: unknown }).access_token, 'string');
    }

    // Every sign-in got its normal answer (signed in, redirected to the application with a
    // code), some of them only after the signal: they were in flight, not refused.
    const answered = await Promise.all(signIns);
    for (const a of answered) {
      assert.equal(a.status, 303, a.body.slice(0, 200));
      assert.ok(a.location?.startsWith(`${seeded.app.redirectUri}?code=`), String(a.location));
    }
    const afterSignal = answered.filter((a) => a.at > sent).length;
    assert.ok(afterSignal > 0, 'sign-ins were in flight at SIGTERM');

    const exit = await serve.exited;
    assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null }, serve.output());
    // Well under the 10 s grace: the process waited for its requests, not for its connections
    // (it exits within a second of the last answer).
    const lastAnswer = Math.max(...answered.map((a) => a.at), ...slow.map((c) => c.closedAt() ?? 0));
    assert.ok(exit.at - lastAnswer < 1000, `exited ${exit.at - lastAnswer} ms after the last answer`);
    assert.ok(exit.at - sent < 5000, `exited ${exit.at - sent} ms after SIGTERM`);
    assert.match(serve.output(), /SIGTERM: shutting down/);
    // The database was closed before the exit: checkpointed, its -wal file gone.
    assert.match(serve.output(), /shutdown: done in \d+ ms/);
    assert.equal(existsSync(`${db}-wal`), false, 'SQLite closed the database (no -wal left)');
    console.log(
      `SIGTERM: ${afterSignal} of ${SIGN_INS} sign-ins answered after the signal, exit 0 after ${exit.at - sent} ms`,
    );
  });

  test('a second SIGTERM exits at once; the grace bounds a request that never finishes', async () => {
    const port = await freePort();
    const serve = await startServe(db, port);
    running.push(serve);
    const stuck = connect(port);
    await stuck.ready;
    const req = tokenRequest(seeded, port);
    stuck.socket.write(req.head + req.body.slice(0, 5));
    await sleep(100);
    serve.child.kill('SIGTERM');
    await sleep(500);
    assert.equal(serve.child.exitCode, null, 'still draining');
    const second = Date.now();
    serve.child.kill('SIGTERM');
    const exit = await serve.exited;
    assert.ok(exit.at - second < 1000, `exited ${exit.at - second} ms after the second SIGTERM`);
    assert.equal(exit.code, 1);
    stuck.socket.destroy();

    const port2 = await freePort();
    const graced = await startServe(db, port2, { LATCHKEY_SHUTDOWN_GRACE: '1' });
    running.push(graced);
    const stuck2 = connect(port2);
    await stuck2.ready;
    stuck2.socket.write(tokenRequest(seeded, port2).head);
    await sleep(100);
    const sent = Date.now();
    graced.child.kill('SIGTERM');
    const exit2 = await graced.exited;
    assert.equal(exit2.code, 1, graced.output());
    const took = exit2.at - sent;
    assert.ok(took >= 900 && took < 3000, `exited ${took} ms after SIGTERM with a 1 s grace`);
    assert.match(graced.output(), /LATCHKEY_SHUTDOWN_GRACE/);
    stuck2.socket.destroy();
  });
});

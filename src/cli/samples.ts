/**
 * The sample native app and the sample API (`latchkey login`, `whoami`, `token`, `logout`,
 * `sample-api`), built on the two SDKs exactly as an outside app would use them.
 */
import { spawn } from 'node:child_process';
import { decodeJwt, type JWK } from 'jose';
import { randomString } from '../client/encoding.js';
import { DpopKey, LatchkeyClient, LatchkeyError, type TokenSet } from '../client/index.js';
import { listenLoopback } from '../client/loopback.js';
import { FileTokenStore, type StoredSession } from '../client/token-store.js';
import { protectedResourceMetadataUrl } from '../resource/protected-resource.js';
import { buildSampleApi } from '../resource/sample-api.js';
import { parse, UsageError } from './args.js';

export const DEFAULT_SCOPE = 'openid profile email offline_access';
/** `latchkey token` refreshes when the access token has less than this left. */
const REFRESH_MARGIN_MS = 60_000;

export interface SampleIO {
  out(text: string): void;
  err(text: string): void;
  /** Opens the system browser; returns false when it could not. */
  openBrowser(url: string): Promise<boolean>;
  /** Token directory; default per LATCHKEY_CONFIG_DIR / XDG_CONFIG_HOME / ~/.config/latchkey. */
  configDir?: string;
  /** Loopback wait, ms (default 5 minutes). */
  timeoutMs?: number;
  /** Called with the authorize URL once the loopback receiver listens (tests drive the browser from it). */
  onAuthorizeUrl?(url: string): void;
}

/** Opens a URL without a shell (`xdg-open` / `open` / Windows' URL handler). */
export function openSystemBrowser(url: string): Promise<boolean> {
  const [cmd, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? // `start` goes through cmd.exe, which would split the URL at "&"; the URL handler does not.
          ['rundll32', ['url.dll,FileProtocolHandler', url]]
        : ['xdg-open', [url]];
  return new Promise((resolve) => {
    try {
      const child = spawn(cmd as string, args as string[], { stdio: 'ignore', detached: true });
      child.once('error', () => resolve(false));
      child.once('spawn', () => {
        child.unref();
        resolve(true);
      });
    } catch {
      resolve(false);
    }
  });
}

const defaultIO: SampleIO = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  openBrowser: openSystemBrowser,
};

function checkIssuer(issuer: string | undefined): string {
  if (!issuer) throw new UsageError('--issuer URL is required');
  let u: URL;
  try {
    u = new URL(issuer);
  } catch {
    throw new UsageError(`--issuer must be a URL, got "${issuer}"`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:')
    throw new UsageError('--issuer must be an http(s) URL');
  return issuer;
}

function toStored(issuer: string, clientId: string, t: TokenSet, dpopKey?: JWK): StoredSession {
  const s: StoredSession = { issuer, clientId, accessToken: t.accessToken, tokenType: t.tokenType };
  if (dpopKey && t.tokenType === 'DPoP') s.dpopKey = dpopKey as Record<string, unknown>;
  if (t.expiresAt !== undefined) s.expiresAt = t.expiresAt;
  if (t.refreshToken !== undefined) s.refreshToken = t.refreshToken;
  if (t.idToken !== undefined) s.idToken = t.idToken;
  if (t.scope !== undefined) s.scope = t.scope;
  if (typeof t.idTokenClaims?.sub === 'string') s.subject = t.idTokenClaims.sub;
  return s;
}

/** The session's DPoP key, read back from the token file (undefined for Bearer tokens). */
async function sessionKey(session: StoredSession): Promise<DpopKey | undefined> {
  if (session.tokenType !== 'DPoP' || !session.dpopKey) return undefined;
  return DpopKey.fromPrivateJwk(session.dpopKey as JWK);
}

/** A client for a stored session: with its DPoP key when its tokens are bound. */
async function sessionClient(session: StoredSession): Promise<LatchkeyClient> {
  const key = await sessionKey(session);
  return LatchkeyClient.discover({
    issuer: session.issuer,
    clientId: session.clientId,
    ...(key ? { dpop: key } : {}),
  });
}

/** The `cnf.jkt` of an access token (RFC 9449 §6.1), if it is a JWT that has one. */
function boundThumbprint(accessToken: string): string | undefined {
  try {
    const cnf = decodeJwt(accessToken)['cnf'] as { jkt?: unknown } | undefined;
    return typeof cnf?.jkt === 'string' ? cnf.jkt : undefined;
  } catch {
    return undefined;
  }
}

export async function runLogin(
  opts: {
    issuer: string;
    clientId: string;
    scope?: string;
    noBrowser?: boolean;
    dpop?: boolean;
    /** RFC 8628: the device authorization grant instead of a loopback redirect. */
    device?: boolean;
  },
  io: SampleIO = defaultIO,
): Promise<StoredSession> {
  // RFC 9449: a key of its own, kept in the token file (so extractable: see docs/sdk.md).
  const key = opts.dpop ? await DpopKey.generate({ extractable: true }) : undefined;
  const client = await LatchkeyClient.discover({
    issuer: opts.issuer,
    clientId: opts.clientId,
    ...(key ? { dpop: key } : {}),
  });
  if (opts.device)
    return saveLogin(opts, io, key, await deviceLogin(client, opts.scope ?? DEFAULT_SCOPE, io));
  // The state is chosen first: the receiver must know it, and the request needs the receiver's port.
  const state = randomString(24);
  const receiver = await listenLoopback({
    expectedState: state,
    ...(io.timeoutMs ? { timeoutMs: io.timeoutMs } : {}),
  });
  try {
    const request = await client.createAuthorizationRequest({
      redirectUri: receiver.redirectUri,
      scope: opts.scope ?? DEFAULT_SCOPE,
      state,
    });
    if (opts.noBrowser) {
      io.err('Open this URL in a browser to sign in:\n');
      io.out(`${request.url}\n`);
    } else if (await io.openBrowser(request.url)) {
      io.err(`Opened the browser to sign in. If it did not open, visit:\n${request.url}\n`);
    } else {
      io.err('Could not open a browser; open this URL to sign in:\n');
      io.out(`${request.url}\n`);
    }
    io.onAuthorizeUrl?.(request.url);
    const callback = await receiver.wait();
    return await saveLogin(opts, io, key, await client.completeAuthorization(callback, request));
  } finally {
    await receiver.close();
  }
}

/**
 * RFC 8628 §3.1–3.5: a device code, the user code and where to type it shown to the person (the
 * URL with the code in it on stdout, as `--no-browser` prints its URL), then polling until they
 * approve at that page, on any device; Ctrl-C stops it.
 */
async function deviceLogin(client: LatchkeyClient, scope: string, io: SampleIO): Promise<TokenSet> {
  const a = await client.deviceAuthorization({ scope });
  const minutes = Math.max(1, Math.round(a.expiresIn / 60));
  io.err(
    `To sign in, open ${a.verificationUri} on any device and enter the code:\n\n    ${a.userCode}\n\n` +
      (a.verificationUriComplete ? 'Or open this URL, which has the code in it:\n' : ''),
  );
  if (a.verificationUriComplete) io.out(`${a.verificationUriComplete}\n`);
  io.onAuthorizeUrl?.(a.verificationUriComplete ?? a.verificationUri);
  io.err(`Waiting for the approval (the code expires in ${minutes} minute${minutes === 1 ? '' : 's'})…\n`);
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  try {
    return await client.pollDeviceToken(a, { signal: ac.signal });
  } finally {
    process.off('SIGINT', stop);
  }
}

/** Stores the tokens of a sign-in and says who signed in (with --dpop: the binding too). */
async function saveLogin(
  opts: { issuer: string; clientId: string },
  io: SampleIO,
  key: DpopKey | undefined,
  tokens: TokenSet,
): Promise<StoredSession> {
  const store = new FileTokenStore(io.configDir);
  const session = toStored(
    opts.issuer,
    opts.clientId,
    tokens,
    key ? await key.exportPrivateJwk() : undefined,
  );
  await store.save(session);
  io.err(`Signed in${session.subject ? ` as ${session.subject}` : ''}; tokens saved to ${store.path}\n`);
  if (key) {
    const jkt = boundThumbprint(tokens.accessToken);
    io.err(`token_type: ${tokens.tokenType}\n`);
    if (tokens.tokenType !== 'DPoP')
      io.err('Warning: the server did not bind the tokens to the DPoP key (it answered Bearer).\n');
    else {
      io.err(`cnf.jkt: ${jkt ?? '(not in the access token)'}\n`);
      if (jkt !== undefined && jkt !== key.thumbprint)
        throw new LatchkeyError('LATCHKEY_DPOP_ERROR', 'the access token is bound to another key than ours');
    }
  }
  return session;
}

/** A valid access token from the store, refreshed (and stored again) when it is about to expire. */
export async function currentSession(io: SampleIO = defaultIO, now = Date.now): Promise<StoredSession> {
  const store = new FileTokenStore(io.configDir);
  const session = await store.load();
  if (!session)
    throw new LatchkeyError('LATCHKEY_NOT_LOGGED_IN', 'not signed in; run `latchkey login` first');
  if (session.expiresAt === undefined || session.expiresAt - REFRESH_MARGIN_MS > now()) return session;
  // Refresh under the file lock, and re-read first: another process may have refreshed already.
  return store.withLock(async () => {
    const latest = (await store.load()) ?? session;
    // Someone else refreshed while we waited for the lock.
    if (latest.accessToken !== session.accessToken) return latest;
    if (latest.expiresAt !== undefined && latest.expiresAt - REFRESH_MARGIN_MS > now()) return latest;
    if (!latest.refreshToken)
      throw new LatchkeyError(
        'LATCHKEY_NOT_LOGGED_IN',
        'the access token has expired; run `latchkey login` again',
      );
    const client = await sessionClient(latest);
    const refreshed = await client.refresh(latest.refreshToken);
    const next = toStored(
      latest.issuer,
      latest.clientId,
      refreshed,
      latest.dpopKey ? (latest.dpopKey as JWK) : undefined,
    );
    if (!next.subject && latest.subject) next.subject = latest.subject;
    if (!refreshed.idToken && latest.idToken) next.idToken = latest.idToken;
    await store.save(next);
    return next;
  });
}

export async function runWhoami(io: SampleIO = defaultIO): Promise<Record<string, unknown>> {
  const session = await currentSession(io);
  const client = await sessionClient(session);
  const info = await client.userinfo(session.accessToken, {
    tokenType: session.tokenType === 'DPoP' ? 'DPoP' : 'Bearer',
    ...(session.subject ? { expectedSubject: session.subject } : {}),
  });
  io.out(`${JSON.stringify(info, null, 2)}\n`);
  return info;
}

export async function runLogout(io: SampleIO = defaultIO): Promise<void> {
  const store = new FileTokenStore(io.configDir);
  const session = await store.load();
  if (!session) {
    io.err('Not signed in.\n');
    return;
  }
  try {
    const client = await LatchkeyClient.discover({ issuer: session.issuer, clientId: session.clientId });
    if (client.metadata.revocation_endpoint) {
      // The refresh token first: revoking it ends the whole grant on the server.
      if (session.refreshToken) await client.revoke(session.refreshToken, { tokenTypeHint: 'refresh_token' });
      await client.revoke(session.accessToken, { tokenTypeHint: 'access_token' });
    } else {
      io.err('The server has no revocation endpoint; the tokens stay valid until they expire.\n');
    }
    if (client.metadata.end_session_endpoint && session.idToken) {
      io.err(
        `To end the browser session too, open:\n${client.logoutUrl({ idTokenHint: session.idToken })}\n`,
      );
    }
  } catch (err) {
    io.err(`Warning: could not revoke the tokens (${(err as Error).message}).\n`);
  } finally {
    await store.clear();
  }
  io.err('Signed out; local tokens removed.\n');
}

async function loginCommand(argv: string[]): Promise<void> {
  const { values } = parse(argv, {
    issuer: { type: 'string' },
    'client-id': { type: 'string' },
    scope: { type: 'string' },
    'no-browser': { type: 'boolean', default: false },
    dpop: { type: 'boolean', default: false },
    device: { type: 'boolean', default: false },
  });
  const issuer = checkIssuer(values.issuer);
  if (!values['client-id']) throw new UsageError('--client-id ID is required');
  if (values.scope !== undefined && values.scope.trim() === '')
    throw new UsageError('--scope must not be empty');
  await runLogin({
    issuer,
    clientId: values['client-id'],
    ...(values.scope ? { scope: values.scope } : {}),
    noBrowser: values['no-browser'] === true,
    dpop: values.dpop === true,
    device: values.device === true,
  });
}

async function tokenCommand(argv: string[]): Promise<void> {
  parse(argv, {});
  const session = await currentSession();
  process.stdout.write(`${session.accessToken}\n`);
}

async function whoamiCommand(argv: string[]): Promise<void> {
  parse(argv, {});
  await runWhoami();
}

async function logoutCommand(argv: string[]): Promise<void> {
  parse(argv, {});
  await runLogout();
}

/**
 * The sample API's resource identifier, when its URL is known before it listens: a fixed port on
 * a loopback address (the default, 127.0.0.1:8081). Elsewhere clients' URL is not known here.
 */
function sampleApiResource(host: string, port: number): string | undefined {
  if (port === 0) return undefined;
  if (host === 'localhost' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) return `http://${host}:${port}`;
  if (host === '::1') return `http://[::1]:${port}`;
  return undefined;
}

async function sampleApiCommand(argv: string[]): Promise<void> {
  const { values } = parse(argv, {
    issuer: { type: 'string' },
    audience: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
  });
  const issuer = checkIssuer(values.issuer);
  const port = values.port === undefined ? 8081 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port must be 0–65535');
  if (values.audience !== undefined && values.audience === '')
    throw new UsageError('--audience must not be empty');
  const host = values.host ?? '127.0.0.1';
  const resource = sampleApiResource(host, port);
  const app = buildSampleApi({
    issuer,
    ...(values.audience ? { audience: values.audience } : {}),
    ...(resource ? { resource } : {}),
  });
  const address = await app.listen({ port, host });
  process.stdout.write(
    `Sample API on ${address} (issuer ${issuer}, audience ${values.audience ?? 'api://default'})\n` +
      `  GET ${address}/hello    any valid access token\n  GET ${address}/profile  needs scope "profile"\n` +
      `  GET ${address}/mfa      needs a sign-in with a second factor (RFC 9470 step-up)\n` +
      (resource ? `  GET ${protectedResourceMetadataUrl(resource)}  its metadata (RFC 9728)\n` : ''),
  );
  const stop = () => {
    void app.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** The sample app's commands talk to a terminal and a browser: they use the process's streams. */
export const sampleCommands: Record<string, (argv: string[]) => Promise<void>> = {
  login: loginCommand,
  whoami: whoamiCommand,
  token: tokenCommand,
  logout: logoutCommand,
  'sample-api': sampleApiCommand,
};

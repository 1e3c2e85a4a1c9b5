/**
 * `latchkey serve --demo`: demo data on an empty database (a native application and a user),
 * then, at every start, a banner with a fresh authorize URL and its code verifier, the token
 * request as curl, and where the admin console is. Development only, and it says so.
 */
import { randomBytes } from 'node:crypto';
import type { ServerContext } from '../context.js';
import { DEMO_CALLBACK_PATH, type DemoAttempts } from '../demo/attempts.js';
import { tokenCurl } from '../http/routes/demo.js';
import type { RunningServer } from '../server.js';
import type { Client } from '../storage/types.js';

export const DEMO_APP_NAME = 'Demo Native App';

const isLoopbackHost = (host: string) =>
  host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);

export async function runDemo(server: RunningServer, out: (s: string) => void): Promise<void> {
  if (!server.demo) throw new Error('the server was not started in demo mode');
  for (const line of await demoBanner(server.ctx, server.demo)) out(line);
}

/**
 * The demo data (made if the database is empty) and the banner's lines, with a fresh attempt in
 * `attempts`; `serve --workers` has one worker make them and the primary print them.
 */
export async function demoBanner(ctx: ServerContext, attempts: DemoAttempts): Promise<string[]> {
  const callback = `${ctx.config.issuer}${DEMO_CALLBACK_PATH}`;
  const lines: string[] = [];
  const say = (s: string) => lines.push(s);

  const app = await ensureDemoData(ctx, callback, say);
  if (app) sayHowToSignIn(ctx, attempts, app, callback, say);
  say('');
  say(`Admin console: ${ctx.config.issuer}/admin (an administrator signs in there; make one with`);
  say("  echo 'a good password' | npx latchkey users create --username admin --password-stdin --admin)");
  const banner: string[] = [];
  printBanner(ctx, lines, (l) => banner.push(l));
  return banner;
}

/**
 * The demo application: created with the demo user on an empty database, given this server's
 * callback page if it lacks it, or none when the database holds other data.
 */
async function ensureDemoData(
  ctx: ServerContext,
  callback: string,
  say: (s: string) => void,
): Promise<Client | undefined> {
  const [clients, users] = await Promise.all([ctx.storage.clients.list(), ctx.storage.users.list()]);
  let app = clients.find((c) => c.name === DEMO_APP_NAME);
  if (clients.length === 0 && users.length === 0) {
    const { client } = await ctx.clients.create({
      name: DEMO_APP_NAME,
      type: 'native',
      // Latchkey's own demo page, a loopback URI (any port, RFC 8252 §7.3) for native tools, and
      // a private-use scheme (RFC 8252 §7.1).
      redirectUris: [callback, 'http://127.0.0.1/callback', 'com.latchkey.demo:/callback'],
      postLogoutRedirectUris: ['http://127.0.0.1/logged-out'],
    });
    const password = randomBytes(12).toString('base64url');
    const user = await ctx.users.create({
      username: 'demo',
      name: 'Demo User',
      email: 'demo@example.com',
      password,
    });
    await ctx.audit.record('client_created', { clientId: client.clientId, detail: { via: 'demo' } });
    await ctx.audit.record('user_created', { userId: user.id, detail: { via: 'demo' } });
    app = client;
    say('Created demo data:');
    say(`  application : ${DEMO_APP_NAME} (native, PKCE), client_id ${client.clientId}`);
    say(`  redirect URIs: ${callback}, http://127.0.0.1/callback (any port), com.latchkey.demo:/callback`);
    say(`  user        : demo   password: ${password}`);
  } else if (app) {
    if (!app.redirectUris.includes(callback)) {
      // A demo application from an older version, or another issuer: give it this page too.
      const updated = await ctx.clients.update(app.clientId, {
        redirectUris: [callback, ...app.redirectUris],
      });
      await ctx.audit.record('client_updated', {
        clientId: app.clientId,
        detail: { via: 'demo', fields: ['redirect_uris'] },
      });
      app = updated?.client ?? app;
    }
    say(`Demo data from an earlier start: client_id ${app.clientId} (${DEMO_APP_NAME}), user demo.`);
    say('  The demo password was shown once, at the first start. To set a new one:');
    say("    echo 'a new password' | npx latchkey users set-password demo --password-stdin");
    say('  or stop the server, delete the data folder (./data) and start again.');
  } else {
    say('The database is not empty and has no demo application, so no demo data was created.');
  }
  return app;
}

/** A fresh authorize URL with its code verifier, and the token request it leads to. */
function sayHowToSignIn(
  ctx: ServerContext,
  attempts: DemoAttempts,
  app: Client,
  callback: string,
  say: (s: string) => void,
): void {
  const attempt = attempts.start();
  attempts.clientId = app.clientId;
  const url = new URL(`${ctx.config.issuer}/authorize`);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: app.clientId,
    redirect_uri: callback,
    scope: 'openid profile email offline_access',
    state: attempt.state,
    nonce: attempt.nonce,
    code_challenge: attempt.challenge,
    code_challenge_method: 'S256',
  }).toString();
  say('');
  say('1. Open this URL in a browser and sign in as demo:');
  say(`  ${url.toString()}`);
  say(`  code_verifier for the token exchange: ${attempt.verifier}`);
  say(`2. Latchkey redirects to ${callback}, which shows the code, this exchange`);
  say('   (CODE is the code it shows) and a button that does it:');
  for (const l of tokenCurl({
    issuer: ctx.config.issuer,
    clientId: app.clientId,
    code: 'CODE',
    verifier: attempt.verifier,
    redirectUri: callback,
  }).split('\n'))
    say(`  ${l}`);
}

/** The lines between two bars, under the development-only warning (louder off loopback). */
function printBanner(ctx: ServerContext, lines: string[], out: (s: string) => void): void {
  const bar = '='.repeat(78);
  out(bar);
  out('DEMO MODE — demo data and an http issuer are for DEVELOPMENT ONLY. Never use --demo in production.');
  if (!isLoopbackHost(ctx.config.host)) {
    out(
      `WARNING: listening on ${ctx.config.host}: this demo server, with its published demo password, is reachable from other hosts.`,
    );
  }
  for (const l of lines) out(l);
  out(bar);
}

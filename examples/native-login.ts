/**
 * A native/CLI app signing in with `latchkey/client` (RFC 8252: system browser + loopback redirect).
 * Register the app as "native" with redirect URI `http://127.0.0.1/callback` (any port is then allowed).
 *
 *   npx tsx examples/native-login.ts http://localhost:3000 <client_id>
 *
 * Outside this repository import from 'latchkey/client' instead of the relative path.
 */
import { LatchkeyClient, LatchkeyError, startLoopbackReceiver } from '../src/client/index.js';

const [issuer, clientId] = process.argv.slice(2);
if (!issuer || !clientId) {
  console.error('usage: native-login.ts ISSUER CLIENT_ID');
  process.exit(2);
}

try {
  const client = await LatchkeyClient.discover({ issuer, clientId });
  const state = crypto.randomUUID();
  const receiver = await startLoopbackReceiver({ expectedState: state, timeoutMs: 120_000 });
  const request = await client.createAuthorizationRequest({
    redirectUri: receiver.redirectUri,
    scope: 'openid profile offline_access',
    state,
  });
  console.log(`Open this URL to sign in:\n${request.url}`);
  const tokens = await client.completeAuthorization(await receiver.wait(), request);
  console.log('Signed in as', tokens.idTokenClaims?.sub, 'scope', tokens.scope);

  if (tokens.refreshToken) {
    const refreshed = await client.refresh(tokens); // rotated refresh token in refreshed.refreshToken
    console.log('Refreshed; new access token expires at', new Date(refreshed.expiresAt ?? 0).toISOString());
    await client.revoke(refreshed.refreshToken!, { tokenTypeHint: 'refresh_token' });
  }
} catch (err) {
  if (err instanceof LatchkeyError) {
    console.error(`${err.code}: ${err.message}${err.error ? ` [server error ${err.error}]` : ''}`);
    process.exit(1);
  }
  throw err;
}

/**
 * A device without a browser signing in with `latchkey/client` (RFC 8628, the device
 * authorization grant): it shows a code, the person approves it at /device on any other device.
 * Register the app as "native" with the grant: `latchkey clients create --name TV --type native
 * --grant device_code` (no redirect URI needed).
 *
 *   npx tsx examples/device-login.ts http://localhost:3000 <client_id>
 *
 * Outside this repository import from 'latchkey/client' instead of the relative path.
 */
import { LatchkeyClient, LatchkeyError } from '../src/client/index.js';

const [issuer, clientId] = process.argv.slice(2);
if (!issuer || !clientId) {
  console.error('usage: device-login.ts ISSUER CLIENT_ID');
  process.exit(2);
}

const stop = new AbortController();
process.once('SIGINT', () => stop.abort());
try {
  const client = await LatchkeyClient.discover({ issuer, clientId });
  const auth = await client.deviceAuthorization({ scope: 'openid profile offline_access' });
  console.log(`Open ${auth.verificationUri} and enter the code ${auth.userCode}`);
  if (auth.verificationUriComplete) console.log(`(or open ${auth.verificationUriComplete})`);
  const tokens = await client.pollDeviceToken(auth, { signal: stop.signal });
  console.log('Signed in as', tokens.idTokenClaims?.sub, 'scope', tokens.scope);
} catch (err) {
  if (err instanceof LatchkeyError && err.code === 'LATCHKEY_ACCESS_DENIED') console.error('Denied.');
  else if (err instanceof LatchkeyError && err.code === 'LATCHKEY_EXPIRED_TOKEN')
    console.error('The code expired; run again.');
  else if (err instanceof LatchkeyError) console.error(`${err.code}: ${err.message}`);
  else throw err;
  process.exitCode = 1;
}

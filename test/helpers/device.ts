/**
 * Device applications (RFC 8628) for tests: registered as an administrator registers one
 * (ClientAdmin, as `latchkey clients create --grant device_code`): public with no redirect URI,
 * or confidential, allowed the device grant.
 */
import assert from 'node:assert/strict';
import { DEVICE_CODE_GRANT } from '../../src/protocol/device.js';
import type { Client } from '../../src/storage/types.js';
import { type Browser, formOf, type Step } from './browser.js';
import { PASSWORD, type TestServer } from './server.js';

export async function createDeviceClient(
  server: TestServer,
  opts: { name?: string; confidential?: boolean; allowedApis?: Client['allowedApis'] } = {},
): Promise<{ clientId: string; secret?: string }> {
  const { client, secret } = await server.ctx.clients.create({
    name: opts.name ?? 'Living Room TV',
    type: opts.confidential ? 'web' : 'native',
    redirectUris: opts.confidential ? ['https://box.example.com/callback'] : [],
    addGrants: [DEVICE_CODE_GRANT],
    ...(opts.allowedApis ? { allowedApis: opts.allowedApis } : {}),
  });
  return { clientId: client.clientId, ...(secret ? { secret } : {}) };
}

/**
 * The person's side in `browser`: the code form (prefilled from verification_uri_complete),
 * the sign-in when the browser has no session, the confirmation page (checked to show the
 * user code), then `decision`. Returns the last step and the confirmation page.
 */
export async function approveInBrowser(
  browser: Browser,
  codes: { user_code: string; verification_uri_complete: string },
  decision: 'allow' | 'deny' | 'cancel' = 'allow',
  opts: { username?: string; password?: string } = {},
): Promise<{ final: Step; confirmation?: string; signedIn: boolean }> {
  const form = await browser.get(codes.verification_uri_complete);
  assert.equal(form.status, 200, form.body.slice(0, 300));
  assert.ok(form.body.includes(`value="${codes.user_code}"`), 'the code is prefilled');
  let step = await browser.post('/device', { csrf: formOf(form.body).csrf, user_code: codes.user_code });
  let confirmation: string | undefined;
  let signedIn = false;
  for (let i = 0; i < 6; i++) {
    if (step.status !== 303 || !step.location?.startsWith('/interaction/')) break;
    const page = await browser.get(step.location);
    if (page.status !== 200) return { final: page, signedIn };
    const { csrf, actions } = formOf(page.body);
    if (page.body.includes('name="password"')) {
      signedIn = true;
      if (decision === 'cancel') {
        step = await browser.post(actions.find((a) => a.endsWith('/cancel'))!, { csrf });
        break;
      }
      step = await browser.post(actions.find((a) => a.endsWith('/login'))!, {
        csrf,
        username: opts.username ?? 'alice',
        password: opts.password ?? PASSWORD,
      });
    } else {
      confirmation = page.body;
      step = await browser.post(actions.find((a) => a.endsWith('/consent'))!, {
        csrf,
        decision: decision === 'cancel' ? 'deny' : decision,
      });
    }
  }
  return { final: step, signedIn, ...(confirmation !== undefined ? { confirmation } : {}) };
}

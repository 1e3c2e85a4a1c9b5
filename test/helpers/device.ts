/**
 * Device applications (RFC 8628) for tests: registered as an administrator registers one
 * (ClientAdmin, as `latchkey clients create --grant device_code`): public with no redirect URI,
 * or confidential, allowed the device grant.
 */
import { DEVICE_CODE_GRANT } from '../../src/protocol/device.js';
import type { Client } from '../../src/storage/types.js';
import type { TestServer } from './server.js';

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

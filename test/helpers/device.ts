/**
 * Device applications (RFC 8628) for tests: registered as an administrator would register one,
 * public with no redirect URI (or confidential), allowed the device grant.
 */
import { DEVICE_CODE_GRANT } from '../../src/protocol/device.js';
import type { Client } from '../../src/storage/types.js';
import type { TestServer } from './server.js';

export async function createDeviceClient(
  server: TestServer,
  opts: { name?: string; confidential?: boolean; allowedApis?: Client['allowedApis'] } = {},
): Promise<{ clientId: string; secret?: string }> {
  // ClientAdmin.build wants a redirect URI for a native app and grants no device grant (the
  // CLI's --grant device_code is not there yet): the client it builds is adjusted and stored.
  const built = server.ctx.clients.build({
    name: opts.name ?? 'Living Room TV',
    type: opts.confidential ? 'web' : 'native',
    redirectUris: ['http://127.0.0.1/callback'],
  });
  const client: Client = {
    ...built.client,
    redirectUris: opts.confidential ? built.client.redirectUris : [],
    grantTypes: [DEVICE_CODE_GRANT, 'refresh_token'],
    ...(opts.allowedApis ? { allowedApis: opts.allowedApis } : {}),
  };
  await server.ctx.storage.clients.create(client);
  return { clientId: client.clientId, ...(built.secret ? { secret: built.secret } : {}) };
}

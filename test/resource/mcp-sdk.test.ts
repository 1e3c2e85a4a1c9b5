/**
 * The Model Context Protocol's own SDK, at its defaults, against Latchkey and the example MCP
 * server (examples/mcp-server.ts): the client gets 401 with resource_metadata, reads the RFC 9728
 * document, discovers Latchkey (RFC 8414), sends the person to /authorize with PKCE S256 and
 * `resource` (RFC 8707), exchanges the code, and calls a tool with a token whose `aud` is the MCP
 * server. A token for another API is refused by the MCP server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import { decodeJwt } from 'jose';
import { type RunningMcpServer, startMcpServer } from '../../examples/mcp-server.js';
import { authorizeThroughBrowser, Browser } from '../helpers/browser.js';
import { withServer } from '../helpers/flow.js';

const REDIRECT = 'http://127.0.0.1:51999/callback';

/** What an MCP host keeps for one server: client registration, tokens, the PKCE verifier. */
class MemoryProvider implements OAuthClientProvider {
  authorizationUrl: URL | undefined;
  #tokens: OAuthTokens | undefined;
  #verifier = '';
  constructor(private info: OAuthClientInformationMixed | undefined) {}
  get redirectUrl() {
    return REDIRECT;
  }
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'MCP test host',
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  clientInformation() {
    return this.info;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.info = info;
  }
  tokens() {
    return this.#tokens;
  }
  saveTokens(tokens: OAuthTokens) {
    this.#tokens = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(v: string) {
    this.#verifier = v;
  }
  codeVerifier() {
    return this.#verifier;
  }
}

/**
 * The MCP host's whole journey, as the SDK runs it: connect → 401 → metadata → (registration) →
 * the person at /authorize → code → token → tools/list and tools/call.
 */
async function signInAndCallTool(
  s: ReturnType<typeof withServer>,
  mcp: RunningMcpServer,
  provider: MemoryProvider,
): Promise<void> {
  const first = new StreamableHTTPClientTransport(new URL(mcp.url), { authProvider: provider });
  const client = new Client({ name: 'test-host', version: '1.0.0' });
  await assert.rejects(client.connect(first), /Unauthorized/i);
  const url = provider.authorizationUrl;
  assert.ok(url, 'the SDK sent the person to the authorization endpoint');
  assert.equal(`${url.origin}${url.pathname}`, `${s.server.issuer}/authorize`);
  assert.equal(url.searchParams.get('resource'), mcp.url, 'RFC 8707 resource = the MCP server');
  assert.equal(url.searchParams.get('code_challenge_method'), 'S256');

  const final = await authorizeThroughBrowser(new Browser(s.server.url), url.toString());
  assert.ok(final.location?.startsWith(REDIRECT), final.location ?? final.body.slice(0, 300));
  const callback = new URL(final.location!);
  assert.equal(callback.searchParams.get('iss'), s.server.issuer, 'RFC 9207 iss');
  await first.finishAuth(callback.searchParams.get('code')!);
  const tokens = provider.tokens();
  assert.ok(tokens?.access_token);
  assert.equal(decodeJwt(tokens.access_token).aud, mcp.url);
  // The SDK asked for the scope the server's metadata lists, which its tools require.
  assert.match(String(decodeJwt(tokens.access_token)['scope']), /(^| )notes:read( |$)/);

  const connected = new Client({ name: 'test-host', version: '1.0.0' });
  await connected.connect(new StreamableHTTPClientTransport(new URL(mcp.url), { authProvider: provider }));
  const tools = await connected.listTools();
  assert.deepEqual(
    tools.tools.map((t) => t.name),
    ['whoami'],
  );
  const result = await connected.callTool({ name: 'whoami', arguments: {} });
  const text = (result.content as { type: string; text: string }[])[0]!.text;
  assert.equal(JSON.parse(text).sub, s.user.id);
  await connected.close();
}

describe('MCP SDK client → MCP server protected by latchkey/resource → Latchkey', () => {
  const s = withServer({ users: ['alice'] });
  let mcp: RunningMcpServer;
  let clientId: string;

  before(async () => {
    mcp = await startMcpServer({ issuer: s.server.issuer, port: 0 });
    await s.server.ctx.apis.create({
      identifier: mcp.url,
      name: 'Notes MCP',
      scopes: [{ value: 'notes:read', description: 'Read your notes' }],
    });
    const { client } = await s.server.ctx.clients.create({
      name: 'MCP host',
      type: 'native',
      redirectUris: ['http://127.0.0.1/callback'],
      allowedApis: [{ identifier: mcp.url, scopes: null }],
    });
    clientId = client.clientId;
  });
  after(async () => mcp?.close());

  it('signs in through the SDK auth flow and calls a tool (a pre-registered client)', async () => {
    await signInAndCallTool(s, mcp, new MemoryProvider({ client_id: clientId }));
  });

  it('refuses a token for another API with 401 and resource_metadata', async () => {
    const { client, secret } = await s.server.ctx.clients.create({ name: 'svc', type: 'service' });
    const tok = await fetch(`${s.server.url}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${client.clientId}:${secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    });
    const defaultToken = ((await tok.json()) as { access_token: string }).access_token;
    const r = await fetch(mcp.url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${defaultToken}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    assert.equal(r.status, 401);
    const challenge = r.headers.get('www-authenticate') ?? '';
    assert.match(challenge, /error="invalid_token"/);
    assert.match(
      challenge,
      /resource_metadata="http:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource\/mcp"/,
    );
  });
});

describe('MCP SDK client that registers itself (RFC 7591) → MCP server → Latchkey', () => {
  const s = withServer({ users: ['alice'], overrides: { registration: 'open' } });
  let mcp: RunningMcpServer;
  before(async () => {
    mcp = await startMcpServer({ issuer: s.server.issuer, port: 0 });
    // Self-registered clients reach an API only when it allows them (always with consent).
    await s.server.ctx.apis.create({
      identifier: mcp.url,
      name: 'Notes MCP',
      scopes: [{ value: 'notes:read', description: 'Read your notes' }],
      allowDynamicClients: true,
    });
  });
  after(async () => mcp?.close());

  it('discovers Latchkey from the 401, registers, signs in with consent and calls a tool', async () => {
    const provider = new MemoryProvider(undefined);
    await signInAndCallTool(s, mcp, provider);
    const info = provider.clientInformation() as { client_id: string };
    const client = await s.server.ctx.storage.clients.get(info.client_id);
    assert.equal(client?.registration, 'dynamic', 'the SDK registered it at /register');
    assert.equal(client?.consent, 'required');
  });

  it('without allow-dynamic-clients the API is out of reach: invalid_target', async () => {
    await s.server.ctx.apis.update(mcp.url, { allowDynamicClients: false });
    const provider = new MemoryProvider(undefined);
    const transport = new StreamableHTTPClientTransport(new URL(mcp.url), { authProvider: provider });
    await assert.rejects(new Client({ name: 'h', version: '1' }).connect(transport), /Unauthorized/i);
    const final = await authorizeThroughBrowser(
      new Browser(s.server.url),
      provider.authorizationUrl!.toString(),
    );
    assert.equal(new URL(final.location!).searchParams.get('error'), 'invalid_target');
    await s.server.ctx.apis.update(mcp.url, { allowDynamicClients: true });
  });
});

/**
 * A Model Context Protocol server (Streamable HTTP) whose tools need a Latchkey access token,
 * as the MCP authorization spec describes it: the server is an OAuth protected resource
 * (RFC 9728 metadata naming Latchkey as its authorization server), a request without a valid
 * token gets 401 with `resource_metadata` in WWW-Authenticate, and a token is accepted only when
 * its `aud` is this server's URL (RFC 8707: MCP clients send `resource`).
 *
 * Register the server as an API first, so Latchkey issues tokens for it:
 *
 *   npx latchkey apis create --identifier http://127.0.0.1:8090/mcp --name "Notes MCP" \
 *     --scope notes:read="Read your notes" --allow-dynamic-clients
 *   [PORT=8090] npx tsx examples/mcp-server.ts http://localhost:3000
 *
 * Outside this repository import from 'latchkey/resource' instead of the relative path.
 */
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import express from 'express';
import {
  createVerifier,
  expressProtectedResource,
  expressRequireToken,
  protectedResourceMetadataUrl,
  type RequestWithAuth,
} from '../src/resource/index.js';

/** The scope the tools need (register it on the API: --scope notes:read="Read your notes"). */
export const NOTES_SCOPE = 'notes:read';

export interface McpExampleOptions {
  /** Latchkey's issuer identifier. */
  issuer: string;
  /** 0: any free port. */
  port?: number;
}

export interface RunningMcpServer {
  /** The MCP endpoint, also the API identifier its tokens carry as `aud`. */
  url: string;
  close(): Promise<void>;
}

/** One MCP server per request (stateless Streamable HTTP), with a tool that reads the token. */
function notesServer(subject: string, scopes: string[]): McpServer {
  const server = new McpServer({ name: 'latchkey-notes', version: '1.0.0' });
  server.registerTool(
    'whoami',
    { description: 'Who the access token belongs to, and its scopes' },
    async () => ({ content: [{ type: 'text', text: JSON.stringify({ sub: subject, scopes }) }] }),
  );
  return server;
}

export async function startMcpServer(opts: McpExampleOptions): Promise<RunningMcpServer> {
  const app = express();
  const listening = app.listen(opts.port ?? 8090, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    listening.once('listening', resolve);
    listening.once('error', reject);
  });
  const url = `http://127.0.0.1:${(listening.address() as AddressInfo).port}/mcp`;
  const verifier = createVerifier({ issuer: opts.issuer, audience: url });
  // RFC 9728: where clients learn that Latchkey issues this server's tokens.
  app.use(
    expressProtectedResource({
      resource: url,
      authorizationServers: [opts.issuer],
      resourceName: 'Notes',
      scopesSupported: [NOTES_SCOPE],
    }),
  );
  // The audience alone is not enough: the tools need this server's scope too.
  const guard = expressRequireToken(verifier, {
    resourceMetadataUrl: protectedResourceMetadataUrl(url),
    requiredScopes: [NOTES_SCOPE],
  });
  app.post('/mcp', express.json({ limit: '1mb' }), guard, async (req, res) => {
    const auth = (req as RequestWithAuth).auth!;
    const server = notesServer(auth.claims.sub, auth.scopes);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });
  // Stateless: no server-sent stream to resume and no session to end.
  for (const method of ['get', 'delete'] as const)
    app[method]('/mcp', guard, (_req, res) => {
      res.status(405).set('allow', 'POST').json({ error: 'method_not_allowed' });
    });
  return {
    url,
    close: () => new Promise<void>((resolve) => listening.close(() => resolve())),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const issuer = process.argv[2] ?? 'http://localhost:3000';
  const running = await startMcpServer({ issuer, port: Number(process.env['PORT'] ?? 8090) });
  console.log(`MCP server on ${running.url} (tokens from ${issuer})`);
}

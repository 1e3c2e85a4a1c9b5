/** The slice of node-oidc-provider's API that bench/peer-oidc-provider.ts uses (it ships no types). */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  interface BenchClient {
    grantTypeAllowed(type: string): boolean;
  }
  interface BenchCode {
    scopes: Set<string>;
  }
  interface BenchInteraction {
    uid: string;
    grantId?: string;
    params: Record<string, unknown>;
  }
  interface BenchGrant {
    addOIDCScope(scope: string): void;
    addResourceScope(resource: string, scope: string): void;
    save(): Promise<string>;
  }
  interface GrantClass {
    new (init: { accountId: string; clientId: string }): BenchGrant;
    find(id: string): Promise<BenchGrant | undefined>;
  }
  interface Configuration {
    /** A class: `new adapter(modelName)` per model (Session, Grant, AccessToken, …). */
    adapter?: new (
      model: string,
    ) => unknown;
    clients: Record<string, unknown>[];
    jwks: { keys: Record<string, unknown>[] };
    pkce: { required: () => boolean };
    features: Record<string, unknown>;
    cookies: { keys: string[] };
    claims: Record<string, string[]>;
    findAccount: (
      ctx: unknown,
      sub: string,
    ) => { accountId: string; claims: () => Record<string, unknown> } | undefined;
    interactions: { url: (ctx: unknown, interaction: { uid: string }) => string };
    issueRefreshToken: (ctx: unknown, client: BenchClient, code: BenchCode) => boolean;
    rotateRefreshToken: () => boolean;
    ttl: Record<string, number>;
  }

  export default class Provider {
    constructor(issuer: string, configuration: Configuration);
    Grant: GrantClass;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<BenchInteraction>;
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: Record<string, unknown>,
      opts?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
  }
}

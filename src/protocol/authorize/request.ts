/** The authorization request as it is checked, and as it is kept while the user signs in. */

import type { Client, ClientJwks } from '../../storage/types.js';
import { FAPI2_MAX_CODE_TTL_SEC, isFapi2 } from '../client-policy.js';
import type { Params } from '../params.js';
import type { ApiLookup, GrantedApi } from '../resources.js';

export type ResponseMode = 'query' | 'form_post';
export type Prompt = 'none' | 'login' | 'consent' | 'select_account';

/** What survives an interaction (serialised into the interactions table). */
export interface AuthorizationRequest {
  clientId: string;
  /** The redirect URI responses go to. */
  redirectUri: string;
  /** Whether the request named redirect_uri itself (then /token must repeat it). */
  redirectUriGiven: boolean;
  responseMode: ResponseMode;
  scopes: string[];
  state: string | null;
  nonce: string | null;
  codeChallenge: string | null;
  prompt: Prompt[];
  maxAge: number | null;
  loginHint: string | null;
  /** OIDC Core §3.1.2.1 `acr_values`, space-separated in order of preference (absent: none asked). */
  acrValues?: string[];
  /** The longest the code may live, when the application caps it (fapi2: 60 s). */
  codeTtlCapSec?: number;
  /** RFC 9449 §10: the DPoP key the code is bound to. */
  dpopJkt?: string;
  /**
   * RFC 8707: the APIs the request named (the default API when it named none), each with the
   * scopes granted for it. Absent in interactions stored before resources existed: the default.
   */
  apis?: GrantedApi[];
  /**
   * RFC 8628 §3.3: the sign-in is a person's approval of a device's request, not an
   * authorization request (http/routes/device.ts makes it; it never comes from a URL). The user
   * code (normalised) is shown on the confirmation page and names the device code decided.
   */
  device?: { userCode: string };
}

/** Mutable context the checks fill in, in order. */
export interface AuthorizeContext {
  params: Params;
  /**
   * Where the parameters come from: the front channel (`front`), a request_uri taken back from
   * /par (`pushed`), or the /par endpoint itself checking a request before it is kept (`par`).
   */
  via: 'front' | 'pushed' | 'par';
  client?: Client;
  /** /par: the thumbprint of the request's own DPoP proof (RFC 9449 §10.1). */
  proofJkt?: string;
  /** RFC 9449 §10: the key the code will be bound to (checkDpopJkt). */
  dpopJkt?: string;
  /** Set once the redirect URI is known good: from then on errors go back to the client. */
  redirectUri?: string;
  redirectUriGiven?: boolean;
  responseMode?: ResponseMode;
  scopes?: string[];
  codeChallenge?: string | null;
  prompt?: Prompt[];
  maxAge?: number | null;
  apis?: GrantedApi[];
}

export type AuthorizeCheck = (ctx: AuthorizeContext, deps: AuthorizeDeps) => void | Promise<void>;

export interface AuthorizeDeps {
  getClient(clientId: string): Promise<Client | undefined>;
  /** LATCHKEY_REQUIRE_PAR: every application's requests must come through /par. */
  requirePar: boolean;
  /** The registered APIs (RFC 8707 `resource`). */
  apis: ApiLookup;
  /** What request objects (RFC 9101) are checked against; without it they are not supported. */
  requestObjects?: {
    issuer: string;
    now(): number;
    keysOf(client: Client, opts: { refresh: boolean }): Promise<ClientJwks>;
  };
}

export function toRequest(ctx: AuthorizeContext): AuthorizationRequest {
  const p = ctx.params;
  return {
    clientId: ctx.client!.clientId,
    redirectUri: ctx.redirectUri!,
    redirectUriGiven: ctx.redirectUriGiven ?? false,
    responseMode: ctx.responseMode ?? 'query',
    scopes: ctx.scopes ?? [],
    state: p.get('state') ?? null,
    nonce: p.get('nonce') ?? null,
    codeChallenge: ctx.codeChallenge ?? null,
    prompt: ctx.prompt ?? [],
    maxAge: ctx.maxAge ?? null,
    loginHint: p.get('login_hint') ?? null,
    ...acrValuesOf(p.get('acr_values')),
    // FAPI 2.0 Security Profile, authorization server requirements: a fapi2 application's codes live at most 60 seconds.
    ...(isFapi2(ctx.client!) ? { codeTtlCapSec: FAPI2_MAX_CODE_TTL_SEC } : {}),
    ...(ctx.dpopJkt !== undefined ? { dpopJkt: ctx.dpopJkt } : {}),
    ...(ctx.apis !== undefined ? { apis: ctx.apis } : {}),
  };
}

/** At most 8 values of at most 128 characters: a longer list is no request anyone makes. */
function acrValuesOf(raw: string | undefined): { acrValues?: string[] } {
  const values = (raw ?? '')
    .split(' ')
    .filter((v) => v.length > 0 && v.length <= 128)
    .slice(0, 8);
  return values.length > 0 ? { acrValues: values } : {};
}

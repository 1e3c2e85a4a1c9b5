/**
 * `WWW-Authenticate` challenges (RFC 9110 §11.6.1) and the step-up challenge of RFC 9470 §3 in
 * them. The parser never throws: a header it cannot read gives fewer (or no) challenges, since
 * it comes from whatever server the app called. Browser-safe.
 *
 *   challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
 *   auth-param = token BWS "=" BWS ( token / quoted-string )
 *
 * Several challenges may share one header, separated by commas like the parameters; a token
 * followed by `=` is a parameter, any other token starts the next challenge.
 */
import { StepUpRequiredError } from './errors.js';

export interface AuthChallenge {
  /** The scheme as sent (compare case-insensitively: `Bearer`, `DPoP`, …). */
  scheme: string;
  /** Parameters by lower-cased name, quoted-strings unescaped; the first of a repeated name wins. */
  params: Record<string, string>;
  /** The token68 form (`Basic dXNlcg==`), instead of parameters. */
  token68?: string;
}

/** RFC 9110 §5.6.2 tchar. */
const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
/**
 * RFC 9110 §11.2 token68 at the current position, followed by the end or a comma (so `realm="x"`
 * or `error=invalid_token`, where an `=` is followed by more, are parameters).
 */
const TOKEN68 = /[A-Za-z0-9\-._~+/]+=*(?=[ \t]*(,|$))/y;
/** Longer headers are read up to here: no server needs more, and the parse stays cheap. */
const MAX_HEADER = 16 * 1024;

export function parseWwwAuthenticate(header: string | null | undefined): AuthChallenge[] {
  if (typeof header !== 'string') return [];
  const s = header.slice(0, MAX_HEADER);
  const out: AuthChallenge[] = [];
  let i = 0;
  const ws = () => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < s.length && TCHAR.test(s[i]!)) i++;
    return s.slice(start, i);
  };
  /** Past the next comma that is not inside a quoted-string (or to the end). */
  const skipItem = () => {
    let quoted = false;
    for (; i < s.length; i++) {
      const c = s[i];
      if (quoted && c === '\\') i++;
      else if (c === '"') quoted = !quoted;
      else if (!quoted && c === ',') break;
    }
    i++;
  };
  const quotedString = (): string => {
    let value = '';
    i++; // the opening quote
    while (i < s.length && s[i] !== '"') {
      // quoted-pair: a backslash stands for the character after it.
      if (s[i] === '\\' && i + 1 < s.length) i++;
      value += s[i];
      i++;
    }
    i++; // the closing quote (an unterminated string ends with the header)
    return value;
  };

  while (i < s.length) {
    while (i < s.length && (s[i] === ',' || s[i] === ' ' || s[i] === '\t')) i++;
    if (i >= s.length) break;
    const scheme = token();
    if (scheme === '') {
      skipItem();
      continue;
    }
    const challenge: AuthChallenge = { scheme, params: {} };
    out.push(challenge);
    ws();
    TOKEN68.lastIndex = i;
    const t68 = TOKEN68.exec(s);
    if (t68) {
      challenge.token68 = t68[0];
      i += t68[0].length;
      continue;
    }
    // The parameters, up to the end or the next challenge's scheme.
    while (i < s.length) {
      while (i < s.length && (s[i] === ',' || s[i] === ' ' || s[i] === '\t')) i++;
      const at = i;
      const name = token();
      if (name === '') {
        if (i < s.length) skipItem();
        continue;
      }
      ws();
      if (s[i] !== '=') {
        i = at; // a scheme: the next challenge begins here
        break;
      }
      i++;
      ws();
      const value = s[i] === '"' ? quotedString() : token();
      const key = name.toLowerCase();
      if (!Object.hasOwn(challenge.params, key)) challenge.params[key] = value;
      ws();
      if (i < s.length && s[i] !== ',') skipItem(); // junk after the value: to the next item
    }
  }
  return out;
}

/** What an RFC 9470 challenge asks for. */
export interface StepUpChallenge {
  /** The challenge's scheme: `Bearer`, or `DPoP` for a DPoP-bound token. */
  scheme: string;
  /** `acr_values`: the acceptable authentication context classes, in order of preference. */
  acrValues: string[];
  /** `max_age`: the oldest sign-in the resource accepts, in seconds. */
  maxAge: number | undefined;
  errorDescription: string | undefined;
}

/**
 * The first Bearer or DPoP challenge with `error="insufficient_user_authentication"` (RFC 9470
 * §3) in a `WWW-Authenticate` value, or undefined. A `max_age` that is not a non-negative
 * integer (as token or quoted-string) is left out rather than guessed at.
 */
export function parseStepUpChallenge(header: string | null | undefined): StepUpChallenge | undefined {
  for (const c of parseWwwAuthenticate(header)) {
    const scheme = c.scheme.toLowerCase();
    if (scheme !== 'bearer' && scheme !== 'dpop') continue;
    if (c.params['error'] !== 'insufficient_user_authentication') continue;
    const rawAge = c.params['max_age'];
    const maxAge = rawAge !== undefined && /^\d{1,15}$/.test(rawAge) ? Number(rawAge) : undefined;
    return {
      scheme: c.scheme,
      acrValues: (c.params['acr_values'] ?? '').split(' ').filter(Boolean),
      maxAge,
      errorDescription: c.params['error_description'],
    };
  }
  return undefined;
}

/**
 * The step-up an API's answer asks for: a StepUpRequiredError for a 401 with an RFC 9470
 * challenge, else undefined. The response itself is not read.
 */
export function stepUpRequired(res: Response): StepUpRequiredError | undefined {
  if (res.status !== 401) return undefined;
  const challenge = parseStepUpChallenge(res.headers.get('www-authenticate'));
  if (!challenge) return undefined;
  let url: string | undefined;
  try {
    const u = new URL(res.url);
    url = `${u.origin}${u.pathname}`; // no query: it may hold secrets
  } catch {
    url = undefined;
  }
  return new StepUpRequiredError(challenge, { status: res.status, ...(url ? { url } : {}) });
}

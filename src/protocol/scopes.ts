/** Scopes the server knows (OIDC Core §5.4); unknown values are ignored (OIDC Core §3.1.2.1). */
export const KNOWN_SCOPES = ['openid', 'profile', 'email', 'offline_access'] as const;

export const SCOPE_DESCRIPTIONS: Record<string, string> = {
  openid: 'Sign you in with your account',
  profile: 'See your name and username',
  email: 'See your email address',
  offline_access: 'Stay signed in and access your data while you are away',
};

/** RFC 6749 §3.3: space-delimited; NQCHAR = %x21 / %x23-5B / %x5D-7E. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

export function parseScope(raw: string | undefined): string[] | undefined {
  if (raw === undefined) return [];
  const parts = raw.split(' ').filter((s) => s.length > 0);
  if (parts.some((p) => !SCOPE_TOKEN.test(p))) return undefined;
  return [...new Set(parts)];
}

/** Keeps only known scopes, in a stable order. */
export function knownScopes(requested: readonly string[]): string[] {
  return KNOWN_SCOPES.filter((s) => requested.includes(s));
}

export const scopeString = (scopes: readonly string[]): string => scopes.join(' ');

export const hasScope = (scope: string, wanted: string): boolean => scope.split(' ').includes(wanted);

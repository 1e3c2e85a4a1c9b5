/**
 * JSON that is exactly JSON (RFC 8259) and names each member once: JSON.parse keeps the last of
 * duplicated names silently (RFC 8259 §4 leaves it open), so a request whose two `redirect_uris`
 * are read differently by two parsers is refused instead (RFC 7591 §3.2.2 invalid_client_metadata).
 */
export class StrictJsonError extends Error {
  override name = 'StrictJsonError';
  constructor(
    message: string,
    /** `duplicate`: well-formed JSON naming a member twice; `malformed`: not JSON. */
    readonly kind: 'malformed' | 'duplicate' = 'malformed',
  ) {
    super(message);
  }
}

const WS = new Set([' ', '\t', '\n', '\r']);
/** Deeper than any client metadata needs; a stack-exhaustion guard. */
const MAX_DEPTH = 20;

/** Parses `text`; throws StrictJsonError (malformed, or a member named twice in one object). */
export function parseStrictJson(text: string): unknown {
  let i = 0;
  const skip = () => {
    while (i < text.length && WS.has(text[i]!)) i++;
  };
  const fail = (what: string, kind: 'malformed' | 'duplicate' = 'malformed'): never => {
    throw new StrictJsonError(`${what} at character ${i}`, kind);
  };
  const string = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') i++;
      else if (text.charCodeAt(i) < 0x20) fail('a control character in a string');
      i++;
    }
    if (i >= text.length) fail('an unterminated string');
    i++;
    try {
      return JSON.parse(text.slice(start, i)) as string;
    } catch {
      return fail('a malformed string');
    }
  };
  const value = (depth: number): void => {
    if (depth > MAX_DEPTH) fail('nesting too deep');
    skip();
    const c = text[i];
    if (c === '{') {
      i++;
      const names = new Set<string>();
      skip();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        skip();
        if (text[i] !== '"') fail('a member name expected');
        const name = string();
        if (names.has(name)) fail(`the member "${name.slice(0, 40)}" given twice`, 'duplicate');
        names.add(name);
        skip();
        if (text[i] !== ':') fail('":" expected');
        i++;
        value(depth + 1);
        skip();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail('"," or "}" expected');
      }
    }
    if (c === '[') {
      i++;
      skip();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value(depth + 1);
        skip();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail('"," or "]" expected');
      }
    }
    if (c === '"') {
      string();
      return;
    }
    const m = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 400));
    if (!m) fail('a value expected');
    i += m![0].length;
  };
  value(0);
  skip();
  if (i !== text.length) fail('text after the JSON value');
  // The structure is checked; JSON.parse builds the value (the same grammar, so it agrees).
  return JSON.parse(text);
}

/**
 * Request logs: what they may say, and how they look.
 *
 * - Nothing secret in any line: a URL is logged with its path and the *names* of its query
 *   parameters only (codes, tokens, `id_token_hint`, `state`, verifiers travel in query strings);
 *   bodies and headers are never logged.
 * - JSON lines (pino) by default; on a terminal, for a development server (http issuer), one short
 *   line per request instead, so that the start-up banner stays readable.
 */
import type { FastifyServerOptions } from 'fastify';

type LoggerOption = FastifyServerOptions['logger'];

/** `/authorize?client_id=…&code_challenge=…`: the path and the parameter names, no values. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return url;
  const names = url
    .slice(q + 1)
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const name = p.split('=')[0] ?? '';
      return `${name.length > 64 ? `${name.slice(0, 64)}…` : name}=…`;
    });
  return `${url.slice(0, q)}?${names.join('&')}`;
}

interface LoggedRequest {
  method: string;
  url: string;
  ip?: string;
  hostname?: string;
}

/** pino serializers every Latchkey logger uses (http/app.ts adds them to any logger it is given). */
export const redactingSerializers = {
  req(req: LoggedRequest) {
    return { method: req.method, url: redactUrl(req.url), remoteAddress: req.ip };
  },
};

/** Adds the redacting serializers to a Fastify `logger` option (false stays false). */
export function withRedaction(logger: LoggerOption): LoggerOption {
  if (logger === undefined || logger === false) return false;
  if (logger === true) return { serializers: redactingSerializers };
  if (typeof logger === 'object' && 'serializers' in logger) {
    return { ...logger, serializers: { ...(logger.serializers ?? {}), ...redactingSerializers } };
  }
  if (typeof logger === 'object' && !('child' in logger)) {
    return { ...logger, serializers: redactingSerializers };
  }
  return logger;
}

export type LogFormat = 'json' | 'short';

/** `auto`: short lines on a terminal for an http (development) issuer; JSON otherwise. */
export function chooseLogFormat(setting: 'auto' | LogFormat, tty: boolean, issuer: string): LogFormat {
  if (setting !== 'auto') return setting;
  return tty && issuer.startsWith('http:') ? 'short' : 'json';
}

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

/**
 * A pino destination that turns its JSON lines into short ones: `14:03:22 GET /token 200 3.1ms`
 * for each answered request (the "incoming request" line is folded into it), `WARN message` for
 * the rest.
 */
export function shortLineStream(write: (line: string) => void): { write(chunk: string): void } {
  const pending = new Map<unknown, string>();
  return {
    write(chunk: string) {
      for (const raw of chunk.split('\n')) {
        if (raw.trim() === '') continue;
        let o: Record<string, unknown>;
        try {
          o = JSON.parse(raw) as Record<string, unknown>;
        } catch {
          write(`${raw}\n`);
          continue;
        }
        const time = new Date(typeof o['time'] === 'number' ? o['time'] : Date.now())
          .toTimeString()
          .slice(0, 8);
        const req = o['req'] as { method?: string; url?: string } | undefined;
        if (o['msg'] === 'incoming request' && req) {
          pending.set(o['reqId'], `${req.method ?? '?'} ${req.url ?? '?'}`);
          if (pending.size > 10_000) pending.delete(pending.keys().next().value);
          continue;
        }
        const res = o['res'] as { statusCode?: number } | undefined;
        if (o['msg'] === 'request completed' && res) {
          const what = pending.get(o['reqId']) ?? 'request';
          pending.delete(o['reqId']);
          const ms = typeof o['responseTime'] === 'number' ? ` ${o['responseTime'].toFixed(1)}ms` : '';
          write(`${time} ${what} ${res.statusCode ?? '?'}${ms}\n`);
          continue;
        }
        const level = LEVELS[Number(o['level'])] ?? 'LOG';
        const err = o['err'] as { message?: string } | undefined;
        const detail = typeof o['detail'] === 'string' ? ` (${o['detail']})` : '';
        write(
          `${time} ${level} ${String(o['msg'] ?? '')}${detail}${err?.message ? `: ${err.message}` : ''}\n`,
        );
      }
    },
  };
}

/** The `logger` option of `latchkey serve`. */
export function serveLogger(level: string, format: LogFormat): LoggerOption {
  if (level === 'silent') return false;
  if (format === 'json') return { level };
  const stream = shortLineStream((line) => process.stdout.write(line));
  return { level, stream };
}

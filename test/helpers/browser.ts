/**
 * A minimal cookie-keeping HTTP "browser" over real HTTP (fetch, no redirects followed), that
 * signs in through the server's actual HTML form, CSRF token and all.
 */
import assert from 'node:assert/strict';
import { PASSWORD } from './server.js';

export interface Step {
  status: number;
  location: string | null;
  body: string;
  headers: Headers;
}

export class Browser {
  readonly cookies = new Map<string, string>();
  constructor(readonly base: string) {}

  #absolute(url: string): string {
    return url.startsWith('http') ? url : this.base + url;
  }

  #store(headers: Headers): void {
    for (const c of headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (value === '' || /max-age=0/i.test(c) || /expires=Thu, 01 Jan 1970/i.test(c))
        this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  /** Keeps the response's cookies and reads it into a Step. */
  async #step(res: Response): Promise<Step> {
    this.#store(res.headers);
    return {
      status: res.status,
      location: res.headers.get('location'),
      body: await res.text(),
      headers: res.headers,
    };
  }

  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async get(url: string, headers: Record<string, string> = {}): Promise<Step> {
    const res = await fetch(this.#absolute(url), {
      redirect: 'manual',
      headers: { cookie: this.cookieHeader(), accept: 'text/html', ...headers },
    });
    return this.#step(res);
  }

  async post(url: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Step> {
    const res = await fetch(this.#absolute(url), {
      method: 'POST',
      redirect: 'manual',
      headers: {
        cookie: this.cookieHeader(),
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'text/html',
        ...headers,
      },
      body: new URLSearchParams(form).toString(),
    });
    return this.#step(res);
  }
}

/** Reads <input type="hidden" name="csrf" value="…"> and the form actions from a page. */
export function formOf(html: string): { csrf: string; actions: string[] } {
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
  assert.ok(csrf, 'page has a CSRF token');
  const actions = [...html.matchAll(/<form[^>]*action="([^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
  return { csrf, actions };
}

/**
 * Follows an authorize URL through sign-in (and consent when `consent` is given) and returns
 * the final redirect to the client (its Location) or the last step.
 */
export async function authorizeThroughBrowser(
  browser: Browser,
  authorizeUrl: string,
  opts: { username?: string; password?: string; consent?: 'allow' | 'deny' } = {},
): Promise<Step> {
  let step = await browser.get(authorizeUrl);
  for (let i = 0; i < 6; i++) {
    if (step.status !== 303 || !step.location) return step;
    if (!step.location.startsWith('/interaction/')) return step;
    const page = await browser.get(step.location);
    // Not the page (an error page, a 503 while the database is away): the caller judges it.
    if (page.status !== 200) return page;
    const { csrf, actions } = formOf(page.body);
    if (page.body.includes('name="password"')) {
      const login = actions.find((a) => a.endsWith('/login'))!;
      step = await browser.post(login, {
        csrf,
        username: opts.username ?? 'alice',
        password: opts.password ?? PASSWORD,
      });
    } else {
      const consent = actions.find((a) => a.endsWith('/consent'))!;
      step = await browser.post(consent, { csrf, decision: opts.consent ?? 'allow' });
    }
  }
  return step;
}

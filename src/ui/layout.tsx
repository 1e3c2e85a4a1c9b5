import type { ComponentChildren, VNode } from 'preact';
import { renderToString } from 'preact-render-to-string';

/** Every page goes through here: escaping is preact's, the stylesheet is our own. */
export function renderPage(node: VNode): string {
  return `<!doctype html>${renderToString(node)}`;
}

/** The head of every page: our own stylesheet only, no referrer. */
export function Head(props: { title: string }) {
  return (
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="referrer" content="no-referrer" />
      <title>{props.title}</title>
      <link rel="stylesheet" href="/assets/latchkey.css" />
    </head>
  );
}

export function Layout(props: {
  title: string;
  children: ComponentChildren;
  scriptNonce?: string;
  script?: string;
  /** Our own scripts by URL (same origin), loaded with the page's nonce. */
  scripts?: string[];
  /** A wider card (the account page's lists). */
  wide?: boolean;
}) {
  return (
    <html lang="en">
      <Head title={`${props.title} · Latchkey`} />
      <body>
        <main class={props.wide ? 'wide' : undefined}>
          <div class="brand" aria-hidden="true">
            <svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2">
              <rect x="4" y="10" width="16" height="11" rx="2" />
              <path d="M8 10V7a4 4 0 0 1 8 0v3" />
            </svg>
            Latchkey
          </div>
          {props.children}
        </main>
        {props.scriptNonce !== undefined
          ? (props.scripts ?? []).map((src) => <script nonce={props.scriptNonce} src={src} key={src} />)
          : null}
        {props.script !== undefined && props.scriptNonce !== undefined ? (
          <script nonce={props.scriptNonce} dangerouslySetInnerHTML={{ __html: props.script }} />
        ) : null}
      </body>
    </html>
  );
}

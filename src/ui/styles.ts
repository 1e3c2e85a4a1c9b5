/** The one stylesheet, served from /assets/latchkey.css (no third-party resources on auth pages). */
export const STYLESHEET = `
:root { color-scheme: light dark; --bg:#f4f5f7; --card:#fff; --fg:#1d2330; --muted:#5b6475; --accent:#2453d6; --accent-fg:#fff; --danger:#b42318; --border:#d5d9e0; }
@media (prefers-color-scheme: dark) { :root { --bg:#10131a; --card:#1a1f2b; --fg:#e8ebf1; --muted:#a3abbb; --accent:#6d8fff; --accent-fg:#0b0e14; --danger:#ff8a80; --border:#333a4a; } }
* { box-sizing: border-box; }
body { margin:0; min-height:100vh; display:flex; align-items:center; justify-content:center; background:var(--bg); color:var(--fg); font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; }
main { width:100%; max-width:400px; margin:24px; background:var(--card); border:1px solid var(--border); border-radius:12px; padding:32px; box-shadow:0 8px 24px rgba(0,0,0,.06); }
.brand { display:flex; align-items:center; gap:8px; font-weight:700; letter-spacing:.02em; color:var(--muted); font-size:14px; margin-bottom:16px; }
.brand svg { width:20px; height:20px; }
h1 { font-size:22px; margin:0 0 4px; }
p.lead { margin:0 0 24px; color:var(--muted); }
p.lead strong { color:var(--fg); }
label { display:block; font-weight:600; margin:16px 0 6px; }
input[type=text], input[type=password] { width:100%; padding:10px 12px; border:1px solid var(--border); border-radius:8px; font:inherit; background:transparent; color:inherit; }
input:focus-visible, button:focus-visible, a:focus-visible { outline:3px solid var(--accent); outline-offset:2px; }
button { font:inherit; font-weight:600; padding:10px 16px; border-radius:8px; border:1px solid var(--accent); background:var(--accent); color:var(--accent-fg); cursor:pointer; width:100%; margin-top:24px; }
button.secondary { background:transparent; color:var(--accent); border-color:var(--border); margin-top:12px; }
.row { display:flex; gap:12px; } .row button { margin-top:24px; }
.error { border:1px solid var(--danger); color:var(--danger); border-radius:8px; padding:10px 12px; margin:0 0 8px; }
ul.scopes { padding-left:20px; } ul.scopes li { margin:6px 0; }
.small { font-size:13px; color:var(--muted); margin-top:24px; }
code { font-size:13px; word-break:break-all; }
`;

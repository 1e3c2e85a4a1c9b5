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
section.consent-api h2 { font-size:1rem; margin:16px 0 0; } section.consent-api p.small { margin:2px 0 4px; word-break:break-all; }
.small { font-size:13px; color:var(--muted); margin-top:24px; }
code { font-size:13px; word-break:break-all; }
pre { white-space:pre-wrap; word-break:break-all; background:var(--bg); border:1px solid var(--border); border-radius:8px; padding:10px 12px; margin:0 0 12px; }
/* Admin console */
body.admin { display:block; }
.admin-bar { display:flex; flex-wrap:wrap; align-items:center; gap:16px; padding:12px 24px; background:var(--card); border-bottom:1px solid var(--border); }
.admin-bar nav { display:flex; gap:16px; flex:1; } .admin-bar a { color:var(--fg); text-decoration:none; } .admin-bar a[aria-current=page] { color:var(--accent); font-weight:600; }
.admin-bar .signout { display:flex; align-items:center; gap:8px; } .small-inline { font-size:13px; color:var(--muted); }
main.admin { max-width:1100px; margin:24px auto; } main.admin h2 { font-size:18px; margin:32px 0 8px; }
button.link { width:auto; margin:0; padding:4px 8px; background:transparent; color:var(--accent); border-color:var(--border); }
button.danger, a.danger { border-color:var(--danger); } button.danger { background:var(--danger); color:#fff; } a.danger { color:var(--danger); }
a.button { display:inline-block; padding:8px 14px; border-radius:8px; background:var(--accent); color:var(--accent-fg); text-decoration:none; font-weight:600; }
.title-row { display:flex; justify-content:space-between; align-items:center; gap:12px; }
table { width:100%; border-collapse:collapse; margin-top:16px; font-size:14px; } th, td { text-align:left; padding:8px; border-bottom:1px solid var(--border); vertical-align:top; }
table.audit code { font-size:12px; } table.audit td:nth-child(2) code, table.audit td:first-child { white-space:nowrap; word-break:normal; }
textarea, select, input[type=number], input[type=url], input[type=email] { width:100%; padding:10px 12px; border:1px solid var(--border); border-radius:8px; font:inherit; background:transparent; color:inherit; }
form.narrow { max-width:420px; } form.filter { display:flex; gap:12px; align-items:end; } form.filter button { width:auto; margin:0; } form.filter label { margin:0; white-space:nowrap; align-self:center; }
fieldset.types { border:0; padding:0; margin:0; } .choice { display:flex; gap:10px; font-weight:400; align-items:flex-start; } .small-block { display:block; font-size:13px; color:var(--muted); }
dl.facts { display:grid; grid-template-columns:max-content 1fr; gap:6px 16px; } dl.facts dt { font-weight:600; } dl.facts dd { margin:0; }
.notice { border:1px solid var(--accent); border-radius:8px; padding:10px 12px; } .warning { border:1px solid var(--danger); border-radius:8px; padding:10px 12px; color:var(--danger); } .warning p { margin:4px 0; }
.tag { margin-left:8px; font-size:12px; padding:1px 6px; border:1px solid var(--border); border-radius:6px; color:var(--muted); }
ul.cards { list-style:none; padding:0; display:flex; gap:16px; } ul.cards li a { display:block; padding:16px 20px; border:1px solid var(--border); border-radius:12px; color:var(--fg); text-decoration:none; }
/* Strong sign-in */
.divider { display:flex; align-items:center; gap:12px; color:var(--muted); font-size:13px; margin:20px 0 0; } .divider::before, .divider::after { content:""; flex:1; border-top:1px solid var(--border); }
.qr { display:flex; justify-content:center; margin:16px 0; } .qr svg { border-radius:8px; }
ol.codes { columns:2; font-family:ui-monospace,Menlo,monospace; padding-left:24px; } ol.codes li { padding:2px 0; break-inside:avoid; } ol.codes code { font-size:inherit; }
details { margin-top:16px; } summary { cursor:pointer; }
input.code { font-family:ui-monospace,Menlo,monospace; letter-spacing:.2em; }
p.user-code { font-family:ui-monospace,Menlo,monospace; font-size:28px; font-weight:700; letter-spacing:.15em; text-align:center; margin:8px 0 16px; }
.passkey-status:empty { display:none; }
section.account { margin-top:24px; } section.account h2 { font-size:18px; margin:0 0 8px; } ul.items { list-style:none; padding:0; margin:0; } ul.items li { display:flex; justify-content:space-between; align-items:center; gap:8px; padding:8px 0; border-bottom:1px solid var(--border); } ul.items form { margin:0; } ul.items button { margin:0; }
/* Account page */
main.wide { max-width:760px; }
section.account { border-top:1px solid var(--border); padding-top:16px; }
ul.items li > div:first-child { min-width:0; flex:1; } .meta { display:block; font-size:13px; color:var(--muted); } .meta.ua { word-break:break-all; font-size:12px; }
.actions { display:flex; gap:8px; align-items:center; flex-wrap:wrap; justify-content:flex-end; }
form.inline { display:flex; gap:8px; align-items:center; } form.inline input[type=text] { width:11em; padding:4px 8px; }
button.inline, a.button.inline { width:auto; margin-top:12px; } a.button.block { display:block; text-align:center; margin-top:24px; }
.title-row h1 { margin:0; } .title-row form { margin:0; } p.empty { color:var(--muted); }
`;

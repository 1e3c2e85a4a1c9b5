/**
 * Summarises a V8 .cpuprofile (from `npm run bench -- --profile --only latchkey`) by where the
 * self time goes: HTTP, SQL, hashing, signing, rendering, GC, idle, … and the top functions.
 *
 *   npx tsx bench/profile-summary.ts .tmp/bench/profile/CPU.*.cpuprofile [flows]
 *
 * With `flows` (the number of full flows the profiled run completed) it also prints µs per flow.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const [file, flowsArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: tsx bench/profile-summary.ts FILE.cpuprofile [flows]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const flows = flowsArg ? Number(flowsArg) : undefined;

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
profile.samples.forEach((id, i) => {
  self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});

/** Which part of the work a frame belongs to, from its script and name. */
function category({ url, functionName: fn }: CallFrame): string {
  if (fn === '(idle)') return 'idle';
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(program)') return 'V8/native (program)';
  if (/fast-jwt|[\\/]tokens[\\/]mint|jose|node:internal\/crypto\/sig/.test(url)) return 'JWT signing (RS256)';
  if (/better-sqlite3|kysely|[\\/]storage[\\/]/.test(url)) return 'SQL (kysely + better-sqlite3)';
  if (/argon2|passwords/.test(url)) return 'password hashing';
  if (
    /node:internal\/crypto|createHash|randomBytes|[\\/]crypto\.ts/.test(url) ||
    /^(digest|update|createHash)$/.test(fn)
  )
    return 'hashing / random';
  if (/preact|[\\/]ui[\\/]/.test(url)) return 'HTML rendering';
  if (
    /fastify|avvio|find-my-way|light-my-request|@fastify|fast-json-stringify|secure-json-parse|pino/.test(url)
  )
    return 'HTTP framework (fastify)';
  if (
    /node:_http|node:http|node:net|node:internal\/(http|stream|streams|net)|node:stream|llhttp/.test(url) ||
    /^(writev|writeUtf8String|writeBuffer)$/.test(fn)
  )
    return 'HTTP (node:http / sockets)';
  if (/[\\/]src[\\/]|[\\/]\.tmp[\\/]bench[\\/]latchkey[\\/]/.test(url))
    return 'Latchkey code (protocol, routes, …)';
  if (/prom-client/.test(url)) return 'metrics (prom-client)';
  if (url === '') return 'native (unattributed)';
  if (/node:/.test(url)) return 'other node core';
  return 'other';
}

const categories = new Map<string, number>();
const functions = new Map<string, number>();
let total = 0;
for (const [id, us] of self) {
  const node = byId.get(id);
  if (!node) continue;
  total += us;
  const cat = category(node.callFrame);
  categories.set(cat, (categories.get(cat) ?? 0) + us);
  const short = node.callFrame.url.replace(/^.*node_modules[\\/]/, '').replace(/^.*[\\/]src[\\/]/, 'src/');
  const key = `${node.callFrame.functionName || '(anonymous)'}  ${short}:${node.callFrame.lineNumber + 1}`;
  functions.set(key, (functions.get(key) ?? 0) + us);
}
const busy = total - (categories.get('idle') ?? 0);
const pct = (us: number, of: number) => `${((us / of) * 100).toFixed(1)}%`.padStart(7);
const perFlow = (us: number) => (flows ? `${(us / flows).toFixed(0).padStart(7)} µs/flow` : '');

process.stdout.write(`profile ${(total / 1e6).toFixed(1)} s, busy ${(busy / 1e6).toFixed(1)} s\n\n`);
process.stdout.write('self time by category (share of busy time)\n');
for (const [cat, us] of [...categories].sort((a, b) => b[1] - a[1])) {
  if (cat === 'idle') continue;
  process.stdout.write(`  ${cat.padEnd(34)}${pct(us, busy)}  ${perFlow(us)}\n`);
}
process.stdout.write(`  ${'idle'.padEnd(34)}${pct(categories.get('idle') ?? 0, total)} of wall time\n`);
process.stdout.write('\ntop functions by self time\n');
for (const [fn, us] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
  if (fn.startsWith('(idle)')) continue;
  process.stdout.write(`  ${pct(us, busy)}  ${fn}\n`);
}

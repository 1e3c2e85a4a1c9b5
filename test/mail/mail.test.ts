/**
 * Mail: the Mailer's checks (header injection refused), the outbox and its background sender
 * against a real SMTP server in this process (smtp-server; messages parsed with mailparser), an
 * SMTP outage and the retry after it, two senders racing on one database (SQLite file and
 * PostgreSQL), and the development outbox at /demo/mail. Time moves by the injected clock;
 * the tests call the sender's tick() themselves.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { mailLine } from '../../src/cli/serve-notes.js';
import { ManualClock } from '../../src/clock.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { Mailer, MailInputError, parseMailFrom } from '../../src/ops/mail.js';
import { describeMailError, FIRST_RETRY_MS, MailSender, retryDelayMs } from '../../src/ops/mail-sender.js';
import { maskSmtpUrl, smtpTransport } from '../../src/ops/mail-transport.js';
import { startServer } from '../../src/server.js';
import { openStorage, type Storage } from '../../src/storage/index.js';
import { emailBodies } from '../../src/ui/email.js';
import { createTempDatabase, PG_SKIP } from '../helpers/databases.js';
import { freePort, startTestServer, tempDir } from '../helpers/server.js';

const FROM = { address: 'no-reply@latchkey.example', name: 'Latchkey Example' };

interface Smtp {
  port: number;
  url: string;
  received: ParsedMail[];
  close(): Promise<void>;
}

/** An SMTP server on 127.0.0.1 (no TLS; user `mailer`, password `s3cret`) that parses what it gets. */
async function startSmtp(port = 0): Promise<Smtp> {
  const received: ParsedMail[] = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === 'mailer' && auth.password === 's3cret') cb(null, { user: 'mailer' });
      else cb(new Error('Invalid username or password'));
    },
    onData(stream, _session, cb) {
      simpleParser(stream).then(
        (m) => {
          received.push(m);
          cb();
        },
        (err) => cb(err as Error),
      );
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.server.address() as AddressInfo).port;
  return {
    port: bound,
    url: `smtp://mailer:s3cret@127.0.0.1:${bound}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const content = {
  issuerName: 'latchkey.example',
  heading: 'Confirm your email',
  paragraphs: ['Someone signed up with this address. <b>not bold</b> & fine'],
  action: { label: 'Confirm', url: 'https://latchkey.example/verify?t=abc&x=1' },
};
const bodies = emailBodies(content);

describe('the Mailer refuses what could inject headers or several recipients', () => {
  let storage: Storage;
  let dir: string;
  let mailer: Mailer;
  before(async () => {
    dir = tempDir('latchkey-mail-');
    storage = await openStorage(join(dir, 'mail.db'));
    mailer = new Mailer(storage.outbox, new ManualClock({ now: () => 1_790_000_000_000 }), {
      kind: 'test',
      send: async () => {},
    });
  });
  after(async () => {
    await storage.close();
  });

  const ok = { to: 'zoe@example.com', subject: 'Hello', ...bodies };
  const refused: [string, unknown][] = [
    ['CR/LF in the address', { ...ok, to: 'zoe@example.com\r\nBcc: eve@evil.example' }],
    ['LF in the address', { ...ok, to: 'zoe@example.com\nBcc: eve@evil.example' }],
    ['two addresses', { ...ok, to: 'zoe@example.com, eve@evil.example' }],
    ['two addresses with ;', { ...ok, to: 'zoe@example.com;eve@evil.example' }],
    ['a display name in the address string', { ...ok, to: 'Zoe <zoe@example.com>' }],
    ['a group', { ...ok, to: 'friends: zoe@example.com, eve@evil.example;' }],
    ['a quoted local part', { ...ok, to: '"zoe,eve"@example.com' }],
    ['a space', { ...ok, to: 'zoe @example.com' }],
    ['no domain', { ...ok, to: 'zoe@' }],
    [
      'CR/LF in the name',
      { ...ok, to: { address: 'zoe@example.com', name: 'Zoe\r\nBcc: eve@evil.example' } },
    ],
    ['an address in the name', { ...ok, to: { address: 'zoe@example.com', name: 'eve@evil.example' } }],
    ['a comma in the name', { ...ok, to: { address: 'zoe@example.com', name: 'Zoe, Eve' } }],
    [
      'angle brackets in the name',
      { ...ok, to: { address: 'zoe@example.com', name: 'Zoe <eve@evil.example>' } },
    ],
    ['a quote in the name', { ...ok, to: { address: 'zoe@example.com', name: 'Zoe"' } }],
    ['an encoded word in the address', { ...ok, to: '=?utf-8?q?eve=40evil.example=3e?=@example.com' }],
    [
      'an encoded word in the name',
      { ...ok, to: { address: 'zoe@example.com', name: '=?utf-8?q?eve=40evil.example?=' } },
    ],
    ['CR/LF in the subject', { ...ok, subject: 'Hello\r\nBcc: eve@evil.example' }],
    ['a unicode line separator in the subject', { ...ok, subject: 'Hello\u2028Bcc: eve@evil.example' }],
    ['an empty subject', { ...ok, subject: '' }],
    ['a long subject', { ...ok, subject: 'x'.repeat(201) }],
    ['a long address', { ...ok, to: `${'a'.repeat(250)}@example.com` }],
    ['a big text body', { ...ok, text: 'x'.repeat(64 * 1024 + 1) }],
    ['a big HTML body', { ...ok, html: 'x'.repeat(256 * 1024 + 1) }],
    ['no text body', { ...ok, text: '' }],
    ['a number for a recipient', { ...ok, to: 42 }],
  ];
  for (const [what, input] of refused) {
    test(`refused: ${what}`, async () => {
      await assert.rejects(mailer.enqueue(input as never), MailInputError);
    });
  }
  test('nothing refused was stored; a good message is', async () => {
    assert.deepEqual(await storage.outbox.due(Date.now() + 1e9, 100), []);
    const { id } = await mailer.enqueue({ ...ok, to: { address: 'zoe@example.com', name: 'Zoë Example' } });
    assert.deepEqual(await storage.outbox.due(Date.now() + 1e9, 100), [id]);
  });
  test('mail off: enqueue says so', async () => {
    const off = new Mailer(storage.outbox, new ManualClock({ now: () => 1_790_000_000_000 }), undefined);
    assert.equal(off.enabled, false);
    await assert.rejects(off.enqueue(ok), /email is off/);
  });
  test('LATCHKEY_MAIL_FROM: an address or Name <address>, nothing else', () => {
    assert.deepEqual(parseMailFrom('Latchkey <a@example.com>'), {
      address: 'a@example.com',
      name: 'Latchkey',
    });
    assert.deepEqual(parseMailFrom('a@example.com'), { address: 'a@example.com', name: null });
    assert.equal(parseMailFrom('a@example.com, b@example.com'), undefined);
    assert.equal(parseMailFrom('A <a@example.com>\r\nBcc: b@example.com'), undefined);
    assert.throws(() => loadConfig({}, { LATCHKEY_MAIL_FROM: 'a@b.example, c@d.example' }), ConfigError);
  });
  test('LATCHKEY_SMTP_URL: smtp or smtps; its password is never echoed or printed', () => {
    const secret = 'hunter2-very-secret';
    assert.throws(
      () => loadConfig({}, { LATCHKEY_SMTP_URL: `http://u:${secret}@mail.example` }),
      (err: Error) => err instanceof ConfigError && !err.message.includes(secret),
    );
    const cfg = loadConfig({}, { LATCHKEY_SMTP_URL: `smtps://user:${secret}@mail.example:465` });
    assert.equal(cfg.smtpUrl, `smtps://user:${secret}@mail.example:465`);
    const line = mailLine(cfg);
    assert.doesNotMatch(line, new RegExp(secret));
    assert.match(line, /smtps:\/\/us\*\*\*:\*\*\*\*@mail\.example:465/);
    assert.equal(maskSmtpUrl('smtp://mail.example:25'), 'smtp://mail.example:25');
    assert.match(mailLine(loadConfig({}, {})), /^NOTE: email is off: set LATCHKEY_SMTP_URL/);
    assert.match(mailLine(loadConfig({ demo: true }, {})), /development outbox at .*\/demo\/mail/);
  });
  test('a stored error is short and has no credentials or addresses', () => {
    const e = Object.assign(new Error('Invalid login for smtp://bob:pw@host: 535 zoe@example.com denied'), {
      code: 'EAUTH',
      responseCode: 535,
    });
    const d = describeMailError(e);
    assert.match(d, /^EAUTH 535 /);
    assert.doesNotMatch(d, /pw|zoe@example\.com/);
    assert.ok(describeMailError(new Error('x'.repeat(1000))).length <= 200);
  });
  test('the backoff: 30 s, 1 min, 2 min … capped at an hour', () => {
    assert.deepEqual([1, 2, 3, 4].map(retryDelayMs), [30_000, 60_000, 120_000, 240_000]);
    assert.equal(retryDelayMs(30), 3600_000);
  });
  test('the email templates escape what they are given', () => {
    const b = emailBodies({
      issuerName: '<script>x</script>',
      heading: 'Hi <img src=x onerror=alert(1)>',
      paragraphs: ['"quoted" & <tag>'],
      action: { label: 'Go', url: 'https://example.com/?a=1&b="2"' },
    });
    assert.doesNotMatch(b.html, /<script>|<img|<tag>/);
    assert.match(b.html, /&lt;script>/);
    assert.match(b.html, /href="https:\/\/example\.com\/\?a=1&amp;b=&quot;2&quot;"/);
    assert.doesNotMatch(bodies.html, /<img|<link|<script|src=|url\(|@import/, 'no remote resources');
    assert.match(b.text, /Go: https:\/\/example\.com\/\?a=1&b="2"/);
    for (const url of ['javascript:alert(1)', 'data:text/html,x', 'https://a.example/\r\nx'])
      assert.throws(() => emailBodies({ ...content, action: { label: 'Go', url } }), MailInputError);
  });
});

describe('the outbox and its sender, through a real SMTP server', () => {
  let storage: Storage;
  let smtp: Smtp;
  const clock = new ManualClock({ now: () => 1_790_000_000_000 });
  before(async () => {
    storage = await openStorage(join(tempDir('latchkey-mail-'), 'mail.db'));
    smtp = await startSmtp();
  });
  after(async () => {
    await smtp.close();
    await storage.close();
  });

  test('enqueued, then delivered by a tick: From, To, Subject, text and HTML as sent', async () => {
    const transport = smtpTransport(smtp.url);
    const mailer = new Mailer(storage.outbox, clock, transport);
    const sender = new MailSender(storage.outbox, transport, clock, { from: FROM });
    const { id } = await mailer.enqueue({
      to: { address: 'zoe@example.com', name: 'Zoë Example' },
      subject: 'Confirm your email — Latchkey',
      ...bodies,
    });
    assert.equal(smtp.received.length, 0, 'nothing is sent at enqueue');
    assert.deepEqual(await sender.tick(), { sent: 1, retried: 0, failed: 0 });
    assert.equal(smtp.received.length, 1);
    const m = smtp.received[0]!;
    assert.deepEqual(m.from?.value, [{ address: FROM.address, name: FROM.name }]);
    const to = Array.isArray(m.to) ? m.to : [m.to];
    assert.deepEqual(to[0]?.value, [{ address: 'zoe@example.com', name: 'Zoë Example' }]);
    assert.equal(m.subject, 'Confirm your email — Latchkey');
    assert.equal(m.text?.trim(), bodies.text.trim());
    assert.match(String(m.html), /Confirm your email/);
    assert.match(String(m.html), /href="https:\/\/latchkey\.example\/verify\?t=abc&amp;x=1"/);
    assert.match(String(m.html), /&lt;b>not bold&lt;\/b> &amp; fine/);
    assert.equal(m.headers.get('bcc'), undefined);
    const row = await storage.outbox.get(id);
    assert.equal(row?.sentAt, clock.now());
    assert.equal(row?.attempts, 1);
    assert.equal(row?.text, '', 'the body is gone once sent');
    assert.equal(row?.html, '');
    assert.deepEqual(await sender.tick(), { sent: 0, retried: 0, failed: 0 }, 'sent once');
    assert.equal(smtp.received.length, 1);
    await sender.stop();
  });

  test('the SMTP server down: the message waits with its attempts; back up, it goes out once', async () => {
    const down = await startSmtp();
    const port = down.port;
    await down.close();
    const transport = smtpTransport(`smtp://mailer:s3cret@127.0.0.1:${port}`);
    const errors: { error: string }[] = [];
    const mailer = new Mailer(storage.outbox, clock, transport);
    const sender = new MailSender(storage.outbox, transport, clock, {
      from: FROM,
      onError: (e) => errors.push(e),
    });
    const { id } = await mailer.enqueue({ to: 'sam@example.com', subject: 'Reset your password', ...bodies });
    const t0 = clock.now();
    assert.deepEqual(await sender.tick(), { sent: 0, retried: 1, failed: 0 });
    let row = await storage.outbox.get(id);
    assert.equal(row?.attempts, 1);
    assert.equal(row?.nextAttemptAt, t0 + FIRST_RETRY_MS);
    assert.equal(row?.sentAt, null);
    assert.equal(row?.claimedBy, null);
    assert.match(row?.lastError ?? '', /ECONNECTION|ECONNREFUSED/);
    assert.doesNotMatch(row?.lastError ?? '', /s3cret/);
    assert.ok(row?.text, 'the body is kept until it is sent');
    assert.equal(errors.length, 1);

    // Not due yet: nothing is tried.
    clock.advance(FIRST_RETRY_MS - 1);
    assert.deepEqual(await sender.tick(), { sent: 0, retried: 0, failed: 0 });

    const up = await startSmtp(port);
    try {
      clock.advance(1);
      assert.deepEqual(await sender.tick(), { sent: 1, retried: 0, failed: 0 });
      assert.deepEqual(await sender.tick(), { sent: 0, retried: 0, failed: 0 });
      clock.advance(3600_000);
      assert.deepEqual(await sender.tick(), { sent: 0, retried: 0, failed: 0 });
      assert.equal(up.received.length, 1);
      assert.equal(up.received[0]?.subject, 'Reset your password');
      row = await storage.outbox.get(id);
      assert.equal(row?.attempts, 2);
      assert.ok(row?.sentAt);
    } finally {
      await sender.stop();
      await up.close();
    }
  });

  test('given up after the last attempt, and marked failed', async () => {
    const failing = { kind: 'test', send: async () => Promise.reject(new Error('550 mailbox unavailable')) };
    const mailer = new Mailer(storage.outbox, clock, failing);
    const sender = new MailSender(storage.outbox, failing, clock, { from: FROM, maxAttempts: 3 });
    const { id } = await mailer.enqueue({ to: 'gone@example.com', subject: 'Hello', ...bodies });
    assert.deepEqual(await sender.tick(), { sent: 0, retried: 1, failed: 0 });
    clock.advance(retryDelayMs(1));
    assert.deepEqual(await sender.tick(), { sent: 0, retried: 1, failed: 0 });
    clock.advance(retryDelayMs(2));
    assert.deepEqual(await sender.tick(), { sent: 0, retried: 0, failed: 1 });
    const row = await storage.outbox.get(id);
    assert.equal(row?.attempts, 3);
    assert.ok(row?.failedAt);
    assert.equal(row?.text, '');
    clock.advance(retryDelayMs(10));
    assert.deepEqual(await sender.tick(), { sent: 0, retried: 0, failed: 0 });
  });
});

/** Two stores on one database, as two nodes have them. */
const racing: {
  name: string;
  skip: string | false;
  open(): Promise<{ a: Storage; b: Storage; done(): Promise<void> }>;
}[] = [
  {
    name: 'sqlite (one file, two handles)',
    skip: false,
    async open() {
      const file = join(tempDir('latchkey-mail-race-'), 'race.db');
      const a = await openStorage(file);
      const b = await openStorage(file);
      return { a, b, done: async () => void (await Promise.all([a.close(), b.close()])) };
    },
  },
  {
    name: 'postgres',
    skip: PG_SKIP,
    async open() {
      const tmp = await createTempDatabase();
      const a = await openStorage(tmp.url);
      const b = await openStorage(tmp.url);
      return {
        a,
        b,
        done: async () => {
          await Promise.all([a.close(), b.close()]);
          await tmp.drop();
        },
      };
    },
  },
];

for (const backend of racing) {
  describe(`two senders racing: ${backend.name}`, { skip: backend.skip }, () => {
    let smtp: Smtp;
    let db: Awaited<ReturnType<(typeof backend)['open']>>;
    before(async () => {
      smtp = await startSmtp();
      db = await backend.open();
    });
    after(async () => {
      await db?.done();
      await smtp?.close();
    });

    test('every message is sent exactly once', async () => {
      const clock = new ManualClock({ now: () => 1_790_000_000_000 });
      const mailer = new Mailer(db.a.outbox, clock, smtpTransport(smtp.url));
      const ids: string[] = [];
      for (let i = 0; i < 12; i++)
        ids.push((await mailer.enqueue({ to: `p${i}@example.com`, subject: `Message ${i}`, ...bodies })).id);
      const one = new MailSender(db.a.outbox, smtpTransport(smtp.url), clock, { from: FROM });
      const two = new MailSender(db.b.outbox, smtpTransport(smtp.url), clock, { from: FROM });
      const [r1, r2] = await Promise.all([one.tick(), two.tick()]);
      const [r3, r4] = await Promise.all([one.tick(), two.tick()]);
      assert.equal(r1.sent + r2.sent + r3.sent + r4.sent, 12);
      assert.equal(smtp.received.length, 12);
      const subjects = smtp.received.map((m) => m.subject).sort();
      assert.equal(new Set(subjects).size, 12, 'no message twice');
      for (const id of ids) assert.ok((await db.a.outbox.get(id))?.sentAt);
      await Promise.all([one.stop(), two.stop()]);
    });
  });
}

describe('the development outbox at /demo/mail', () => {
  test('demo mode without SMTP: the message is listed (subject, recipient, text); not logged', async () => {
    const server = await startTestServer({ overrides: { demo: true } });
    try {
      assert.equal(server.ctx.mailer.enabled, true);
      await server.ctx.mailer.enqueue({ to: 'zoe@example.com', subject: 'Your <demo> link', ...bodies });
      const empty = await fetch(`${server.url}/demo/mail`);
      assert.equal(empty.status, 200);
      assert.match(await empty.text(), /No mail yet/);
      assert.deepEqual(await server.mailSender?.tick(), { sent: 1, retried: 0, failed: 0 });
      const res = await fetch(`${server.url}/demo/mail`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('cache-control'), 'no-store');
      const page = await res.text();
      assert.match(page, /Your &lt;demo> link/);
      assert.match(page, /zoe@example\.com/);
      assert.match(page, /Confirm: https:\/\/latchkey\.example\/verify\?t=abc&amp;x=1/);
    } finally {
      await server.cleanup();
    }
  });

  test('outside demo mode it is 404, and mail is off without SMTP', async () => {
    const server = await startTestServer();
    try {
      assert.equal(server.ctx.mailer.enabled, false);
      assert.equal(server.mailSender, undefined);
      assert.equal((await fetch(`${server.url}/demo/mail`)).status, 404);
    } finally {
      await server.cleanup();
    }
  });

  test('demo mode with SMTP: mail goes to the SMTP server, /demo/mail is 404', async () => {
    const smtp = await startSmtp();
    const server = await startTestServer({ overrides: { demo: true, smtpUrl: smtp.url } });
    try {
      await server.ctx.mailer.enqueue({ to: 'zoe@example.com', subject: 'Via SMTP', ...bodies });
      assert.deepEqual(await server.mailSender?.tick(), { sent: 1, retried: 0, failed: 0 });
      assert.equal(smtp.received[0]?.subject, 'Via SMTP');
      assert.equal((await fetch(`${server.url}/demo/mail`)).status, 404);
    } finally {
      await server.cleanup();
      await smtp.close();
    }
  });
});

describe('the log carries no links, tokens, recipients or SMTP passwords', () => {
  const start = async (env: Record<string, string>, lines: string[], demo = false) => {
    const port = await freePort();
    const config = loadConfig(
      {
        port,
        host: '127.0.0.1',
        issuer: `http://127.0.0.1:${port}`,
        database: ':memory:',
        logLevel: 'trace',
        demo,
      },
      env,
    );
    const stream = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    return startServer(config, { clock: new ManualClock(), logger: { level: 'trace', stream } });
  };
  const secretLink = 'https://latchkey.example/reset?token=one-time-secret-token';
  const mail = {
    to: 'private.person@example.com',
    subject: 'Private subject line',
    ...emailBodies({ ...content, action: { label: 'Reset', url: secretLink } }),
  };
  const leaks = (lines: string[]) =>
    lines.filter((l) => /one-time-secret-token|private\.person|Private subject|smtp-pass-word/.test(l));

  test('demo outbox: sent and shown, nothing of it logged', async () => {
    const withDemo: string[] = [];
    const d = await start({}, withDemo, true);
    try {
      await d.ctx.mailer.enqueue(mail);
      assert.equal((await d.mailSender?.tick())?.sent, 1);
      const page = await (await fetch(`${d.url}/demo/mail`)).text();
      assert.match(page, /one-time-secret-token/);
      assert.ok(withDemo.length > 0, 'the log was written');
      assert.deepEqual(leaks(withDemo), []);
    } finally {
      await d.close();
    }
  });

  test('SMTP down: one warning with the id and a short error, no recipient, link or password', async () => {
    const down = await startSmtp();
    await down.close();
    const lines: string[] = [];
    const server = await start(
      { LATCHKEY_SMTP_URL: `smtp://mailer:smtp-pass-word@127.0.0.1:${down.port}` },
      lines,
    );
    try {
      const { id } = await server.ctx.mailer.enqueue(mail);
      assert.equal((await server.mailSender?.tick())?.retried, 1);
      const warning = lines.find((l) => l.includes('mail not sent'));
      assert.ok(warning, lines.join(''));
      assert.match(warning, new RegExp(id));
      assert.deepEqual(leaks(lines), []);
    } finally {
      await server.close();
    }
  });
});

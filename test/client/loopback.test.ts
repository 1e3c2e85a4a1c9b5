/** The RFC 8252 loopback redirect receiver. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LatchkeyError, startLoopbackReceiver } from '../../src/client/index.js';

const isCode = (code: string) => (e: unknown) => e instanceof LatchkeyError && e.code === code;

describe('loopback redirect receiver', () => {
  it('listens on 127.0.0.1 on an ephemeral port and accepts exactly one callback', async () => {
    const r = await startLoopbackReceiver({ expectedState: 'st-1' });
    assert.match(r.redirectUri, /^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    assert.ok(r.port > 0);
    // Other paths do not consume the receiver.
    const other = await fetch(`http://127.0.0.1:${r.port}/favicon.ico`);
    assert.equal(other.status, 404);
    await other.text();

    const res = await fetch(`${r.redirectUri}?code=abc&state=st-1&iss=x`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /close this window/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    const url = await r.wait();
    assert.equal(url.searchParams.get('code'), 'abc');
    assert.equal(url.searchParams.get('state'), 'st-1');

    // A second callback is not accepted: the listener is gone.
    await assert.rejects(fetch(`${r.redirectUri}?code=other&state=st-1`));
    assert.equal((await r.wait()).searchParams.get('code'), 'abc');
  });

  it('refuses callbacks with another or no state and keeps waiting for the real one', async () => {
    const r = await startLoopbackReceiver({ expectedState: 'expected' });
    for (const qs of ['code=abc&state=forged', 'code=abc', 'code=abc&state=expected&state=x']) {
      const res = await fetch(`${r.redirectUri}?${qs}`);
      assert.equal(res.status, 400, qs);
      await res.text();
    }
    const ok = await fetch(`${r.redirectUri}?code=real&state=expected`);
    assert.equal(ok.status, 200);
    await ok.text();
    assert.equal((await r.wait()).searchParams.get('code'), 'real');
  });

  it('reports LATCHKEY_STATE_MISMATCH when only wrong-state callbacks came before the timeout', async () => {
    const r = await startLoopbackReceiver({ expectedState: 'expected', timeoutMs: 300 });
    const res = await fetch(`${r.redirectUri}?code=abc&state=forged`);
    assert.equal(res.status, 400);
    await res.text();
    await assert.rejects(r.wait(), isCode('LATCHKEY_STATE_MISMATCH'));
  });

  it('passes an error response with the right state through (the client turns it into a typed error)', async () => {
    const r = await startLoopbackReceiver({ expectedState: 's' });
    const res = await fetch(`${r.redirectUri}?error=access_denied&state=s`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /did not complete/);
    assert.equal((await r.wait()).searchParams.get('error'), 'access_denied');
  });

  it('times out cleanly with LATCHKEY_TIMEOUT and stops listening', async () => {
    const r = await startLoopbackReceiver({ expectedState: 's', timeoutMs: 30 });
    await assert.rejects(r.wait(), isCode('LATCHKEY_TIMEOUT'));
    await assert.rejects(fetch(`${r.redirectUri}?code=late&state=s`));
  });

  it('close() before a callback rejects the wait and frees the port', async () => {
    const r = await startLoopbackReceiver({ expectedState: 's' });
    await r.close();
    await assert.rejects(r.wait(), isCode('LATCHKEY_TIMEOUT'));
    await assert.rejects(fetch(r.redirectUri));
  });

  it('checks its arguments before listening', async () => {
    await assert.rejects(startLoopbackReceiver({ expectedState: '' }), isCode('LATCHKEY_INVALID_ARGUMENT'));
    await assert.rejects(
      startLoopbackReceiver({ expectedState: 's', timeoutMs: -1 }),
      isCode('LATCHKEY_INVALID_ARGUMENT'),
    );
    await assert.rejects(
      startLoopbackReceiver({ expectedState: 's', path: 'callback' }),
      isCode('LATCHKEY_INVALID_ARGUMENT'),
    );
  });
});

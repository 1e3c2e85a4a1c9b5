/** One duration syntax for every time setting: plain seconds as before, or 90s / 15m / 1h / 7d. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { loadConfig } from '../../src/config.js';
import { formatDuration, parseDuration } from '../../src/duration.js';

describe('durations', () => {
  it('reads seconds and the units people write', () => {
    const cases: [string, number | undefined][] = [
      ['90', 90],
      ['0', 0],
      ['90s', 90],
      ['15m', 900],
      ['1h', 3600],
      ['7d', 604800],
      ['1h30m', 5400],
      [' 2H ', 7200],
      ['', undefined],
      ['1.5h', undefined],
      ['-5', undefined],
      ['1w', undefined],
      ['h', undefined],
      ['1 h', undefined],
      ['10ms', undefined],
      ['abc', undefined],
    ];
    for (const [text, want] of cases) assert.equal(parseDuration(text), want, JSON.stringify(text));
  });

  it('formatDuration spells any number of seconds so that parseDuration reads it back', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10 * 365 * 86400 }),
        (n) => parseDuration(formatDuration(n)) === n,
      ),
    );
    assert.equal(formatDuration(90), '1m30s');
    assert.equal(formatDuration(86400), '1d');
  });

  it('every time setting takes a duration; the limits and the message say so', () => {
    const c = loadConfig(
      {},
      {
        LATCHKEY_CODE_TTL: '2m',
        LATCHKEY_ACCESS_TOKEN_TTL: '15m',
        LATCHKEY_SESSION_TTL: '7d',
        LATCHKEY_SHUTDOWN_GRACE: '30s',
        LATCHKEY_REFRESH_GRACE: '45',
        LATCHKEY_CLOCK_OFFSET_SEC: '-1h',
      },
    );
    assert.equal(c.codeTtlSec, 120);
    assert.equal(c.accessTokenTtlSec, 900);
    assert.equal(c.sessionAbsoluteSec, 604800);
    assert.equal(c.shutdownGraceSec, 30);
    assert.equal(c.refreshGraceSec, 45);
    assert.equal(c.clockOffsetSec, -3600);
    assert.throws(
      () => loadConfig({}, { LATCHKEY_CODE_TTL: '11m' }),
      /LATCHKEY_CODE_TTL must be a time from 1s to 10m: seconds, or a duration such as 90s, 15m, 1h, 7d \(got "11m"\)/,
    );
    assert.throws(() => loadConfig({}, { LATCHKEY_CODE_TTL: '-1m' }), /LATCHKEY_CODE_TTL must be a time/);
  });
});

/** V8's young generation kept near LATCHKEY_YOUNG_GENERATION_MIB by `serve` (src/ops/young-generation.ts). */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadConfig } from '../../src/config.js';
import { youngGenerationSetByOperator } from '../../src/ops/young-generation.js';

const child = fileURLToPath(new URL('./fixtures/young-generation-child.ts', import.meta.url));

async function largestNewSpace(
  mode: 'capped' | 'uncapped',
): Promise<{ capActive: boolean; reachedTarget: boolean; largestMiB: number }> {
  const env = { ...process.env };
  delete env['NODE_OPTIONS'];
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', child, mode], { env });
  return JSON.parse(stdout.trim()) as { capActive: boolean; reachedTarget: boolean; largestMiB: number };
}

describe('young generation', () => {
  it('stays at the target under allocation, also after a worker thread starts (a new isolate resets the growth factor)', async () => {
    const [capped, uncapped] = await Promise.all([largestNewSpace('capped'), largestNewSpace('uncapped')]);
    assert.equal(capped.capActive, true);
    assert.equal(capped.reachedTarget, true, 'the new space grew to the target before the worker started');
    assert.ok(capped.largestMiB <= 8, `capped new space grew to ${capped.largestMiB} MiB`);
    assert.equal(uncapped.capActive, false);
    assert.ok(uncapped.largestMiB > 8, `the same load without the cap grows it (${uncapped.largestMiB} MiB)`);
  });

  it("leaves an operator's own Node flags alone", () => {
    assert.equal(youngGenerationSetByOperator([], undefined), false);
    assert.equal(youngGenerationSetByOperator(['--max-semi-space-size=4'], undefined), true);
    assert.equal(youngGenerationSetByOperator([], '--enable-source-maps --max-semi-space-size=8'), true);
    assert.equal(youngGenerationSetByOperator(['--semi-space-growth-factor=3'], ''), true);
    assert.equal(youngGenerationSetByOperator(['--max-old-space-size=512'], '--inspect'), false);
  });

  it('LATCHKEY_YOUNG_GENERATION_MIB: 16 by default, 0 for V8’s own sizing, checked', () => {
    assert.equal(loadConfig({}, {}).youngGenerationMib, 16);
    assert.equal(loadConfig({}, { LATCHKEY_YOUNG_GENERATION_MIB: '0' }).youngGenerationMib, 0);
    assert.throws(
      () => loadConfig({}, { LATCHKEY_YOUNG_GENERATION_MIB: 'big' }),
      /LATCHKEY_YOUNG_GENERATION_MIB/,
    );
  });
});

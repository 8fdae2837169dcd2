// Size checks before scheduling: an activity input over Temporal's payload limit, with no claim-check
// store to take it, fails its step at once with PayloadTooLarge naming the step, instead of failing
// every workflow task forever (the run "stuck"); a large input that fits runs as before.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CompiledDefinition, CompiledStep } from '../../workflows/dsl/compiled.ts';
import { jsonBytes, PAYLOAD_LIMIT_BYTES } from '../../workflows/interpreter/payload-size.ts';
import { activities, runFailure, useTemporal } from './_defs.ts';

// This file is about runs without a claim check (with one, the codec stores large payloads).
delete process.env.CEDILLE_CLAIM_CHECK_URL;
delete process.env.CEDILLE_CLAIM_CHECK_THRESHOLD;

const t = useTemporal();

/** Set steps doubling a string `doublings` times (no commands), then an activity given the result. */
function doubling(doublings: number): CompiledDefinition {
  const steps: CompiledStep[] = [{ kind: 'set', id: 's0', values: { v0: 'xy' } } as CompiledStep];
  for (let i = 1; i <= doublings; i++) steps.push({ kind: 'set', id: `s${i}`, values: { [`v${i}`]: `\${{ vars.v${i - 1} + vars.v${i - 1} }}` } } as CompiledStep);
  steps.push({ kind: 'activity', id: 'big', activity: 'core.echo', with: { value: `\${{ vars.v${doublings} }}` }, retry: { maximumAttempts: 1 }, timeouts: { startToCloseMs: 10_000 } } as CompiledStep);
  // A small output: the default one would return every step's value (the strings themselves).
  const output = { bytes: `\${{ size(vars.v${doublings}) }}` };
  return { apiVersion: 'test/v1', kind: 'WorkflowDefinition', name: `doubling-${doublings}`, hash: `doubling-${doublings}`, dependencies: {}, steps, output };
}

describe('size checks before scheduling', { concurrency: true }, () => {
  it('an activity input over the limit fails the step with PayloadTooLarge, nothing scheduled', async () => {
    const h = await t.env.start(doubling(20), {});
    const f = await runFailure(h);
    assert.ok(f.types.includes('PayloadTooLarge'), `types: ${f.types}`);
    assert.match(f.text, /the input of activity step 'big' \(core\.echo\) is 2097\d{3} bytes, over Temporal's payload limit/);
    assert.match(f.text, /CEDILLE_CLAIM_CHECK_URL/);
    assert.deepEqual((await activities(h)).filter((a) => a.activityId === 'big'), []);
  });

  it('a large input under the limit is scheduled as before', async () => {
    const h = await t.env.start(doubling(19), {});
    assert.deepEqual(await h.result(), { bytes: 2 ** 20 });
    assert.equal((await activities(h)).filter((a) => a.activityId === 'big').length, 1);
  });

  it('jsonBytes counts UTF-8 bytes of the JSON', () => {
    assert.equal(jsonBytes('é'), 4);
    assert.equal(jsonBytes({ a: '😀' }), 12);
    assert.ok(PAYLOAD_LIMIT_BYTES < 2 * 1024 * 1024);
  });
});

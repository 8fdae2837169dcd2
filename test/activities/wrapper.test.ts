// The worker's activity wrapper on the real worker and server: input and output checked against the
// activity's schemas, both refusals non-retryable and naming the field. The worker's catalog is the
// real one plus a deliberately wrong activity.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { defineActivity, type ActivityDefinition } from '../../activities/define.ts';
import { loadCatalog } from '../../activities/catalog.ts';
import type { ActivityStepC, CompiledDefinition } from '../../workflows/dsl/compiled.ts';
import { temporalTestEnv, type TemporalTestEnv } from '../support/temporal.ts';
import { NO_DEFINITIONS } from '../support/activities/index.ts';
import { runFailure } from './_support.ts';

// Promises a count, returns a string.
const wrongOutput = defineActivity({
  name: 'test.wrongOutput',
  description: 'Returns output that does not match its own schema.',
  input: z.strictObject({}),
  output: z.object({ count: z.int() }),
  async handler() {
    return { count: 'three' } as unknown as { count: number };
  },
});

let env: TemporalTestEnv;

before(async () => {
  const catalog = new Map<string, ActivityDefinition>([...(await loadCatalog()), [wrongOutput.name, wrongOutput as ActivityDefinition]]);
  env = await temporalTestEnv();
  await env.startWorker({ catalog, registry: NO_DEFINITIONS });
});

after(async () => {
  await env?.close();
});

/** One activity step, retried up to 3 times (so a refusal's single attempt shows it was not retried). */
function oneStep(activity: string, args: Record<string, unknown>): CompiledDefinition {
  const step: ActivityStepC = { kind: 'activity', id: 'step', activity, with: args, retry: { maximumAttempts: 3, initialIntervalMs: 50 }, timeouts: { startToCloseMs: 10_000 } };
  return { apiVersion: 'cedille.etsmtl.ca/v1', kind: 'WorkflowDefinition', name: `wrapper-${activity}`, hash: `wrapper-${activity}`, dependencies: {}, steps: [step] };
}

async function attemptsOf(h: Awaited<ReturnType<TemporalTestEnv['start']>>): Promise<number | undefined> {
  return (await env.graph(h)).nodes.find((n) => n.id === 'step')?.attempts;
}

describe('activity wrapper', { concurrency: true }, () => {
  it('refuses invalid input: non-retryable InvalidActivityInput naming the field', async () => {
    const h = await env.start(oneStep('core.sleep', { ms: 'soon' }));
    const f = await runFailure(h);
    assert.ok(f.types.includes('InvalidActivityInput'), `types: ${f.types}`);
    assert.match(f.text, /core\.sleep: invalid input: ms: /);
    assert.equal(await attemptsOf(h), 1);
  });

  it('refuses an unknown field of a strict input, naming it', async () => {
    const h = await env.start(oneStep('core.echo', { value: 1, extra: true }));
    const f = await runFailure(h);
    assert.ok(f.types.includes('InvalidActivityInput'), `types: ${f.types}`);
    assert.match(f.text, /core\.echo: invalid input: .*extra/);
  });

  it('refuses output that does not match the schema: non-retryable InvalidActivityOutput', async () => {
    const h = await env.start(oneStep('test.wrongOutput', {}));
    const f = await runFailure(h);
    assert.ok(f.types.includes('InvalidActivityOutput'), `types: ${f.types}`);
    assert.match(f.text, /test\.wrongOutput: invalid output: count: /);
    assert.equal(await attemptsOf(h), 1);
  });

  it('returns the parsed output when both match', async () => {
    const h = await env.start({ ...oneStep('core.echo', { value: { a: 1 } }), output: { echoed: '${{ steps.step.output.value }}' } });
    assert.deepEqual(await h.result(), { echoed: { a: 1 } });
    assert.equal(await attemptsOf(h), 1);
  });
});

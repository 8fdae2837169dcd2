// Named workflow types against a real server: a built-in definition started by its
// spec.workflowType with plain JSON input (the worker's default registry), input validation of
// such runs, and pinning: a run keeps the version it resolved at start when a new version of
// its definition is registered while it waits.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { loadCatalog } from '../../activities/catalog.ts';
import { compileFile } from '../../workflows/compiler/index.ts';
import type { CompiledDefinition } from '../../workflows/dsl/compiled.ts';
import { DefinitionRegistry, BUILTIN_DIR } from '../../workflows/registry/index.ts';
import { temporalTestEnv, type TemporalTestEnv } from '../support/temporal.ts';
import { assertSearchAttributes, assertStatuses, fixtureText, graphWhen, node, runFailure, searchAttributes, useTemporal } from './_defs.ts';

const t = useTemporal({ registry: 'default' });

async function helloWorld(): Promise<CompiledDefinition> {
  const r = await compileFile(`${BUILTIN_DIR}hello-world.yaml`, { catalog: await loadCatalog() });
  assert.ok(r.ok, 'the built-in compiles');
  return r.definition;
}

function startNamed(env: TemporalTestEnv, type: string, input: unknown, memo?: Record<string, unknown>) {
  return env.client.workflow.start(type, { taskQueue: env.taskQueue, workflowId: `${type}-${randomUUID()}`, args: [input], ...(memo ? { memo } : {}) });
}

describe('named workflow types', { concurrency: true }, () => {
  for (const { input, memo, expected } of [
    // A memo is whatever the Temporal client wrote: it names no initiator the run believes (issue 12).
    { input: { name: 'Ada' }, memo: { initiator: 'ada@etsmtl.ca' }, expected: { greeted: 'Ada', messages: ['Hello, Ada.', 'Bonjour, Ada.'], by: 'the Temporal UI' } },
    { input: { name: 'Grace', excited: true }, memo: undefined, expected: { greeted: 'Grace', messages: ['Hello, Grace!', 'Bonjour, Grace!'], by: 'the Temporal UI' } },
  ]) {
    it(`starts the built-in helloWorld by type name with ${JSON.stringify(input)}`, async () => {
      const def = await helloWorld();
      const h = await startNamed(t.env, 'helloWorld', input, memo);
      assert.deepEqual(await h.result(), expected);
      const g = await t.env.graph(h);
      assert.deepEqual([g.definition, g.hash, g.status], ['hello-world', def.hash, 'completed']);
      assertStatuses(g, { greet: 'completed', english: 'completed', french: 'completed', pause: 'completed', shortName: 'completed', longName: 'skipped', summary: 'completed' });
      await assertSearchAttributes(h, def, 'completed');
      assert.equal((await searchAttributes(h)).initiator, undefined, 'a claimed initiator is not listed');
    });
  }

  for (const { input, field } of [
    { input: {}, field: 'input.name' },
    { input: { name: 42 }, field: 'input.name' },
  ]) {
    it(`fails a named run whose JSON input is invalid (${JSON.stringify(input)})`, async () => {
      const def = await helloWorld();
      const h = await startNamed(t.env, 'helloWorld', input);
      const f = await runFailure(h);
      assert.equal(f.chain[0]!.type, 'InvalidInput');
      assert.match(f.chain[0]!.message, new RegExp(`invalid input for hello-world: ${field.replace('.', '\\.')}: `));
      await assertSearchAttributes(h, def, 'failed');
    });
  }

  it('fails a run of a workflow type no definition declares', async () => {
    const h = await startNamed(t.env, 'noSuchWorkflow', {});
    const f = await runFailure(h);
    assert.equal(f.chain[0]!.type, 'UnknownWorkflowType');
  });
});

describe('pinning', () => {
  let env: TemporalTestEnv;
  let registry: DefinitionRegistry;
  before(async () => {
    registry = await DefinitionRegistry.load({ catalog: await loadCatalog() });
    env = await temporalTestEnv();
  });
  after(async () => {
    await env?.close();
  });

  it('keeps a waiting run on the version it started with when a new version is registered', async () => {
    const v1 = await registry.register(fixtureText('pinning-v1'), { file: 'pinning-v1.yaml' });
    assert.ok(v1.ok, JSON.stringify(!v1.ok && v1.errors));
    const firstWorker = await env.startWorker({ registry });
    const first = await startNamed(env, 'pinningDemo', {});
    await graphWhen(env, first, (g) => node(g, 'hold').status === 'waiting', 'the v1 run to wait');
    assert.equal((await searchAttributes(first)).hash, v1.definition.hash);
    // A new worker process knows nothing of the run: it replays the history, so the pinned version
    // must come from what the run recorded at start, not from worker memory.
    await firstWorker.stop();
    await env.startWorker({ registry });

    const v2 = await registry.register(fixtureText('pinning-v2'), { file: 'pinning-v2.yaml' });
    assert.ok(v2.ok, JSON.stringify(!v2.ok && v2.errors));
    assert.equal(v2.definition.name, v1.definition.name);
    assert.notEqual(v2.definition.hash, v1.definition.hash);
    assert.equal(registry.getByWorkflowType('pinningDemo')?.hash, v2.definition.hash);

    const second = await startNamed(env, 'pinningDemo', {});
    await graphWhen(env, second, (g) => node(g, 'hold').status === 'waiting', 'the v2 run to wait');
    await first.signal('go');
    await second.signal('go');
    assert.equal(await first.result(), 'v1 ran for pinningDemo');
    assert.equal(await second.result(), 'v2 ran for pinningDemo');
    await assertSearchAttributes(first, v1.definition, 'completed');
    await assertSearchAttributes(second, v2.definition, 'completed');
    assert.equal((await env.graph(first)).hash, v1.definition.hash);
  });
});

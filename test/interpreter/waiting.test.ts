// Steps that wait, against a real server: wait (duration, until), waitFor (events kept until the
// step starts, schema refusals in the sendEvent validator, plain signals, timeouts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sendEventUpdate } from '../../workflows/interpreter/messages.ts';
import { assertSearchAttributes, assertStatuses, assertTimed, fixture, graphWhen, node, refusal, runFailure, useTemporal } from './_defs.ts';

const t = useTemporal();

describe('wait', { concurrency: true }, () => {
  it('waits for a duration, then until a moment a few seconds ahead', async () => {
    const def = await fixture('wait-steps');
    const started = Date.now();
    const until = new Date(started + 3_000).toISOString();
    const h = await t.env.start(def, { until });
    const waiting = await graphWhen(t.env, h, (g) => g.status === 'waiting', 'the run to wait');
    assert.equal(node(waiting, 'pause').status, 'running');
    await assertSearchAttributes(h, def, 'waiting');
    const out = (await h.result()) as { pause: number; later: number };
    assert.ok(Date.now() >= Date.parse(until), 'the run ended after the `until` moment');
    assert.equal(out.pause, 1_000);
    const g = await t.env.graph(h);
    // What was left of the 3 s when the step started, on the workflow clock (nothing when a loaded
    // machine took longer than that to get there: the run still ended after `until`, checked above).
    const left = Math.max(0, Date.parse(until) - Date.parse(node(g, 'later').startedAt!));
    assert.ok(Math.abs(out.later - left) <= 1 && out.later <= 2_000, `waited ${out.later} ms, ${left} ms were left of the 3 s`);
    assertStatuses(g, { pause: 'completed', later: 'completed', done: 'completed' });
    for (const id of ['pause', 'later']) assertTimed(node(g, id));
    assert.ok(Date.parse(node(g, 'later').endedAt!) >= Date.parse(until), 'the wait ended at or after `until` (workflow clock)');
    await assertSearchAttributes(h, def, 'completed');
  });

  it('does not wait for a moment in the past', async () => {
    const def = await fixture('wait-steps');
    const h = await t.env.start(def, { until: '2020-01-01T00:00:00Z' });
    assert.deepEqual(await h.result(), { pause: 1_000, later: 0 });
  });

  it('fails on an until that is not a timestamp', async () => {
    const def = await fixture('wait-steps');
    const h = await t.env.start(def, { until: 'next tuesday' });
    const f = await runFailure(h);
    assert.ok(f.types.includes('InvalidTimestamp'), `types: ${f.types}`);
    assert.match(f.chain[0]!.message, /step 'later' failed: wait\.until is not a timestamp: next tuesday/);
    assertStatuses(await t.env.graph(h), { pause: 'completed', later: 'failed', done: 'pending' });
  });
});

describe('waitFor', { concurrency: true }, () => {
  it('keeps events sent before their step starts, refuses invalid ones, accepts plain signals', async () => {
    const def = await fixture('wait-for');
    const h = await t.env.start(def);
    await graphWhen(t.env, h, (g) => node(g, 'first').status === 'waiting', 'first to wait');
    await assertSearchAttributes(h, def, 'waiting');

    // The update validator refuses what no step could accept, naming the field.
    const invalid = await refusal(h.executeUpdate(sendEventUpdate, { args: [{ name: 'deploy.done', payload: { version: 3 } }] }));
    assert.equal(invalid.type, 'InvalidPayload');
    assert.match(invalid.message, /invalid 'deploy\.done' payload: version: /);
    const unknown = await refusal(h.executeUpdate(sendEventUpdate, { args: [{ name: 'deploy.started', payload: {} }] }));
    assert.equal(unknown.type, 'UnknownStep');

    // A plain signal bypasses the validator: its invalid payload is refused when the step takes it.
    await h.signal('deploy.done', { release: 'oops' });
    // Sent before `deployed` starts: kept in the run's inbox.
    assert.deepEqual(await h.executeUpdate(sendEventUpdate, { args: [{ name: 'deploy.done', payload: { version: '1.2.3' } }] }), { name: 'deploy.done', accepted: true });
    assert.equal(node(await t.env.graph(h), 'deployed').status, 'pending');

    await h.signal('started', { by: 'ci' });
    assert.deepEqual(await h.result(), {
      first: { received: true, payload: { by: 'ci' } },
      deployed: { received: true, payload: { version: '1.2.3' } },
      report: 'deployed 1.2.3',
    });
    const g = await t.env.graph(h);
    assertStatuses(g, { first: 'completed', deployed: 'completed', report: 'completed' });
    assert.match(node(g, 'deployed').error ?? '', /refused 1 event\(s\): version: /);
    assertTimed(node(g, 'first'));
    await assertSearchAttributes(h, def, 'completed');
  });

  it('continues on an optional timeout and fails on a required one', async () => {
    const def = await fixture('wait-for-timeout');
    const h = await t.env.start(def);
    const f = await runFailure(h);
    assert.ok(f.types.includes('EventTimeout'), `types: ${f.types}`);
    assert.match(f.chain[0]!.message, /step 'required' failed: no 'needed' event within 1000 ms/);
    const g = await t.env.graph(h);
    assertStatuses(g, { optional: 'completed', required: 'failed' });
    assertTimed(node(g, 'required'));
    await assertSearchAttributes(h, def, 'failed');
  });

  it('completes when the required event comes in time', async () => {
    const def = await fixture('wait-for-timeout');
    const h = await t.env.start(def);
    await h.executeUpdate(sendEventUpdate, { args: [{ name: 'needed', payload: 42 }] });
    assert.deepEqual(await h.result(), { optional: { received: false }, required: { received: true, payload: 42 } });
  });
});

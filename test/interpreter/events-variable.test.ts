// The read-only `events` expression variable against a real server: every payload received per event
// name, consumed by a waitFor or not; names read only through `events.<name>` are accepted by
// sendEvent; the log survives continue-as-new.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sendEventUpdate } from '../../workflows/interpreter/messages.ts';
import { compileYaml, graphWhen, node, refusal, useTemporal } from './_defs.ts';

const t = useTemporal();

const DEFINITION = `
apiVersion: workflows.cedille.etsmtl.ca/v1alpha1
kind: WorkflowDefinition
metadata: { name: events-variable }
spec:
  steps:
    - id: first
      waitFor: { signal: go }
    - id: pause
      wait: { duration: 1ms }
    - id: seen
      set:
        notes: "\${{ has(events.note) ? events.note.map(n, n.text) : [] }}"
        goes: "\${{ size(events.go) }}"
        consumedToo: "\${{ events.go[0].by }}"
  output: "\${{ vars }}"
`;

describe('events variable', () => {
  it('lists every payload per name, accepts names only read through it, and keeps them across continue-as-new', async () => {
    const def = await compileYaml(DEFINITION);
    // eventLimit 1: the run continues as new at every top-level step boundary.
    const h = await t.env.start(def, {}, { options: { eventLimit: 1 } });
    await graphWhen(t.env, h, (g) => node(g, 'first').status === 'waiting', 'first to wait');
    const send = (name: string, payload: unknown) => h.executeUpdate(sendEventUpdate, { args: [{ name, payload }] });
    await send('note', { text: 'one' });
    await send('note', { text: 'two' });
    const unknown = await refusal(send('stranger', {})); // neither waited for nor read
    assert.equal(unknown.type, 'UnknownStep');
    await send('go', { by: 'ci' });
    assert.deepEqual(await h.result(), { notes: ['one', 'two'], goes: 1, consumedToo: 'ci' });
    const desc = await h.describe();
    assert.notEqual(desc.runId, (h as { firstExecutionRunId?: string }).firstExecutionRunId, 'the run continued as new before reading the events');
  });
});

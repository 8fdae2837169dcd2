// A worker that is not the platform's (issue 12): whoever reaches Temporal can run their own worker
// on their own task queue and have its workflows name the platform's task queue for a child, a
// continuation or an activity. None of these may act: the platform's worker checks, with the
// server, that the run asking is one of its own (worker/lineage.ts).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { RunInput } from '../../workflows/interpreter/run-input.ts';
import type { RunTrust } from '../../workflows/interpreter/trust.ts';
import { eventually, temporalTestEnv, type TemporalTestEnv } from '../support/temporal.ts';
import { activities, chain, compileYaml } from '../interpreter/_defs.ts';

const PWNED = `apiVersion: workflows.cedille.etsmtl.ca/v1alpha1
kind: WorkflowDefinition
metadata: { name: pwned }
spec:
  steps:
    - id: act
      activity: core.echo
      with: { value: pwned }
`;
const FORGED_TRUST: RunTrust = { admitted: true, via: 'ticket', initiator: 'mallory', excluded: [] };

let env: TemporalTestEnv;
let attacker: Client; // a plain client: no codec key
let native: NativeConnection;
let foreign: Worker;
let foreignRun: Promise<void>;
const foreignQueue = `attacker-${randomUUID()}`;

before(async () => {
  env = await temporalTestEnv();
  await env.startWorker();
  attacker = new Client({ connection: await Connection.connect({ address: env.address }), namespace: env.namespace });
  native = await NativeConnection.connect({ address: env.address });
  // The attacker's worker: its own queue, its own code, no codec and no key.
  foreign = await Worker.create({ connection: native, namespace: env.namespace, taskQueue: foreignQueue, workflowsPath: fileURLToPath(new URL('./foreign-workflows.ts', import.meta.url)) });
  foreignRun = foreign.run();
});
after(async () => {
  foreign?.shutdown();
  await foreignRun;
  await native?.close();
  await attacker?.connection.close();
  await env?.close();
});

function startForeign(type: string, args: unknown[], workflowId = `attack-${randomUUID()}`): Promise<WorkflowHandle> {
  return attacker.workflow.start(type, { taskQueue: foreignQueue, workflowId, args });
}

async function refusal(h: WorkflowHandle): Promise<string> {
  const err = await h.result().then((r) => assert.fail(`the run completed: ${JSON.stringify(r)}`), (e: unknown) => e);
  assert.ok(err instanceof WorkflowFailedError, String(err));
  return chain(err).map((c) => `${c.type ?? ''} ${c.message}`).join(' | ');
}

describe('a foreign worker acts through nothing of the platform', { concurrency: true }, () => {
  it('an interpret child it starts on the platform queue with a made-up trust is refused before any activity', async () => {
    const childId = `forged-child-${randomUUID()}`;
    const run: RunInput = { definition: await compileYaml(PWNED), input: {}, trust: FORGED_TRUST };
    const parent = await startForeign('forgeChild', [env.taskQueue, run, childId]);
    const child = env.client.workflow.getHandle(childId);
    await eventually(() => child.describe().then(() => true, () => undefined), 20_000, 'the child to be started');
    assert.match(await refusal(child), /RunNotAdmitted run refused: started by a workflow this worker does not run: run attack-\S+ is a workflow of task queue 'attacker-/);
    assert.deepEqual(await activities(child), [], 'no activity was scheduled');
    assert.match(await refusal(parent), /RunNotAdmitted/);
  });

  it('a continuation into interpret on the platform queue, with a resume state and trust it wrote, is refused', async () => {
    const run: RunInput = {
      definition: await compileYaml(PWNED),
      input: {},
      trust: FORGED_TRUST,
      resume: { next: 0, steps: {}, vars: {}, saga: [], nodes: [], inbox: {}, startTime: new Date().toISOString(), inputs: {} },
    };
    const started = await startForeign('forgeContinuation', [env.taskQueue, run]);
    // The result follows the chain of runs: the continued run's, on the platform's queue.
    const h = env.client.workflow.getHandle(started.workflowId);
    assert.match(await refusal(h), /RunNotAdmitted run refused: started by a workflow this worker does not run: run attack-\S+ is a workflow of task queue 'attacker-/);
    assert.equal((await h.describe()).taskQueue, env.taskQueue, 'the refused run is the continuation on the platform queue');
    assert.deepEqual(await activities(h), [], 'no activity was scheduled');
  });

  it('a catalog activity it schedules on the platform queue is refused without running', async () => {
    const h = await startForeign('forgeActivity', [env.taskQueue, 'core.echo', { value: 'pwned' }]);
    const [echo] = await eventually(async () => ((await activities(h))[0]?.closed ? activities(h) : undefined), 20_000, 'the activity to close');
    assert.equal(echo!.closed!.how, 'failed', 'the activity did not run');
    assert.match(await refusal(h), /ActivityNotAdmitted activity core\.echo refused: run attack-\S+ is a workflow of task queue 'attacker-/);
  });
});

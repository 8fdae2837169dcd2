// The production topology going down under a run (issue 14): the Temporal server restarted, and its
// PostgreSQL crashing (immediate shutdown: recovery at the next start), while runs wait. Once they are
// back, every run finishes, and no step ran twice. Own server and database: the shared ones of the test
// run must not go down under other files.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { startPostgres, type Postgres } from '../../infra/tools/postgres.ts';
import { startTemporalServer, type TemporalServer } from '../../infra/tools/temporal-server.ts';
import { createWorker } from '../../worker/worker.ts';
import { dataConverterFromEnv } from '../../codec/index.ts';
import { eventually, ticketed } from '../support/temporal.ts';
import { activities, compileYaml } from '../interpreter/_defs.ts';
import { graphQuery } from '../../workflows/interpreter/messages.ts';
import type { CompiledDefinition } from '../../workflows/dsl/compiled.ts';

const DEFINITION = `apiVersion: workflows.cedille.etsmtl.ca/v1alpha1
kind: WorkflowDefinition
metadata: { name: outage }
spec:
  steps:
    - id: before
      activity: core.echo
      with: { value: before }
    - id: hold
      waitFor: { signal: go }
    - id: after
      activity: core.echo
      with: { value: after }
  output: "\${{ steps.after.output.value }}"
`;

let postgres: Postgres;
let server: TemporalServer;
let client: Client;
let native: NativeConnection;
let worker: Worker;
let running: Promise<void>;
let definition: CompiledDefinition;
const taskQueue = `outage-${randomUUID()}`;

before(async () => {
  postgres = await startPostgres();
  server = await startTemporalServer({ postgres });
  const dataConverter = dataConverterFromEnv();
  client = new Client({ connection: await Connection.connect({ address: server.address }), namespace: server.namespace, ...(dataConverter ? { dataConverter } : {}) });
  native = await NativeConnection.connect({ address: server.address });
  worker = await createWorker({ connection: native, namespace: server.namespace, taskQueue });
  running = worker.run();
  definition = await compileYaml(DEFINITION);
});
after(async () => {
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await running;
  await native?.close();
  await client?.connection.close();
  await server?.stop();
  await postgres?.stop();
});

async function startWaiting(): Promise<WorkflowHandle> {
  const workflowId = `outage-${randomUUID()}`;
  const h = await client.workflow.start('interpret', { taskQueue, workflowId, args: [ticketed(workflowId, { definition, input: {} })] });
  await eventually(async () => ((await h.query(graphQuery)).nodes.find((n) => n.id === 'hold')?.status === 'waiting' ? true : undefined), 30_000, 'the run to wait');
  return h;
}

/** Signals (again until the server takes it: it may still be recovering) and checks the run's end and its steps. */
async function resumeAndCheck(h: WorkflowHandle): Promise<void> {
  await eventually(() => h.signal('go').then(() => true), 60_000, 'the server to take the signal');
  assert.equal(await h.result(), 'after');
  const steps = (await activities(h)).map((a) => `${a.activityType}:${a.closed?.how}`);
  assert.deepEqual(steps, ['core.echo:completed', 'core.echo:completed'], 'each step ran once');
}

describe('the production topology going down under waiting runs', () => {
  it('a Temporal server restart loses no run and runs no step twice', async () => {
    const runs = await Promise.all([startWaiting(), startWaiting()]);
    await server.restart();
    for (const h of runs) await resumeAndCheck(h);
  });

  it('a PostgreSQL crash and restart under the server loses no run and runs no step twice', async () => {
    const runs = await Promise.all([startWaiting(), startWaiting()]);
    await postgres.restart('immediate');
    for (const h of runs) await resumeAndCheck(h);
  });
});

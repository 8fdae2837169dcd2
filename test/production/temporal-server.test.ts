// The production Temporal server of tests (infra/tools/temporal-server.ts), which test/run.ts starts for
// this folder whatever CEDILLE_TEST_TEMPORAL selects: it is the pinned go.temporal.io/server on PostgreSQL
// (persistence and visibility), and an interpreter run goes end to end on it, leaving its rows in the
// databases and answering visibility queries on the project's search attributes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { TOOL_VERSIONS } from '../../infra/tools/versions.ts';
import { ensurePostgres } from '../../infra/tools/postgres.ts';
import { eventually, temporalTestEnv, type RunningWorker, type TemporalTestEnv } from '../support/temporal.ts';
import { fixture } from '../interpreter/_defs.ts';

const address = process.env.CEDILLE_TEST_TEMPORAL_SERVER_ADDRESS;
const postgresUrl = process.env.CEDILLE_TEST_POSTGRES_URL;
if (!address || !postgresUrl) throw new Error('CEDILLE_TEST_TEMPORAL_SERVER_ADDRESS / CEDILLE_TEST_POSTGRES_URL not set: run with `npm test`');

/** Rows from the server's PostgreSQL (psql, unaligned, tuples only), credentials through the environment. */
async function sql(database: string, query: string): Promise<string[]> {
  const { psql } = await ensurePostgres();
  const url = new URL(postgresUrl!);
  const { stdout } = await promisify(execFile)(psql, ['-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', database, '-c', query], {
    env: { ...process.env, PGHOST: url.hostname, PGPORT: url.port, PGUSER: decodeURIComponent(url.username), PGPASSWORD: decodeURIComponent(url.password) },
  });
  return stdout.split('\n').filter(Boolean);
}

describe('the production Temporal server of tests', () => {
  let env: TemporalTestEnv;
  let worker: RunningWorker;
  before(async () => {
    env = await temporalTestEnv({ connection: { address } });
    worker = await env.startWorker();
  });
  after(async () => {
    await worker?.stop();
    await env?.close();
  });

  it('is the pinned server, with persistence and visibility on PostgreSQL', async () => {
    const conn = await Connection.connect({ address });
    try {
      const cluster = await conn.workflowService.getClusterInfo({});
      assert.equal(cluster.serverVersion, TOOL_VERSIONS.temporalServer);
      assert.equal(cluster.persistenceStore, 'postgres12');
      assert.equal(cluster.visibilityStore, 'postgres12');
      assert.equal(cluster.historyShardCount, 4);
      const ns = await conn.workflowService.describeNamespace({ namespace: env.namespace });
      assert.equal(Number(ns.config?.workflowExecutionRetentionTtl?.seconds), 86_400);
    } finally {
      await conn.close();
    }
    assert.deepEqual(await sql('temporal', `SELECT name FROM namespaces WHERE name = '${env.namespace}'`), [env.namespace]);
    const shards = await sql('temporal', 'SELECT count(*) FROM shards');
    assert.equal(shards[0], '4');
  });

  it('runs an interpreter workflow end to end, recorded in PostgreSQL and found by its search attributes', async () => {
    const definition = await fixture('fan-out');
    const handle = await env.start(definition, { items: [1, 2, 3] });
    const output = (await handle.result()) as { total: number; succeeded: number; results: { output: unknown }[] };
    assert.equal(output.total, 3);
    assert.equal(output.succeeded, 3);
    assert.deepEqual(output.results.map((r) => r.output), [1, 4, 9]);

    const id = handle.workflowId;
    assert.deepEqual(await sql('temporal', `SELECT count(*) FROM executions WHERE workflow_id = '${id}'`), ['1']);
    const query = `WorkflowId = '${id}' AND CedilleDefinition = '${definition.name}' AND CedilleStatus = 'completed'`;
    const found = await eventually(async () => {
      const runs = [];
      for await (const run of env.client.workflow.list({ query })) runs.push(run);
      return runs.length ? runs : undefined;
    }, 20_000, 'the run in SQL visibility');
    assert.deepEqual(found.map((r) => [r.workflowId, r.status.name]), [[id, 'COMPLETED']]);
    // 2: WORKFLOW_EXECUTION_STATUS_COMPLETED
    assert.deepEqual(await sql('temporal_visibility', `SELECT workflow_type_name, status FROM executions_visibility WHERE workflow_id = '${id}'`), ['interpret|2']);
  });
});

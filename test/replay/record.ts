// Records the histories replayed by test/interpreter/replay.test.ts. Run by hand when adding
// scenarios (test/replay/scenarios.ts):
//
//   npx tsx test/replay/record.ts                  # scenarios without a recorded history
//   npx tsx test/replay/record.ts <name>...        # these scenarios (must not be recorded yet)
//   npx tsx test/replay/record.ts --overwrite <name>...   # re-record (only for a broken recording)
//
// Starts its own dev server (infra/tools/temporal-dev-server.ts) and an in-process worker with the
// test catalog, runs each scenario to its end, and writes every execution it produced (each run of a
// continue-as-new chain, child runs, batch children) to histories/<scenario>[.<n>].json as
// { scenario, workflowId, runId, history } (history in Temporal's JSON history format, see
// historyToJson in ./history.ts).
// Existing histories are kept: they are the record of what older interpreter versions did.
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import { CancelledFailure } from '@temporalio/common';
import { startDevServer } from '../../infra/tools/temporal-dev-server.ts';
import { createWorker } from '../../worker/worker.ts';
import { buildWorkflowBundle } from '../../worker/bundle.ts';
import { testCatalog } from '../support/activities/index.ts';
import { HISTORIES_DIR, historyToJson, runChain, startedChildren, type RecordedHistory, type RunHistory } from './history.ts';
import { SCENARIOS, type Scenario } from './scenarios.ts';
import { ticketed } from '../support/temporal.ts';
import { randomBytes } from 'node:crypto';
import type { RunInput } from '../../workflows/interpreter/run-input.ts';

const TASK_QUEUE = 'replay-record';

function filesOf(name: string): string[] {
  return existsSync(HISTORIES_DIR) ? readdirSync(HISTORIES_DIR).filter((f) => f === `${name}.json` || /^\d+\.json$/.test(f.slice(name.length + 1)) && f.startsWith(`${name}.`)) : [];
}
const recorded = (name: string) => filesOf(name).length > 0;

/** Every execution of a run: its continue-as-new chain and, recursively, its children's. */
async function executions(client: Client, workflowId: string, firstRunId: string): Promise<RunHistory[]> {
  const runs = await runChain(client, workflowId, firstRunId);
  const out = [...runs];
  for (const child of startedChildren(runs.flatMap((r) => r.events))) out.push(...(await executions(client, child.workflowId, child.runId)));
  return out;
}

/** Runs a scenario until its history shows what `check` asks for (a timing-dependent shape). */
async function record(client: Client, scenario: Scenario): Promise<RunHistory[]> {
  const attempts = scenario.check ? 30 : 1;
  let missing = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const runs = await run(client, scenario, attempt === 1 ? `replay-${scenario.name}` : `replay-${scenario.name}-${attempt}`);
    missing = scenario.check?.(runs[0]!.history) ?? '';
    if (!missing) return runs;
  }
  throw new Error(`${scenario.name}: ${missing} (${attempts} runs)`);
}

async function run(client: Client, scenario: Scenario, workflowId: string): Promise<RunHistory[]> {
  const unsigned: RunInput = {
    definition: scenario.definition,
    ...(scenario.input !== undefined ? { input: scenario.input } : {}),
    ...(scenario.initiator ? { initiator: scenario.initiator } : {}),
    ...(scenario.options ? { options: scenario.options } : {}),
  };
  const runInput = scenario.ticket ? ticketed(workflowId, unsigned) : unsigned;
  const handle = scenario.workflowType
    ? await client.workflow.start(scenario.workflowType, {
        taskQueue: TASK_QUEUE,
        workflowId,
        args: [scenario.input ?? {}],
        ...(scenario.initiator ? { memo: { initiator: scenario.initiator } } : {}),
      })
    : await client.workflow.start('interpret', { taskQueue: TASK_QUEUE, workflowId, args: [runInput] });
  await scenario.drive?.(handle, client);
  let ended: Scenario['expect'] = 'completed';
  let why = '';
  try {
    await handle.result();
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    ended = err.cause instanceof CancelledFailure ? 'cancelled' : 'failed';
    why = `: ${err.cause?.message ?? err.message}`;
  }
  if (ended !== scenario.expect) throw new Error(`${scenario.name}: expected the run to end ${scenario.expect}, it ended ${ended}${why}`);
  return executions(client, workflowId, handle.firstExecutionRunId);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const overwrite = args.includes('--overwrite');
  const names = args.filter((a) => !a.startsWith('--'));
  for (const n of names) if (!SCENARIOS.some((s) => s.name === n)) throw new Error(`unknown scenario ${n}`);
  const chosen = SCENARIOS.filter((s) => (names.length ? names.includes(s.name) : true));
  const blocked = chosen.filter((s) => recorded(s.name));
  if (names.length && blocked.length && !overwrite) throw new Error(`already recorded (old histories are kept; use --overwrite only to repair a bad recording): ${blocked.map((s) => s.name).join(', ')}`);
  const todo = overwrite ? chosen : chosen.filter((s) => !recorded(s.name));
  if (!todo.length) {
    console.log('every scenario has a recorded history; nothing to do');
    return;
  }

  Runtime.install({ logger: new DefaultLogger('ERROR') });
  // The signing key of this recording (tickets, approval tokens); replays need none.
  process.env.CEDILLE_LINK_SECRET ||= randomBytes(32).toString('base64url');
  const server = await startDevServer();
  try {
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection, namespace: server.namespace });
    const native = await NativeConnection.connect({ address: server.address });
    const named = new Map(SCENARIOS.filter((s) => s.workflowType).map((s) => [s.workflowType!, s.definition]));
    const worker = await createWorker({
      connection: native,
      namespace: server.namespace,
      taskQueue: TASK_QUEUE,
      catalog: await testCatalog(),
      registry: { getByWorkflowType: (type) => named.get(type), getByHash: (hash) => SCENARIOS.find((s) => s.definition.hash === hash)?.definition, refresh: async () => undefined },
      workflowBundle: await buildWorkflowBundle(),
      // Committed histories stay in clear whatever CEDILLE_CODEC_KEYS says (the replay test decodes nothing).
      dataConverter: {},
    });
    await worker.runUntil(async () => {
      mkdirSync(HISTORIES_DIR, { recursive: true });
      for (const scenario of todo) {
        const histories = await record(client, scenario);
        for (const f of filesOf(scenario.name)) rmSync(join(HISTORIES_DIR, f));
        histories.forEach((h, i) => {
          const file = join(HISTORIES_DIR, i === 0 ? `${scenario.name}.json` : `${scenario.name}.${i}.json`);
          const record: RecordedHistory = { scenario: scenario.name, workflowId: h.workflowId, runId: h.runId, history: historyToJson(h.history) };
          writeFileSync(file, `${JSON.stringify(record)}\n`);
        });
        console.log(`${scenario.name}: ${histories.length} execution(s), ${histories.reduce((n, h) => n + h.events.length, 0)} events`);
      }
    });
    await native.close();
    await connection.close();
  } finally {
    await server.stop();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();

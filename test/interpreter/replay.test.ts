// The replay safety net: every history recorded under test/replay/histories/ (by older and current
// versions of the interpreter, see test/replay/record.ts) must replay against the current workflow
// bundle without a nondeterminism error. A failure here means a change alters the commands of runs
// that may be in flight: guard it with `patched('<id>')` (docs/ARCHITECTURE.md, "Changing the
// interpreter").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker, Runtime, DefaultLogger } from '@temporalio/worker';
import { buildWorkflowBundle } from '../../worker/bundle.ts';
import { HISTORIES_DIR, historyFromJson, type RecordedHistory } from '../replay/history.ts';
import { SCENARIOS } from '../replay/scenarios.ts';

function recordedHistories(): { file: string; record: RecordedHistory }[] {
  return readdirSync(HISTORIES_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, record: JSON.parse(readFileSync(join(HISTORIES_DIR, file), 'utf8')) as RecordedHistory }));
}

test('every scenario has a recorded history', () => {
  const recorded = new Set(recordedHistories().map((h) => h.record.scenario));
  const missing = SCENARIOS.map((s) => s.name).filter((n) => !recorded.has(n));
  assert.deepEqual(missing, [], 'record them: npx tsx test/replay/record.ts');
});

test('recorded histories replay without nondeterminism', { timeout: 120_000 }, async (t) => {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // another test in this process installed the runtime already
  }
  const histories = recordedHistories();
  assert.ok(histories.length >= SCENARIOS.length);
  const byRun = new Map(histories.map((h) => [h.record.runId, h.file]));
  const workflowBundle = process.env.CEDILLE_WORKFLOW_BUNDLE ? { codePath: process.env.CEDILLE_WORKFLOW_BUNDLE } : await buildWorkflowBundle();

  const failures: string[] = [];
  let replayed = 0;
  const results = Worker.runReplayHistories(
    { workflowBundle, replayName: 'cedille-replay-test' },
    histories.map(({ record }) => ({ workflowId: record.workflowId, history: historyFromJson(record.history) })),
  );
  for await (const result of results) {
    replayed++;
    if (result.error) failures.push(`${byRun.get(result.runId) ?? result.workflowId}: ${result.error.name}: ${result.error.message}`);
  }
  t.diagnostic(`${replayed} histories replayed`);
  assert.equal(replayed, histories.length);
  assert.deepEqual(failures, []);
});

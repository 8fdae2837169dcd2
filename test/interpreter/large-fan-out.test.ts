// Issue 18's CI test: a 10,000-item forEach whose items each return ~1 KB completes on the real server
// with no payload over 512 KB in any execution's history: the per-item results (~10 MB) go to pages in
// the result store (the claim-check store, a local directory here) and the step's output is a few
// hundred bytes. A 1,000-item run is measured too. Figures are printed as test diagnostics.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateKey } from '../../codec/index.ts';
import { temporalTestEnv, type TemporalTestEnv } from '../support/temporal.ts';
import { NO_DEFINITIONS, testCatalog } from '../support/activities/index.ts';
import { runFigures } from '../support/history-figures.ts';
import { itemsOf } from '../support/fan-out.ts';
import { firstRunId } from '../replay/history.ts';
import { fanOutDefinition } from './_defs.ts';
import type { PagedFanOutOutput } from '../../workflows/interpreter/steps/for-each.ts';

const ITEM_BYTES = 1_000;
const MAX_PAYLOAD = 512 * 1024;

const definition = fanOutDefinition('large-fan-out', { kind: 'activity', id: 'make', activity: 'test.payload', with: { index: '${{ item }}', bytes: ITEM_BYTES }, retry: { maximumAttempts: 5 }, timeouts: { startToCloseMs: 30_000 } });

let env: TemporalTestEnv;
let store: string | undefined;

before(async () => {
  // A result store for this file when the suite runs without one (read by the worker and the test client alike).
  if (!process.env.CEDILLE_CLAIM_CHECK_URL) {
    store = mkdtempSync(join(tmpdir(), 'cedille-large-fan-out-'));
    process.env.CEDILLE_CODEC_KEYS ||= `${generateKey('large').id}:${generateKey().key.toString('base64')}`;
    process.env.CEDILLE_CLAIM_CHECK_URL = pathToFileURL(store).href;
  }
  env = await temporalTestEnv();
  await env.startWorker({ catalog: await testCatalog(), registry: NO_DEFINITIONS, tuning: { maxConcurrentActivityTaskExecutions: 200, maxConcurrentWorkflowTaskExecutions: 40 } });
});
after(async () => {
  await env?.close();
  if (store) rmSync(store, { recursive: true, force: true });
});

describe('a large fan-out keeps its per-item results out of history', () => {
  for (const count of [1_000, 10_000]) {
    it(`${count.toLocaleString('en')} items of ~1 KB: no payload over 512 KB, every result readable`, { timeout: 900_000 }, async (t) => {
      const started = Date.now();
      const items = Array.from({ length: count }, (_, i) => i);
      const h = await env.start(definition, { items });
      const { fan } = (await h.result()) as { fan: PagedFanOutOutput };
      const seconds = (Date.now() - started) / 1000;

      assert.deepEqual([fan.total, fan.succeeded, fan.failed, fan.failures.length], [count, count, 0, 0]);
      const output = JSON.stringify(fan).length;
      assert.ok(output < 1024, `the step output is ${output} bytes`);

      const f = await runFigures(env.client, h.workflowId, firstRunId(h));
      t.diagnostic(
        `${count} items: ${seconds.toFixed(1)} s; ${f.executions} executions, ${f.events} events, ${f.bytes} history bytes; ` +
          `largest execution ${f.largestExecution.events} events / ${f.largestExecution.bytes} bytes; largest payload ${f.largestPayload} bytes; step output ${output} bytes`,
      );
      assert.ok(f.largestPayload <= MAX_PAYLOAD, `largest payload ${f.largestPayload} bytes`);

      const results = await itemsOf(fan.results);
      assert.equal(results.length, count);
      results.forEach((r, i) => {
        assert.equal(r.index, i);
        assert.equal(r.status, 'completed');
        assert.equal((r.output as { data: string }).data.length, ITEM_BYTES);
      });
    });
  }
});

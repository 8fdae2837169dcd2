// A run whose workflow tasks keep failing is shown as `stuck`, with Temporal's reason, by the run
// views (GET /v1/runs/:id, the listing) and `cedille get`. The run here returns a 2 MiB output with no
// claim check: every workflow task fails with a payload over Temporal's limit.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiTestEnv } from '../support/api.ts';
import { eventually } from '../support/temporal.ts';
import { runsTestEnv, startRun } from './_runs-support.ts';
import { runSummary } from '../../cli/render/tree.ts';

// The claim check would move the value out of history and the run would not be stuck.
delete process.env.CEDILLE_CLAIM_CHECK_URL;
delete process.env.CEDILLE_CLAIM_CHECK_THRESHOLD;

let env: ApiTestEnv;
before(async () => {
  env = await runsTestEnv(['api-stuck']);
});
after(() => env?.close());

describe('stuck runs', () => {
  it('GET /v1/runs/:id and the listing show a run whose workflow tasks keep failing as stuck, with the reason', { timeout: 120_000 }, async (t) => {
    const id = await startRun(env, 'operator', 'api-stuck');
    const body = await eventually(async () => {
      const res = await env.as('admin', { method: 'GET', url: `/v1/runs/${id}` });
      const b = res.json();
      return res.statusCode === 200 && b.run.status === 'stuck' ? b : undefined;
    }, 90_000, 'the run to show as stuck');
    assert.equal(body.run.temporalStatus, 'RUNNING');
    t.diagnostic(`stuck: ${body.run.stuck}`);
    assert.match(body.run.stuck, /PayloadsTooLarge|WorkflowTaskFailed|workflow task failing: attempt \d+/);
    const text = runSummary(body);
    assert.match(text, new RegExp(`run ${id}  stuck`));
    assert.match(text, /stuck {7}.+Temporal retries its workflow task/);

    const listed = await eventually(async () => {
      const res = await env.as('admin', { method: 'GET', url: '/v1/runs?definition=api-stuck' });
      return (res.json().runs as { id: string; status: string; stuck?: string }[]).find((r) => r.id === id && r.status === 'stuck');
    }, 60_000, 'the listing to show the run as stuck');
    assert.ok(listed.stuck);
    await env.as('admin', { method: 'POST', url: `/v1/runs/${id}/cancel` });
    await env.temporal.client.workflow.getHandle(id).terminate('test over');
  });
});

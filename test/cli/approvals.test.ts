// Approvals through the CLI: the pending list for an approver, approve as a second identity,
// self-approval refused (exit 5), not an approver (exit 3), a late answer (exit 5), unknown run (exit 4).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { APPROVAL, cliEnv, show, type CliEnv } from './_support.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('cedille approve, reject, approvals', { concurrency: true }, () => {
  let env: CliEnv;
  before(async () => {
    env = await cliEnv();
    const r = await env.cli(['apply', '-f', env.file('approval.yaml', APPROVAL)]);
    assert.equal(r.code, 0, show(r));
  });
  after(() => env.close());

  async function start(definition: string): Promise<string> {
    const r = await env.cli(['run', definition, '-o', 'json'], { as: 'sre' });
    assert.equal(r.code, 0, show(r));
    return (JSON.parse(r.stdout) as { run: { id: string } }).run.id;
  }

  it('approve as a second identity; self-approval is refused with exit 5', async () => {
    const id = await start('cli-approval');
    let pending = '';
    for (let i = 0; i < 40 && !pending.includes(id); i++) {
      pending = (await env.cli(['approvals'], { as: 'sre2' })).stdout;
      if (!pending.includes(id)) await sleep(250);
    }
    assert.match(pending, new RegExp(`^${id}\\s+review\\s+Ship it\\?\\s+sre\\s+\\d{4}-.*ada-sre$`, 'm'), pending);

    const self = await env.cli(['approve', id, 'review', '-m', 'mine'], { as: 'sre' });
    assert.equal(self.code, 5, show(self));
    assert.match(self.stderr, /^error: .*ada-sre.*\(409 /m);
    const notApprover = await env.cli(['approve', id, 'review'], { as: 'etsIt' });
    assert.equal(notApprover.code, 3, show(notApprover));

    const ok = await env.cli(['approve', id, 'review', '-m', 'lgtm'], { as: 'sre2' });
    assert.equal(ok.code, 0, show(ok));
    assert.equal(ok.stdout, `approved ${id} review: approved\n`);
    const again = await env.cli(['reject', id, 'review', '-m', 'too late'], { as: 'sre2' });
    assert.equal(again.code, 5, show(again));

    const watch = await env.cli(['watch', id]);
    assert.equal(watch.code, 0, show(watch));
    const get = await env.cli(['get', id]);
    assert.match(get.stdout, /approval "Ship it\?": 1 approval\(s\) from sre; approved/);
    assert.match(get.stdout, /approved by grace-sre at .*: lgtm/);
  });

  it('answering an unknown run exits 4', async () => {
    const r = await env.cli(['approve', 'no-such-run', 'review'], { as: 'sre2' });
    assert.equal(r.code, 4, show(r));
    assert.match(r.stderr, /no-such-run.*\(404 /);
  });
});

// Runs through the CLI: run --watch on a fan-out (progress lines, exit 0/1), get (the step tree),
// history, runs, cancel, paused fan-outs (retry-failed, skip-failed), unknown runs (exit 4), invalid
// input (exit 1), Ctrl-C while watching (130).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { APPROVAL, cliEnv, FIXTURES, show, type CliEnv } from './_support.ts';
import type { Who } from '../support/api.ts';


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('cedille runs', { concurrency: true }, () => {
  let env: CliEnv;
  before(async () => {
    env = await cliEnv();
    for (const file of [join(FIXTURES, 'fan-out.yaml'), join(FIXTURES, 'fan-out-retry.yaml'), env.file('approval.yaml', APPROVAL)]) {
      const r = await env.cli(['apply', '-f', file]);
      assert.equal(r.code, 0, show(r));
    }
  });
  after(() => env.close());

  /** Starts a run as `who` and returns its id. */
  async function start(definition: string, args: string[] = [], who: Who = 'sre'): Promise<string> {
    const r = await env.cli(['run', definition, ...args, '-o', 'json'], { as: who });
    assert.equal(r.code, 0, show(r));
    return (JSON.parse(r.stdout) as { run: { id: string } }).run.id;
  }

  /** Polls `get` until `check` holds for the step `step`. */
  async function until(id: string, step: string, check: (node: { status: string }) => boolean): Promise<void> {
    for (let i = 0; i < 80; i++) {
      const r = await env.cli(['get', id, '-o', 'json']);
      const node = (JSON.parse(r.stdout) as { graph: { nodes: { id: string; status: string }[] } | null }).graph?.nodes.find((n) => n.id === step);
      if (node && check(node)) return;
      await sleep(250);
    }
    assert.fail(`step ${step} of ${id} never got there`);
  }

  it('run --watch follows a fan-out to completion (exit 0); get shows the tree; history and runs list it', async () => {
    const r = await env.cli(['run', 'fan-out', '--set', 'items=[1,2,3,4]', '--watch'], { as: 'sre' });
    assert.equal(r.code, 0, show(r));
    const id = /^started run (\S+)$/m.exec(r.stdout)?.[1];
    assert.ok(id, show(r));
    assert.match(r.stdout, /▶ fan: pending → running/);
    assert.match(r.stdout, /▦ fan: 4\/4 succeeded, 0 failed$/m);
    assert.match(r.stdout, /✔ after: \w+ → completed/);
    assert.match(r.stdout, new RegExp(`^run ${id} completed in [\\d.]+m?s$`, 'm'));

    const get = await env.cli(['get', id], { as: 'nobody' });
    assert.equal(get.code, 0, show(get));
    assert.match(get.stdout, new RegExp(`^run ${id}  completed$`, 'm'));
    assert.match(get.stdout, /^ {2}initiator {3}ada-sre$/m);
    assert.match(get.stdout, /^ {2}✔ fan {2}forEach {2}completed {2}[\d.]+m?s {2}4\/4 succeeded, 0 failed$/m);
    assert.match(get.stdout, /^ {4}\S nap {2}activity core\.sleep {2}\w+/m);
    assert.match(get.stdout, /^ {4}\S reserve {2}activity core\.echo/m);
    assert.match(get.stdout, /^ {6}compensate:\n {8}\S release {2}activity core\.echo/m);
    assert.match(get.stdout, /^ {2}✔ after {2}activity core\.echo {2}completed {2}attempt 1 {2}[\d.]+m?s$/m);

    const json = await env.cli(['get', id, '--output', 'json']);
    assert.equal((JSON.parse(json.stdout) as { run: { status: string } }).run.status, 'completed');

    const history = await env.cli(['history', id]);
    assert.equal(history.code, 0, show(history));
    assert.match(history.stdout, /^#\s+TIME\s+TYPE\s+SUMMARY/);
    assert.match(history.stdout, /run\.started/);
    assert.match(history.stdout, /run\.completed/);

    let listed = '';
    for (let i = 0; i < 40 && !listed.includes(id); i++) {
      listed = (await env.cli(['runs', '--definition', 'fan-out', '--initiator', 'ada-sre', '--since', '1h', '--limit', '50'])).stdout;
      if (!listed.includes(id)) await sleep(250);
    }
    assert.match(listed, new RegExp(`^${id}\\s+fan-out\\s+completed\\s+ada-sre\\s+\\d{4}-`, 'm'), listed);
  });

  it('run --watch exits 1 when the run fails; invalid input exits 1 naming the field', async () => {
    const failed = await env.cli(['run', 'fan-out', '--set', 'items=[1,-2]', '--watch'], { as: 'sre' });
    assert.equal(failed.code, 1, show(failed));
    assert.match(failed.stdout, /▦ fan: 1\/2 succeeded, 1 failed/);
    assert.match(failed.stdout, /^run \S+ failed in [\d.]+m?s: .*negative item -2/m);

    const invalid = await env.cli(['run', 'fan-out', '--set', 'items=nope'], { as: 'sre' });
    assert.equal(invalid.code, 1, show(invalid));
    assert.match(invalid.stderr, /^ {2}body\.input\.items: /m);
  });

  it('cancel closes a run (watch exits 1); cancelling it again is a conflict (exit 5)', async () => {
    const id = await start('cli-approval');
    await until(id, 'review', (n) => n.status === 'waiting');
    const get = await env.cli(['get', id]);
    assert.match(get.stdout, /pending approvers: sre \(deadline /, show(get));
    const cancel = await env.cli(['cancel', id, '--reason', 'not today'], { as: 'operator' });
    assert.equal(cancel.code, 0, show(cancel));
    const watch = await env.cli(['watch', id]);
    assert.equal(watch.code, 1, show(watch));
    assert.match(watch.stdout, new RegExp(`^run ${id} cancelled`, 'm'));
    const again = await env.cli(['cancel', id], { as: 'operator' });
    assert.equal(again.code, 5, show(again));
  });

  it('retry-failed and skip-failed act on a paused fan-out', async () => {
    const id = await start('fan-out-retry', ['--set', 'items=[1,2]']);
    await until(id, 'fan', (n) => n.status === 'paused');
    const retry = await env.cli(['retry-failed', id, 'fan'], { as: 'operator' });
    assert.equal(retry.code, 0, show(retry));
    assert.equal(retry.stdout, 'fan: retrying 1 failed item(s)\n');
    await until(id, 'fan', (n) => n.status === 'paused');
    const skip = await env.cli(['skip-failed', id, 'fan'], { as: 'operator' });
    assert.equal(skip.code, 0, show(skip));
    assert.equal(skip.stdout, 'fan: skipped 1 failed item(s)\n');
    const watch = await env.cli(['watch', id]);
    assert.ok(watch.code === 0 || watch.code === 1, show(watch));
    const notPaused = await env.cli(['skip-failed', id, 'fan'], { as: 'operator' });
    assert.equal(notPaused.code, 5, show(notPaused));
  });

  it('unknown runs exit 4', async () => {
    const [get, watch, cancel] = await Promise.all([
      env.cli(['get', 'no-such-run']),
      env.cli(['watch', 'no-such-run']),
      env.cli(['cancel', 'no-such-run'], { as: 'operator' }),
    ]);
    for (const r of [get, watch, cancel]) {
      assert.equal(r.code, 4, show(r));
      assert.match(r.stderr, /no-such-run.*\(404 /);
    }
  });

  it('Ctrl-C stops watching with exit 130 and leaves the run going', async () => {
    const id = await start('cli-approval');
    const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'watch', id], {
      cwd: join(FIXTURES, '..', '..', '..'),
      env: { ...process.env, XDG_CONFIG_HOME: env.configHome, CEDILLE_API_URL: env.url, CEDILLE_TOKEN: env.api.tokens.admin },
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (stdout.includes('review: pending → waiting')) child.kill('SIGINT');
      });
      child.on('close', (c) => resolve(c));
    });
    assert.equal(code, 130, `${stdout}\n${stderr}`);
    assert.match(stderr, /stopped watching .*the run goes on/);
    const get = await env.cli(['get', id]);
    assert.match(get.stdout, new RegExp(`^run ${id}  waiting$`, 'm'), show(get));
    assert.equal((await env.cli(['cancel', id], { as: 'operator' })).code, 0);
  });
});

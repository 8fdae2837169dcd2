// `cedille get <run> --items <step>`: a forEach's per-item results read page by page (a small page
// size makes several requests), every item once in order, as text lines or JSON lines; an unknown
// step exits non-zero with the API's reason.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cliEnv, show, type CliEnv } from './_support.ts';
import { itemLine } from '../../cli/commands/items.ts';

const FAN = `apiVersion: workflows.cedille.etsmtl.ca/v1alpha1
kind: WorkflowDefinition
metadata:
  name: cli-items
spec:
  steps:
    - id: fan
      forEach:
        items: "\${{ [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22] }}"
        concurrency: 5
        onItemFailure: continue
        steps:
          - id: echo
            activity: core.echo
            with: { value: "n\${{ item }}" }
          - id: boom
            when: "\${{ item == 13 }}"
            fail: { message: "unlucky \${{ item }}" }
        output: "\${{ steps.echo.output.value }}"
`;

let env: CliEnv;
let id: string;
before(async () => {
  env = await cliEnv();
  const applied = await env.cli(['apply', '-f', env.file('items.yaml', FAN)]);
  assert.equal(applied.code, 0, show(applied));
  const ran = await env.cli(['run', 'cli-items', '--watch', '-o', 'json']);
  assert.equal(ran.code, 0, show(ran));
  id = (JSON.parse(ran.stdout) as { run: { id: string } }).run.id;
});
after(() => env?.close());

describe('cedille get --items', () => {
  it('prints every item once, in order, over several pages', async () => {
    const r = await env.cli(['get', id, '--items', 'fan', '--page-size', '5']);
    assert.equal(r.code, 0, show(r));
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /index\s+status\s+output \/ error/);
    assert.equal(lines.at(-1), '23 of 23 item(s), 1 failed');
    const items = lines.slice(1, -1);
    assert.equal(items.length, 23);
    assert.equal(items[0], itemLine({ index: 0, status: 'completed', output: 'n0' }));
    assert.match(items[13]!, /^\s+13\s+failed\s+.*unlucky 13/);
  });

  it('-o json prints one item per line', async () => {
    const r = await env.cli(['get', id, '--items', 'fan', '--page-size', '4', '-o', 'json']);
    assert.equal(r.code, 0, show(r));
    const items = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { index: number; status: string; output?: string });
    assert.deepEqual(items.map((i) => i.index), Array.from({ length: 23 }, (_, i) => i));
    assert.deepEqual(items[22], { index: 22, status: 'completed', output: 'n22' });
  });

  it('an unknown step fails with the reason', async () => {
    const r = await env.cli(['get', id, '--items', 'nope']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no step 'nope'/);
  });
});

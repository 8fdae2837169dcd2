// A run's result through `cedille get` and GET /v1/runs/:id (issue 13 items 7 and 9): the output of a
// completed run, secrets redacted, shortened past the size cap with a note saying where; the failure
// of a failed one; and a multi-line error kept on one line in `cedille watch`'s progress output.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cliEnv, show, type CliEnv } from './_support.ts';

const OUTPUT = `apiVersion: workflows.cedille.etsmtl.ca/v1alpha1
kind: WorkflowDefinition
metadata:
  name: cli-output
spec:
  input:
    type: object
    properties:
      password: { type: string }
      items: { type: array, items: { type: string } }
  steps:
    - id: hello
      activity: core.echo
      with: { value: ready }
  output:
    greeting: "\${{ steps.hello.output.value }}"
    password: "\${{ inputs.password }}"
    apiToken: "vault:secret/data/ci#token"
    keysSecret: vault-keys
    notes: "called with Authorization: Bearer abcdefghijklmnop0123"
    items: "\${{ inputs.items }}"
`;

const FAILS = `apiVersion: workflows.cedille.etsmtl.ca/v1alpha1
kind: WorkflowDefinition
metadata:
  name: cli-fails
spec:
  steps:
    - id: boom
      fail: { message: "first line of the failure\\nsecond line: token ghp_abcdefghijklmnopqrstuvwxyz0123" }
`;

let env: CliEnv;
before(async () => {
  env = await cliEnv();
  for (const [name, text] of [['output.yaml', OUTPUT], ['fails.yaml', FAILS]] as const) {
    const r = await env.cli(['apply', '-f', env.file(name, text)]);
    assert.equal(r.code, 0, show(r));
  }
});
after(() => env?.close());

describe('the result of a run', () => {
  it('cedille get and GET /v1/runs/:id show the output: redacted, capped, the cut said', async () => {
    const items = Array.from({ length: 5000 }, (_, i) => `item-${String(i).padStart(5, '0')}-${'x'.repeat(90)}`);
    const input = env.file('input.json', JSON.stringify({ password: 'hunter2-correct-horse', items }));
    const ran = await env.cli(['run', 'cli-output', '--input', input, '--watch', '-o', 'json']);
    assert.equal(ran.code, 0, show(ran));
    const id = (JSON.parse(ran.stdout) as { run: { id: string } }).run.id;

    const json = await env.cli(['get', id, '-o', 'json']);
    assert.equal(json.code, 0, show(json));
    const detail = JSON.parse(json.stdout);
    assert.equal(detail.output.greeting, 'ready');
    assert.equal(detail.output.password, '[redacted]');
    assert.equal(detail.output.apiToken, 'vault:secret/data/ci#token', 'a secret reference is not a secret');
    assert.equal(detail.output.keysSecret, 'vault-keys', "a Kubernetes Secret's name is not a secret");
    assert.equal(detail.output.notes, 'called with Authorization: Bearer [redacted]');
    assert.equal(detail.output.items.length, 1000);
    assert.equal(detail.output.items[0], items[0]);
    assert.deepEqual(detail.outputInfo.truncated, [{ path: 'items', kept: 1000, total: 5000, unit: 'items' }]);
    assert.equal(detail.outputInfo.redacted, 2);
    assert.ok(detail.outputInfo.bytes > 500_000);
    assert.ok(!json.stdout.includes('hunter2'));

    const text = await env.cli(['get', id]);
    assert.equal(text.code, 0, show(text));
    assert.match(text.stdout, /^output:$/m);
    assert.match(text.stdout, /^ {2}greeting: ready$/m);
    assert.match(text.stdout, /^ {2}password: \[redacted\]$/m);
    assert.match(text.stdout, /shortened: items keeps 1000 of 5000 items/);
    assert.match(text.stdout, /2 secret value\(s\) shown as \[redacted\]/);
  });

  it('a failed run: its failure in get; watch keeps a multi-line error on one line', async () => {
    const watched = await env.cli(['run', 'cli-fails', '--watch']);
    assert.equal(watched.code, 1, show(watched));
    const lines = watched.stdout.split('\n').filter(Boolean);
    for (const line of lines) assert.match(line, /^(started run |watching run |\d\d:\d\d:\d\d |run \S+ failed)/, `a line of its own:\n${watched.stdout}`);
    assert.ok(lines.some((l) => /boom: .*first line of the failure; second line/.test(l)), watched.stdout);
    const id = /^started run (\S+)/m.exec(watched.stdout)?.[1];
    assert.ok(id, watched.stdout);

    const json = await env.cli(['get', id, '-o', 'json']);
    const detail = JSON.parse(json.stdout);
    assert.match(detail.failure.message, /first line of the failure/);
    assert.ok(!JSON.stringify(detail.failure).includes('ghp_'), 'a GitHub token in a message is redacted');
    assert.equal(detail.output, undefined);
    const text = await env.cli(['get', id]);
    assert.match(text.stdout, /^failure.*:$/m);
    assert.match(text.stdout, /first line of the failure/);
  });
});

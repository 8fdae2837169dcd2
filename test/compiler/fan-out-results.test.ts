// The compiler warns where a definition reads a forEach's per-item results as one value (they are
// loaded from their pages each time), and says nothing about the bounded fields of the output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readsAllItems } from '../../workflows/interpreter/item-pages.ts';
import { compile, withSteps } from './support.ts';

const fan = `- id: fan
  forEach:
    items: "\${{ [1, 2, 3] }}"
    concurrency: 2
    steps:
      - id: x
        activity: core.echo
        with: { value: "\${{ item }}" }`;

function warningsFor(step: string, output = ''): { line: number; column: number; path: string; message: string; code: string }[] {
  const text = withSteps(`${fan}\n${step}`, output);
  const result = compile(text);
  assert.ok(result.ok, result.ok ? '' : result.errors.map((e) => e.message).join('\n'));
  return result.warnings;
}

test('reading steps.<forEach>.output.results warns, at the expression, naming the bounded fields and the items route', () => {
  const [w, ...rest] = warningsFor('- id: after\n  activity: core.echo\n  with: { value: "${{ steps.fan.output.results.map(r, r.output) }}" }');
  assert.equal(rest.length, 0);
  assert.equal(w!.code, 'foreach-results');
  assert.equal(w!.path, 'spec.steps[1].with.value');
  const text = withSteps(`${fan}\n- id: after`);
  assert.equal(w!.line, text.trimEnd().split('\n').length + 2, 'the line of the expression');
  assert.match(w!.message, /reads every per-item result of forEach 'fan' as one value/);
  assert.match(w!.message, /steps\.fan\.output\.total\/succeeded\/failed\/failures/);
  assert.match(w!.message, /GET \/v1\/runs\/\{run\}\/steps\/fan\/items/);
});

test('the whole output, in spec.output, warns too; bounded fields and status do not', () => {
  assert.equal(warningsFor('', 'output: "${{ steps.fan.output }}"').length, 1);
  const quiet = warningsFor('- id: after\n  activity: core.echo\n  with: { value: "${{ steps.fan.output.succeeded }}/${{ steps.fan.output.failures.size() }} ${{ steps.fan.status }}" }');
  assert.deepEqual(quiet, []);
});

test('readsAllItems tells whole reads from bounded ones, and other steps whose id starts alike', () => {
  assert.equal(readsAllItems('steps.fan.output.results[0]', 'fan'), true);
  assert.equal(readsAllItems('steps.fan.output', 'fan'), true);
  assert.equal(readsAllItems('f(steps.fan)', 'fan'), true);
  assert.equal(readsAllItems('steps.fan.output.failed + steps.fan.output.total', 'fan'), false);
  assert.equal(readsAllItems('steps.fan.error', 'fan'), false);
  assert.equal(readsAllItems('steps.fanOut.output.results', 'fan'), false);
  assert.equal(readsAllItems('steps.fan_2.output', 'fan'), false);
  assert.equal(readsAllItems('xsteps.fan.output', 'fan'), false);
});

// Which steps an expression may reference (see workflows/compiler/scope.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile, errorsOf, withSteps } from './support.ts';

// One activity step on one line, so it can be dropped at any indentation.
const echo = (id: string, value: string) => `- { id: ${id}, activity: core.echo, with: { value: "\${{ ${value} }}" } }`;
const ok = (steps: string, extra = '') => {
  const result = compile(withSteps(steps, extra));
  assert.ok(result.ok, result.ok ? '' : result.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
};

test('earlier siblings and ancestors’ earlier siblings are visible', () => {
  ok(`
    ${echo('a', '1')}
    - id: block
      sequence:
        ${echo('b', 'steps.a.output.value')}
        - id: inner
          sequence:
            ${echo('c', 'steps.a.output.value + steps.b.output.value')}
  `);
});

test('steps of finished blocks are visible later; branch steps too (they may be absent)', () => {
  ok(`
    - id: both
      parallel:
        - id: left
          activity: core.echo
        - id: right
          activity: core.echo
    - id: check
      if: "\${{ true }}"
      then:
        - id: yes
          activity: core.echo
    - id: pick
      switch:
        - case: "\${{ has(steps.yes) }}"
          steps:
            - id: one
              activity: core.echo
    - id: after
      activity: core.echo
      with: { value: "\${{ [steps.left.output.value, steps.right.output.value, steps.yes.output.value, steps.one.output.value, steps.both.status] }}" }
  `);
});

test('sibling parallel branches, later steps and the step itself are not visible', () => {
  const errors = errorsOf(
    withSteps(`
      - id: both
        parallel:
          - id: left
            activity: core.echo
            with: { value: "\${{ steps.right.output.value }}" }
          - id: right
            activity: core.echo
      - id: early
        activity: core.echo
        with: { value: "\${{ steps.late.output.value }}" }
      - id: late
        activity: core.echo
        with: { value: "\${{ steps.late.output.value }}" }
      - id: outer
        sequence:
          - id: inside
            activity: core.echo
            with: { value: "\${{ steps.outer.status }}" }
    `),
  );
  assert.deepEqual(errors, [
    "spec.steps[0].parallel[0].with.value: step 'right' runs in a parallel branch beside this one",
    "spec.steps[1].with.value: step 'late' runs later",
    "spec.steps[2].with.value: step 'late' cannot use its own output (it has not finished yet)",
    "spec.steps[3].sequence[0].with.value: step 'outer' has not finished yet (this expression is inside it)",
  ]);
});

test('a when guard sees the steps before its step, not the step', () => {
  ok(`${echo('a', '1')}\n- id: b\n  activity: core.echo\n  when: "\${{ steps.a.output.value == 1 }}"`);
  assert.deepEqual(errorsOf(withSteps(`- id: b\n  activity: core.echo\n  when: "\${{ steps.b.status == 'ok' }}"`)), [
    "spec.steps[0].when: step 'b' cannot use its own output (it has not finished yet)",
  ]);
});

test('forEach: item, index and earlier body steps inside; only the forEach step outside', () => {
  ok(`
    - id: each
      forEach:
        items: "\${{ ['a', 'b'] }}"
        as: name
        concurrency: 5
        steps:
          - id: first
            activity: core.log
            with: { message: "\${{ name + string(index) }}" }
          - id: second
            activity: core.log
            with: { message: "\${{ steps.first.output.message }}" }
        output: "\${{ steps.second.output.message }}"
    - id: after
      activity: core.echo
      with: { value: "\${{ steps.each.output.results.filter(r, r.status == 'failed').size() + steps.each.output.total }}" }
  `);
  assert.deepEqual(errorsOf(withSteps(`- id: each\n  forEach: { items: "\${{ [1] }}", concurrency: 1, steps: [{ id: x, activity: core.echo }] }\n${echo('after', 'item')}`)), [
    'spec.steps[1].with.value: type error in `item`: Unknown variable: item',
  ]);
});

test('compensate steps see the compensated step and what came before', () => {
  ok(`
    ${echo('a', '1')}
    - id: b
      activity: core.echo
      compensate:
        - id: undoB
          activity: core.echo
          with: { value: "\${{ [steps.a.output.value, steps.b.output.value] }}" }
        - id: undoB2
          activity: core.echo
          with: { value: "\${{ steps.undoB.status }}" }
  `);
  assert.deepEqual(errorsOf(withSteps(`- id: b\n  activity: core.echo\n  compensate: [{ id: undo, activity: core.echo }]\n${echo('c', 'steps.undo.status')}`)), [
    "spec.steps[1].with.value: step 'undo' is a compensation step: it only runs when the workflow is undone",
  ]);
});

test('finally and spec.output see all top-level steps; spec.output is computed before finally', () => {
  const text = withSteps(
    `
    ${echo('a', '1')}
    - id: check
      if: "\${{ true }}"
      then: [{ id: deep, activity: core.echo }]
    `,
  ).replace('steps:', 'finally:\n    - id: last\n      activity: core.echo\n      with: { value: "${{ [steps.a.status, steps.deep.status] }}" }\n  output: "${{ steps.deep.output.value }}"\n  steps:');
  const result = compile(text);
  assert.ok(result.ok, result.ok ? '' : result.errors.map((e) => e.message).join('\n'));
  assert.deepEqual(errorsOf(text.replace('steps.deep.output.value }}"\n  steps', 'steps.last.output.value }}"\n  steps')), [
    "spec.output: step 'last' runs in finally, after spec.output is computed",
  ]);
});

test('if/else branches do not see each other', () => {
  assert.deepEqual(
    errorsOf(withSteps(`- id: check\n  if: "\${{ true }}"\n  then: [{ id: yes, activity: core.echo }]\n  else:\n${echo('no', 'steps.yes.status').replace(/^/, '    ')}`)),
    ["spec.steps[0].else[0].with.value: step 'yes' is in another branch of the same if/switch"],
  );
});

test('inputs are checked against spec.input properties; vars against set steps', () => {
  const input = 'input:\n  type: object\n  properties:\n    name: { type: string }';
  ok(`- id: s\n  set: { greeting: "hi \${{ inputs.name }}" }\n${echo('a', 'vars.greeting + inputs.name')}`, input);
  assert.deepEqual(errorsOf(withSteps(echo('a', 'inputs.age'), input)), ["spec.steps[0].with.value: unknown input 'age': not in spec.input"]);
  ok(echo('a', 'inputs.anything'), 'input: { type: object }');
  ok(echo('a', 'inputs.anything'));
  assert.deepEqual(errorsOf(withSteps(echo('a', 'inputs.x'), 'input: { type: object, additionalProperties: false }')), [
    "spec.steps[0].with.value: unknown input 'x': not in spec.input",
  ]);
});

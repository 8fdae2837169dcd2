import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitTemplate, wholeExpression, TemplateError } from '../../workflows/expressions/template.ts';
import { evaluateValue, evaluateCondition, ExpressionError, type Scope } from '../../workflows/expressions/evaluate.ts';
import { toCel, fromCel } from '../../workflows/expressions/values.ts';

const scope = (over: Partial<Scope> = {}): Scope => ({
  inputs: { name: 'Zoë', count: 3, ratio: 0.5, tags: ['a', 'b'] },
  steps: { fetch: { status: 'completed', output: { items: [1, 2, 3], meta: { total: 3 } } } },
  vars: { prefix: 'ns' },
  workflow: { id: 'wf-1', runId: 'r', type: 'interpret', definition: 'demo', hash: 'h', startTime: '2026-11-21T00:00:00.000Z' },
  now: new Date('2026-11-21T12:00:00.000Z'),
  ...over,
});

test('templates split into text and expressions, with offsets and escapes', () => {
  assert.deepEqual(splitTemplate('a ${{ x }} b'), [{ text: 'a ' }, { expr: 'x', offset: 6 }, { text: ' b' }]);
  assert.deepEqual(splitTemplate('$${{ literal }}'), [{ text: '${{ literal }}' }]);
  assert.deepEqual(splitTemplate('${{ "}}" + y }}'), [{ expr: '"}}" + y', offset: 4 }]);
  assert.throws(() => splitTemplate('oops ${{ x'), TemplateError);
  assert.deepEqual(wholeExpression('  ${{ inputs.count }} '), { expr: 'inputs.count', offset: 6 });
  assert.equal(wholeExpression('n=${{ 1 }}'), undefined);
});

test('a whole expression keeps its type; embedded ones interpolate', () => {
  const out = evaluateValue(
    {
      n: '${{ inputs.count * 2 }}',
      ratio: '${{ inputs.ratio }}',
      list: '${{ steps.fetch.output.items.map(i, i + 1) }}',
      text: '${{ vars.prefix }}-${{ inputs.name }}-${{ steps.fetch.output.meta }}',
      nested: ['${{ inputs.tags[1] }}', { deep: '${{ size(inputs.tags) }}' }],
      when: '${{ now + duration("1h") }}',
    },
    scope(),
  );
  assert.deepEqual(out, {
    n: 6,
    ratio: 0.5,
    list: [2, 3, 4],
    text: 'ns-Zoë-{"total":3}',
    nested: ['b', { deep: 2 }],
    when: '2026-11-21T13:00:00.000Z',
  });
});

test('forEach locals and workflow info are visible', () => {
  assert.equal(evaluateValue('${{ item.id }}/${{ index }}@${{ workflow.definition }}', scope({ locals: { item: { id: 's1' }, index: 4 } })), 's1/4@demo');
});

test('conditions must be boolean; failures name the expression', () => {
  assert.equal(evaluateCondition('${{ inputs.count > 2 }}', scope()), true);
  assert.throws(() => evaluateCondition('${{ inputs.count }}', scope()), /not a boolean/);
  assert.throws(() => evaluateValue('${{ steps.missing.output }}', scope()), (err: unknown) => err instanceof ExpressionError && /steps\.missing\.output/.test(err.message));
  assert.equal(evaluateCondition('${{ has(steps.missing) }}', scope()), false);
});

test('JSON and CEL values round-trip (integers are BigInt inside CEL)', () => {
  const json = { a: 1, b: 1.5, c: [true, null, 'x'], d: { e: -7 } };
  assert.deepEqual(toCel(json), { a: 1n, b: 1.5, c: [true, null, 'x'], d: { e: -7n } });
  assert.deepEqual(fromCel(toCel(json)), json);
  assert.equal(fromCel(2n ** 80n), (2n ** 80n).toString());
});

test('evaluation does not read the real clock: `now` comes from the scope', () => {
  const a = evaluateValue('${{ now }}', scope());
  assert.equal(a, evaluateValue('${{ now }}', scope()));
  assert.equal(a, '2026-11-21T12:00:00.000Z');
  assert.equal(evaluateValue('${{ now.getHours("America/Toronto") }}', scope()), 7);
});

// Type checking: JSON Schema -> CEL on the catalog's real schemas, and typed expressions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Environment } from '@marcbachmann/cel-js';
import { celTypeOf, compatible, familyOfCel, familyOfSchema, TypeRegistrar } from '../../workflows/compiler/cel-types.ts';
import { ENV_OPTIONS, inputJsonSchema, outputJsonSchema } from '../../workflows/compiler/environment.ts';
import { catalog, compile, errorsOf, withSteps } from './support.ts';

function typed(schema: unknown): { env: Environment; type: string } {
  const env = new Environment(ENV_OPTIONS);
  const type = celTypeOf(schema, new TypeRegistrar(env));
  env.registerVariable('x', type);
  return { env, type };
}

test('JSON Schema -> CEL for scalars, lists, maps and objects', () => {
  assert.equal(typed({ type: 'string' }).type, 'string');
  assert.equal(typed({ type: 'integer' }).type, 'int');
  assert.equal(typed({ type: 'number' }).type, 'dyn', 'integral numbers are ints at run time');
  assert.equal(typed({ type: 'boolean' }).type, 'bool');
  assert.equal(typed({ type: 'array', items: { type: 'string' } }).type, 'list<string>');
  assert.equal(typed({ type: 'object' }).type, 'map<string, dyn>');
  assert.equal(typed({ type: 'object', additionalProperties: { type: 'string' } }).type, 'map<string, string>');
  assert.equal(typed({ type: ['string', 'null'] }).type, 'dyn');
  assert.equal(typed({ enum: ['a', 'b'] }).type, 'string');
  assert.equal(typed({ anyOf: [{ type: 'string' }, { type: 'integer' }] }).type, 'dyn');
  assert.equal(typed({ type: 'object', properties: { 'content-type': { type: 'string' } } }).type, 'map<string, dyn>');
  const { env } = typed({ type: 'object', properties: { name: { type: 'string' }, tags: { type: 'array', items: { type: 'string' } } } });
  assert.equal(env.check('x.name').type, 'string');
  assert.equal(env.check('x.tags.map(t, size(t))').type, 'list<int>');
  assert.equal(env.check('x.nope').valid, false);
});

test('every catalog activity output maps to a CEL type, fields included', () => {
  const expected: Record<string, Record<string, string>> = {
    'core.echo': { 'x.value': 'dyn' },
    'core.fail': { 'x.attempt': 'int' },
    'core.http': { 'x.status': 'int', 'x.headers': 'map<string, string>', 'x.body': 'dyn' },
    'core.log': { 'x.message': 'string' },
    'core.sleep': { 'x.sleptMs': 'int' },
    'notify.send': { 'x.delivered[0].channel': 'string' },
  };
  for (const [name, activity] of catalog) {
    const { env, type } = typed(outputJsonSchema(activity.output));
    assert.match(type, /^cedille\./, `${name} output is an object type`);
    for (const [expr, t] of Object.entries(expected[name] ?? {})) assert.equal(env.check(expr).type, t, `${name}: ${expr}`);
  }
});

test('activity input fields map to value families', () => {
  const shape = (name: string) => inputJsonSchema(catalog.get(name)!.input) as { properties: Record<string, unknown> };
  assert.equal(familyOfSchema(shape('core.http').properties.url), 'string');
  assert.equal(familyOfSchema(shape('core.http').properties.timeoutMs), 'number');
  assert.equal(familyOfSchema(shape('notify.send').properties.to), 'list');
  assert.equal(familyOfSchema(shape('core.echo').properties.value), 'any');
  assert.equal(familyOfCel('google.protobuf.Timestamp'), 'string');
  assert.ok(compatible('number', familyOfCel('int')));
  assert.ok(!compatible('list', familyOfCel('string')));
});

test('expressions are typed with step outputs, vars, inputs and forEach items', () => {
  const input = 'input:\n  type: object\n  properties:\n    names: { type: array, items: { type: string } }\n    count: { type: integer }';
  const result = compile(
    withSteps(
      `
      - id: log
        activity: core.log
        with: { message: "\${{ inputs.names[0] }}" }
      - id: s
        set: { total: 3, label: "n=\${{ inputs.count }}" }
      - id: sleep
        activity: core.sleep
        with: { ms: "\${{ size(steps.log.output.message) * vars.total + inputs.count }}" }
      - id: each
        forEach:
          items: "\${{ inputs.names }}"
          concurrency: 3
          steps:
            - id: greet
              activity: core.log
              with: { message: "\${{ item.upperAscii() }}", level: "\${{ index > 2 ? 'warn' : 'info' }}" }
      - id: notify
        activity: notify.send
        with: { to: "\${{ inputs.names }}", subject: "\${{ vars.label }}: \${{ steps.each.output.succeeded }}" }
      `,
      input,
    ),
  );
  assert.ok(result.ok, result.ok ? '' : result.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
});

test('type errors: wrong operand types, wrong with types, non-bool conditions', () => {
  const input = 'input:\n  type: object\n  properties:\n    count: { type: integer }';
  assert.deepEqual(
    errorsOf(
      withSteps(
        `
        - id: log
          activity: core.log
          with: { message: "\${{ inputs.count }}" }
        - id: sleep
          activity: core.sleep
          with: { ms: "\${{ steps.log.output.message + 1 }}" }
        - id: notify
          activity: notify.send
          with: { to: "\${{ steps.log.output.message }}", subject: ok }
        - id: check
          if: "\${{ steps.log.output.message }}"
          then: [{ id: x, activity: core.echo }]
        `,
        input,
      ),
    ),
    [
      'spec.steps[0].with.message: expected string, but the expression gives int',
      'spec.steps[1].with.ms: type error in `steps.log.output.message + 1`: no such overload: string + int',
      'spec.steps[2].with.to: expected list, but the expression gives string',
      'spec.steps[3].if: a condition must be a bool, got string',
    ],
  );
});

test('interpolated strings are strings; dyn never fails a check', () => {
  const result = compile(
    withSteps(`
      - id: a
        activity: core.echo
        with: { value: 1 }
      - id: b
        activity: core.sleep
        with: { ms: "\${{ steps.a.output.value }}" }
      - id: c
        activity: core.log
        with: { message: "took \${{ steps.b.output.sleptMs }} ms" }
    `),
  );
  assert.ok(result.ok);
  assert.deepEqual(errorsOf(withSteps('- id: b\n  activity: core.sleep\n  with: { ms: "${{ 1 }}0" }')), [
    'spec.steps[0].with.ms: expected number, but the expression gives string',
  ]);
});

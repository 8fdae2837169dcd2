// Valid definitions: the built-ins compile, normalisation fills in defaults, hashes are stable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { compileFile, parseDuration } from '../../workflows/compiler/index.ts';
import { WorkflowDefinition } from '../../workflows/dsl/schema.ts';
import { DefinitionRegistry } from '../../workflows/registry/index.ts';
import type { ActivityStepC, ApprovalStepC, ForEachStepC, WaitForStepC } from '../../workflows/dsl/compiled.ts';
import { parse } from 'yaml';
import { catalog, compile, compiled, definition, withSteps } from './support.ts';

const builtinDir = new URL('../../workflows/definitions/', import.meta.url);
const builtins = readdirSync(builtinDir).filter((f) => f.endsWith('.yaml'));

test('every built-in definition compiles and matches the zod schema', async () => {
  assert.ok(builtins.includes('hello-world.yaml'));
  // Built-ins may `call` each other: the registry resolves the names (and loads them in dependency order).
  const registry = await DefinitionRegistry.load({ catalog });
  assert.deepEqual(registry.skipped, []);
  for (const file of builtins) {
    const path = new URL(file, builtinDir).pathname;
    const result = await compileFile(path, { catalog, resolve: (name) => registry.get(name) });
    assert.ok(result.ok, `${file}: ${result.ok ? '' : result.errors.map((e) => e.message).join('; ')}`);
    assert.equal(result.definition.source, path);
    assert.ok(WorkflowDefinition.safeParse(parse(readFileSync(path, 'utf8'))).success);
    assert.match(readFileSync(path, 'utf8'), /^# yaml-language-server: \$schema=\.\.\/schema\/workflow-definition\.schema\.json$/m);
  }
});

test('hello-world is startable as the helloWorld workflow type', async () => {
  const result = await compileFile(new URL('hello-world.yaml', builtinDir).pathname, { catalog });
  assert.ok(result.ok);
  assert.equal(result.definition.workflowType, 'helloWorld');
  const kinds = JSON.stringify(result.definition.steps);
  for (const kind of ['set', 'if', 'parallel', 'wait']) assert.ok(kinds.includes(`"kind":"${kind}"`), kind);
  assert.ok(kinds.includes('"activity":"core.echo"'));
});

test('compileFile reports an unreadable file as an error', async () => {
  const result = await compileFile('/nonexistent/x.yaml', { catalog });
  assert.equal(result.ok, false);
  assert.equal(!result.ok && result.errors[0]!.code, 'io');
});

test('parseDuration', () => {
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('2d'), 172_800_000);
  assert.equal(parseDuration('1m1s1ms'), 61_001);
  for (const bad of ['', '5', '5 minutes', '1.5h', '-1s', 'h', '99999999999999999d']) assert.throws(() => parseDuration(bad), RangeError, bad);
});

test('activity steps get the default retry policy and timeout, merged with spec.defaults', () => {
  const def = compiled(
    withSteps(
      `
      - id: plain
        activity: core.echo
      - id: tuned
        activity: core.echo
        retry: { maximumAttempts: 2, nonRetryableErrorTypes: [Bad] }
        timeout: { startToClose: 5s, heartbeat: 1s }
      `,
      'defaults:\n  retry: { initialInterval: 2s, backoffCoefficient: 3 }\n  timeout: { scheduleToClose: 10m }',
    ),
  );
  const [plain, tuned] = def.steps as ActivityStepC[];
  assert.deepEqual(plain!.retry, { maximumAttempts: 5, initialIntervalMs: 2000, backoffCoefficient: 3, maximumIntervalMs: 60_000 });
  assert.deepEqual(plain!.timeouts, { startToCloseMs: 60_000, scheduleToCloseMs: 600_000 });
  assert.deepEqual(plain!.with, {});
  assert.deepEqual(tuned!.retry, { maximumAttempts: 2, initialIntervalMs: 2000, backoffCoefficient: 3, maximumIntervalMs: 60_000, nonRetryableErrorTypes: ['Bad'] });
  assert.deepEqual(tuned!.timeouts, { startToCloseMs: 5000, scheduleToCloseMs: 600_000, heartbeatMs: 1000 });
});

test('forEach, approval, waitFor, wait and fail defaults', () => {
  const def = compiled(
    withSteps(`
      - id: each
        forEach:
          items: "\${{ [1, 2, 3] }}"
          concurrency: 2
          steps:
            - id: one
              activity: core.echo
              with: { value: "\${{ item * 2 }}" }
            - id: pause
              wait: { duration: 1s }
      - id: ok
        approval:
          title: Go?
          groups: [sre, ets-it]
          eachGroup: true
          timeout: 2h
          reminders: [1h]
          escalations: [{ after: 90m, notify: [leads] }]
          onTimeout: escalate
          escalateTo: { groups: [leads], timeout: 1d }
      - id: signal
        waitFor: { signal: go, timeout: 5m }
      - id: stop
        fail: { message: stopped }
    `),
  );
  const [each, ok, signal, stop] = def.steps;
  const forEach = each as ForEachStepC;
  assert.equal(forEach.as, 'item');
  assert.equal(forEach.onItemFailure, 'fail');
  assert.equal(forEach.eventsPerItem, 6 + 2);
  assert.deepEqual(forEach.steps[1], { id: 'pause', kind: 'wait', durationMs: 1000 });
  const approval = ok as ApprovalStepC;
  assert.equal(approval.quorum, 2, 'eachGroup needs one approval per group');
  assert.equal(approval.onReject, 'fail');
  assert.equal(approval.eachGroup, true);
  assert.equal(approval.timeoutMs, 7_200_000);
  assert.deepEqual(approval.remindersMs, [3_600_000]);
  assert.deepEqual(approval.escalations, [{ afterMs: 5_400_000, notify: ['leads'] }]);
  assert.deepEqual(approval.escalateTo, { groups: ['leads'], timeoutMs: 86_400_000 });
  assert.deepEqual(signal as WaitForStepC, { id: 'signal', kind: 'waitFor', signal: 'go', timeoutMs: 300_000, onTimeout: 'fail' });
  assert.deepEqual(stop, { id: 'stop', kind: 'fail', message: 'stopped', errorType: 'WorkflowFailed' });
});

test('eventsPerItem adds sequences and parallel branches, takes the largest if branch', () => {
  const def = compiled(
    withSteps(`
      - id: each
        forEach:
          items: "\${{ [1] }}"
          concurrency: 1
          steps:
            - id: both
              parallel:
                - id: a
                  activity: core.echo
                - id: b
                  call: { definition: other }
            - id: pick
              if: "\${{ item > 0 }}"
              then:
                - id: c
                  activity: core.echo
                - id: d
                  activity: core.echo
              else:
                - id: e
                  wait: { duration: 1s }
    `),
    { resolve: (name) => (name === 'other' ? compiled(withSteps('- id: x\n  activity: core.echo').replace('name: test', 'name: other')) : undefined) },
  );
  assert.equal((def.steps[0] as ForEachStepC).eventsPerItem, 6 + 6 + 12);
});

test('the same content hashes the same whatever the formatting, comments and key order', () => {
  const a = compiled(withSteps('- id: a\n  activity: core.log\n  with: { message: hi, level: warn }'));
  const b = compiled(
    '# a comment\nkind: WorkflowDefinition\napiVersion: workflows.cedille.etsmtl.ca/v1alpha1\nspec:\n  steps:\n    - with:\n        level: warn   # why not\n        message: "hi"\n      activity: core.log\n      id: a\nmetadata: { name: test }\n',
  );
  assert.match(a.hash, /^[0-9a-f]{64}$/);
  assert.equal(a.hash, b.hash);
  const c = compiled(withSteps('- id: a\n  activity: core.log\n  with: { message: hi, level: info }'));
  assert.notEqual(a.hash, c.hash);
  const d = compiled(withSteps('- id: a\n  activity: core.log\n  with: { message: hi, level: warn }'), { file: 'elsewhere.yaml' });
  assert.equal(a.hash, d.hash, 'the source file is not part of the hash');
});

test('a call pins the called definition and what it calls, flattened', () => {
  const leaf = compiled(definition('steps:\n  - id: x\n    activity: core.echo', 'leaf'));
  const middle = compiled(definition('steps:\n  - id: y\n    call: { definition: leaf }', 'middle'), { resolve: (n) => (n === 'leaf' ? leaf : undefined) });
  const top = compiled(withSteps('- id: z\n  call: { definition: middle, input: { a: 1 } }'), {
    resolve: (n) => ({ leaf, middle })[n],
  });
  assert.deepEqual(Object.keys(top.dependencies).sort(), ['leaf', 'middle']);
  assert.equal(top.dependencies.middle!.hash, middle.hash);
  assert.equal('dependencies' in top.dependencies.middle!, false);
  assert.deepEqual(top.steps[0], { id: 'z', kind: 'call', definition: 'middle', input: { a: 1 } });
});

test('a call cycle through other definitions is reported with its path', () => {
  const b = compiled(definition('steps:\n  - id: y\n    call: { definition: test }', 'b'), {
    resolve: (n) => (n === 'test' ? compiled(withSteps('- id: x\n  activity: core.echo')) : undefined),
  });
  const result = compile(withSteps('- id: z\n  call: { definition: b }'), { resolve: (n) => (n === 'b' ? b : undefined) });
  assert.equal(result.ok, false);
  assert.match(!result.ok ? result.errors[0]!.message : '', /call cycle: test -> b -> test/);
});

test('many errors are reported at once, sorted by position', () => {
  const result = compile(
    withSteps(`
      - id: a
        activity: core.lg
      - id: b
        activity: core.log
        with: { mesage: x }
      - id: a
        activity: core.echo
        with: { value: "\${{ steps.zz }}" }
    `),
  );
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.ok(result.errors.length >= 4, result.errors.map((e) => e.message).join('\n'));
  const positions = result.errors.map((e) => e.line * 1000 + e.column);
  assert.deepEqual(positions, [...positions].sort((x, y) => x - y));
});

test('a raised eachGroup quorum is a warning, not an error', () => {
  const result = compile(
    withSteps('- id: ok\n  approval: { title: Go, groups: [sre, ets-it], eachGroup: true, quorum: 1, timeout: 1h, onTimeout: reject }'),
  );
  assert.ok(result.ok);
  assert.match(result.warnings[0]!.message, /raised to 2/);
  assert.equal((result.definition.steps[0] as ApprovalStepC).quorum, 2);
});

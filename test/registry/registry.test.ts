// The definition registry: built-ins, versions pinned by hash, persistence, calls between definitions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCatalog } from '../../activities/catalog.ts';
import { DefinitionRegistry } from '../../workflows/registry/index.ts';

const catalog = await loadCatalog();

function scratch(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'cedille-registry-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function def(name: string, steps: string, extra = ''): string {
  return `apiVersion: workflows.cedille.etsmtl.ca/v1alpha1\nkind: WorkflowDefinition\nmetadata:\n  name: ${name}\nspec:\n${extra}  steps:\n${steps}`;
}
const log = (message: string) => `    - id: log\n      activity: core.log\n      with: { message: ${message} }\n`;
const call = (target: string) => `    - id: sub\n      call: { definition: ${target} }\n`;

test('loads and compiles the built-ins', async () => {
  const registry = await DefinitionRegistry.load({ catalog });
  const hello = registry.get('hello-world');
  assert.ok(hello);
  assert.equal(registry.getByWorkflowType('helloWorld')?.hash, hello.hash);
  assert.equal(registry.getByHash(hello.hash)?.name, 'hello-world');
  assert.ok(registry.list().some((d) => d.name === 'release-demo'));
  assert.ok(registry.isBuiltin('hello-world'));
});

test('a broken built-in fails loading with every formatted error', async (t) => {
  const dir = scratch(t);
  writeFileSync(join(dir, 'bad.yaml'), def('bad', '    - id: a\n      activity: core.nope\n    - id: a\n      activity: core.echo\n'));
  await assert.rejects(DefinitionRegistry.load({ catalog, builtinDir: dir }), (err: Error) => {
    assert.match(err.message, /bad\.yaml:8:17: spec\.steps\[0\]\.activity: unknown activity 'core\.nope'/);
    assert.match(err.message, /bad\.yaml:9:11: spec\.steps\[1\]\.id: duplicate step id 'a'/);
    return true;
  });
});

test('built-ins calling each other compile callees first; a cycle among them is reported', async (t) => {
  const dir = scratch(t);
  writeFileSync(join(dir, 'a.yaml'), def('a', call('b')));
  writeFileSync(join(dir, 'b.yaml'), def('b', log('hi')));
  const registry = await DefinitionRegistry.load({ catalog, builtinDir: dir });
  assert.deepEqual(Object.keys(registry.get('a')!.dependencies), ['b']);

  writeFileSync(join(dir, 'b.yaml'), def('b', call('a')));
  await assert.rejects(DefinitionRegistry.load({ catalog, builtinDir: dir }), /call cycle between built-in definitions: (a -> b -> a|b -> a -> b)/);
});

test('register keeps every version by hash; get returns the latest', async (t) => {
  const registry = await DefinitionRegistry.load({ catalog, builtinDir: scratch(t) });
  const v1 = registry.register(def('mine', log('one')));
  const v2 = registry.register(def('mine', log('two')));
  assert.ok(v1.ok && v2.ok);
  assert.ok(v1.created && v2.created);
  assert.notEqual(v1.definition.hash, v2.definition.hash);
  assert.equal(registry.get('mine')?.hash, v2.definition.hash);
  assert.equal(registry.getByHash(v1.definition.hash)?.steps.length, 1, 'the old version stays available');
  assert.equal(registry.versions('mine').length, 2);

  const again = registry.register(`# same content, other comments\n${def('mine', log('one'))}`);
  assert.ok(again.ok && !again.created);
  assert.equal(registry.get('mine')?.hash, v1.definition.hash, 're-registering an old version makes it the latest');
  assert.equal(registry.versions('mine').length, 2);
});

test('validate compiles without storing', async (t) => {
  const registry = await DefinitionRegistry.load({ catalog, builtinDir: scratch(t) });
  assert.ok(registry.validate(def('mine', log('one'))).ok);
  assert.equal(registry.get('mine'), undefined);
  const bad = registry.validate(def('mine', log('"${{ steps.nope }}"')), 'mine.yaml');
  assert.equal(bad.ok, false);
  assert.equal(!bad.ok && bad.errors[0]!.file, 'mine.yaml');
});

test('registered definitions may not take a built-in name or another workflow type', async () => {
  const registry = await DefinitionRegistry.load({ catalog });
  const named = registry.register(def('hello-world', log('hijack')));
  assert.equal(named.ok, false);
  assert.match(!named.ok ? `${named.errors[0]!.line}:${named.errors[0]!.column} ${named.errors[0]!.message}` : '', /^4:9 'hello-world' is a built-in/);
  const typed = registry.register(def('other', log('x'), '  workflowType: helloWorld\n'));
  assert.equal(typed.ok, false);
  assert.match(!typed.ok ? typed.errors[0]!.message : '', /already used by definition 'hello-world'/);
});

test('a cycle between two registered definitions is refused', async (t) => {
  const registry = await DefinitionRegistry.load({ catalog, builtinDir: scratch(t) });
  assert.ok(registry.register(def('b', log('leaf'))).ok);
  assert.ok(registry.register(def('a', call('b'))).ok);
  const cyclic = registry.register(def('b', call('a')));
  assert.equal(cyclic.ok, false);
  assert.match(!cyclic.ok ? cyclic.errors[0]!.message : '', /call cycle: b -> a -> b/);
  assert.equal(registry.versions('b').length, 1);
});

test('callers follow a new version of what they call (same hash, new pinned dependency)', async (t) => {
  const registry = await DefinitionRegistry.load({ catalog, builtinDir: scratch(t) });
  registry.register(def('leaf', log('one')));
  registry.register(def('middle', call('leaf')));
  const top = registry.register(def('top', call('middle')));
  assert.ok(top.ok);
  const leaf2 = registry.register(def('leaf', log('two')));
  assert.ok(leaf2.ok);
  assert.equal(registry.get('top')!.hash, top.definition.hash);
  assert.equal(registry.get('top')!.dependencies.leaf!.hash, leaf2.definition.hash);
  assert.equal(registry.get('middle')!.dependencies.leaf!.hash, leaf2.definition.hash);
  assert.equal(top.definition.dependencies.leaf!.hash !== leaf2.definition.hash, true, 'the earlier result is untouched');
});

test('registered versions persist as <name>/<hash>.yaml and reload in order', async (t) => {
  const builtinDir = scratch(t);
  const storeDir = scratch(t);
  const first = await DefinitionRegistry.load({ catalog, builtinDir, storeDir });
  const v1 = first.register(def('mine', log('one')));
  const v2 = first.register(def('mine', log('two')));
  const caller = first.register(def('caller', call('mine')));
  assert.ok(v1.ok && v2.ok && caller.ok);
  assert.deepEqual(readdirSync(join(storeDir, 'mine')).sort(), [`${v1.definition.hash}.yaml`, `${v2.definition.hash}.yaml`].sort());

  const second = await DefinitionRegistry.load({ catalog, builtinDir, storeDir });
  assert.equal(second.get('mine')?.hash, v2.definition.hash);
  assert.ok(second.getByHash(v1.definition.hash));
  assert.equal(second.get('caller')?.dependencies.mine?.hash, v2.definition.hash);
  assert.deepEqual(second.skipped, []);
});

test('a stored definition that no longer compiles is skipped, not fatal', async (t) => {
  const storeDir = scratch(t);
  mkdirSync(join(storeDir, 'old'));
  writeFileSync(join(storeDir, 'old', 'deadbeef.yaml'), def('old', '    - id: a\n      activity: core.removed\n'));
  const registry = await DefinitionRegistry.load({ catalog, builtinDir: scratch(t), storeDir });
  assert.equal(registry.get('old'), undefined);
  assert.equal(registry.skipped.length, 1);
  assert.match(registry.skipped[0]!.errors[0]!.message, /unknown activity 'core.removed'/);
});

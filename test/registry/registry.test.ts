// The definition registry: built-ins, versions pinned by hash, persistence, calls between definitions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCatalog } from '../../activities/catalog.ts';
import { databaseDefinitionStore, DefinitionRegistry } from '../../workflows/registry/index.ts';
import { openDatabase } from '../../db/index.ts';

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
  const v1 = await registry.register(def('mine', log('one')));
  const v2 = await registry.register(def('mine', log('two')));
  assert.ok(v1.ok && v2.ok);
  assert.ok(v1.created && v2.created);
  assert.notEqual(v1.definition.hash, v2.definition.hash);
  assert.equal(registry.get('mine')?.hash, v2.definition.hash);
  assert.equal(registry.getByHash(v1.definition.hash)?.steps.length, 1, 'the old version stays available');
  assert.equal(registry.versions('mine').length, 2);

  const again = await registry.register(`# same content, other comments\n${def('mine', log('one'))}`);
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
  const named = await registry.register(def('hello-world', log('hijack')));
  assert.equal(named.ok, false);
  assert.match(!named.ok ? `${named.errors[0]!.line}:${named.errors[0]!.column} ${named.errors[0]!.message}` : '', /^4:9 'hello-world' is a built-in/);
  const typed = await registry.register(def('other', log('x'), '  workflowType: helloWorld\n'));
  assert.equal(typed.ok, false);
  assert.match(!typed.ok ? typed.errors[0]!.message : '', /already used by definition 'hello-world'/);
});

test('a cycle between two registered definitions is refused', async (t) => {
  const registry = await DefinitionRegistry.load({ catalog, builtinDir: scratch(t) });
  assert.ok((await registry.register(def('b', log('leaf')))).ok);
  assert.ok((await registry.register(def('a', call('b')))).ok);
  const cyclic = await registry.register(def('b', call('a')));
  assert.equal(cyclic.ok, false);
  assert.match(!cyclic.ok ? cyclic.errors[0]!.message : '', /call cycle: b -> a -> b/);
  assert.equal(registry.versions('b').length, 1);
});

test('callers follow a new version of what they call (same hash, new pinned dependency)', async (t) => {
  const registry = await DefinitionRegistry.load({ catalog, builtinDir: scratch(t) });
  await registry.register(def('leaf', log('one')));
  await registry.register(def('middle', call('leaf')));
  const top = await registry.register(def('top', call('middle')));
  assert.ok(top.ok);
  const leaf2 = await registry.register(def('leaf', log('two')));
  assert.ok(leaf2.ok);
  assert.equal(registry.get('top')!.hash, top.definition.hash);
  assert.equal(registry.get('top')!.dependencies.leaf!.hash, leaf2.definition.hash);
  assert.equal(registry.get('middle')!.dependencies.leaf!.hash, leaf2.definition.hash);
  assert.equal(top.definition.dependencies.leaf!.hash !== leaf2.definition.hash, true, 'the earlier result is untouched');
});

/** Two registries on one database: two replicas (API or worker) of the platform. */
async function sharedStore(t: { after(fn: () => Promise<void>): void }) {
  const dataDir = mkdtempSync(join(tmpdir(), 'cedille-registry-db-'));
  const database = await openDatabase({ dataDir });
  t.after(async () => {
    await database.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return { database, store: databaseDefinitionStore(database.db) };
}

test('registered versions are kept in the database and read back in registration order', async (t) => {
  const builtinDir = scratch(t);
  const { database, store } = await sharedStore(t);
  const first = await DefinitionRegistry.load({ catalog, builtinDir, store });
  const v1 = await first.register(def('mine', log('one')));
  const v2 = await first.register(def('mine', log('two')));
  const caller = await first.register(def('caller', call('mine')));
  assert.ok(v1.ok && v2.ok && caller.ok);
  const rows = await database.db.selectFrom('definitions').select(['name', 'hash']).orderBy('seq').execute();
  assert.deepEqual(rows, [v1, v2, caller].map((r) => ({ name: r.definition.name, hash: r.definition.hash })));

  const second = await DefinitionRegistry.load({ catalog, builtinDir, store });
  assert.equal(second.get('mine')?.hash, v2.definition.hash);
  assert.ok(second.getByHash(v1.definition.hash));
  assert.equal(second.get('caller')?.dependencies.mine?.hash, v2.definition.hash);
  assert.deepEqual(second.skipped, []);

  const again = await first.register(def('mine', log('one')));
  assert.ok(again.ok && !again.created);
  await second.refresh();
  assert.equal(second.get('mine')?.hash, v1.definition.hash, 'the version registered again is the latest on the other replica too');
});

test('a replica sees what another registered once it refreshes; a registration sees every earlier one', async (t) => {
  const { store } = await sharedStore(t);
  const a = await DefinitionRegistry.load({ catalog, builtinDir: scratch(t), store });
  const b = await DefinitionRegistry.load({ catalog, builtinDir: scratch(t), store });
  const onA = await a.register(def('mine', log('one'), '  workflowType: mineType\n'));
  assert.ok(onA.ok);
  assert.equal(b.getByWorkflowType('mineType'), undefined, 'lookups answer from memory');
  await b.refresh();
  assert.equal(b.getByWorkflowType('mineType')?.hash, onA.definition.hash);
  // B has not read A's later version, yet its conflicting registration is refused: it checks under the lock.
  assert.ok((await a.register(def('other', log('x'), '  workflowType: otherType\n'))).ok);
  const clash = await b.register(def('third', log('y'), '  workflowType: otherType\n'));
  assert.equal(clash.ok, false);
  assert.match(!clash.ok ? clash.errors[0]!.message : '', /workflow type 'otherType' is already used by definition 'other'/);
});

test('concurrent registrations of one workflow type on two replicas: exactly one wins', async (t) => {
  const { store } = await sharedStore(t);
  const a = await DefinitionRegistry.load({ catalog, builtinDir: scratch(t), store });
  const b = await DefinitionRegistry.load({ catalog, builtinDir: scratch(t), store });
  const results = await Promise.all([a.register(def('left', log('l'), '  workflowType: contested\n')), b.register(def('right', log('r'), '  workflowType: contested\n'))]);
  assert.deepEqual(results.map((r) => r.ok).sort(), [false, true]);
  await Promise.all([a.refresh(), b.refresh()]);
  assert.equal(a.getByWorkflowType('contested')?.name, b.getByWorkflowType('contested')?.name);
});

test('a source holding a NUL character is refused at its position (the database cannot keep it)', async (t) => {
  const { database, store } = await sharedStore(t);
  const registry = await DefinitionRegistry.load({ catalog, builtinDir: scratch(t), store });
  const refused = await registry.register(def('nul', log('"x\u0000y"')), { file: 'nul.yaml' });
  assert.equal(refused.ok, false);
  assert.match(!refused.ok ? `${refused.errors[0]!.file}:${refused.errors[0]!.line}:${refused.errors[0]!.column} ${refused.errors[0]!.message}` : '', /^nul\.yaml:9:26 the source contains a NUL character/);
  assert.equal((await database.db.selectFrom('definitions').select('hash').execute()).length, 0);
});

test('a stored definition that no longer compiles is skipped, not fatal', async (t) => {
  const { database, store } = await sharedStore(t);
  await database.db.insertInto('definitions').values({ hash: 'deadbeef', name: 'old', source: def('old', '    - id: a\n      activity: core.removed\n'), registered_at: new Date() }).execute();
  const registry = await DefinitionRegistry.load({ catalog, builtinDir: scratch(t), store });
  assert.equal(registry.get('old'), undefined);
  assert.equal(registry.skipped.length, 1);
  assert.match(registry.skipped[0]!.errors[0]!.message, /unknown activity 'core.removed'/);
});

// The catalog loader on fixture folders written to a temp dir (plain-object definitions: the loader
// only needs a name and a handler), and the real catalog's contents.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadCatalog } from '../../activities/catalog.ts';

const root = mkdtempSync(join(tmpdir(), 'cedille-catalog-'));
after(() => rmSync(root, { recursive: true, force: true }));

const activity = (name: string) => `export default { name: '${name}', description: 'fixture', input: null, output: null, async handler() { return {}; } };\n`;
const poison = `throw new Error('this file must not be loaded');\n`;

let n = 0;
/** A fresh catalog folder with the given files (path -> source). */
function catalogDir(files: Record<string, string>): string {
  const dir = join(root, `c${n++}`);
  for (const [path, source] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), source);
  }
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  return dir;
}

describe('loadCatalog', { concurrency: true }, () => {
  it('loads one activity per file, by name', async () => {
    const catalog = await loadCatalog(catalogDir({ 'alpha/one.ts': activity('alpha.one'), 'beta/two.ts': activity('beta.two') }));
    assert.deepEqual([...catalog.keys()], ['alpha.one', 'beta.two']);
    assert.equal(catalog.get('beta.two')?.name, 'beta.two');
  });

  for (const name of ['beta.thing', 'alphabet.thing', 'thing']) {
    it(`rejects an activity whose name does not start with its folder's system (${name})`, async () => {
      const dir = catalogDir({ 'alpha/thing.ts': activity(name) });
      await assert.rejects(loadCatalog(dir), (err: Error) => {
        assert.match(err.message, /alpha[\\/]thing\.ts: activity name .* must start with "alpha\."/);
        assert.ok(err.message.includes(`activity name ${name} `), err.message);
        return true;
      });
    });
  }

  it('rejects a duplicate name', async () => {
    const dir = catalogDir({ 'alpha/one.ts': activity('alpha.same'), 'alpha/two.ts': activity('alpha.same') });
    await assert.rejects(loadCatalog(dir), /alpha[\\/]two\.ts: duplicate activity name alpha\.same/);
  });

  it('ignores files and folders starting with _, tests and declaration files', async () => {
    const dir = catalogDir({
      'alpha/one.ts': activity('alpha.one'),
      'alpha/_helper.ts': poison,
      'alpha/one.test.ts': poison,
      'alpha/one.d.ts': poison,
      'alpha/notes.md': poison,
      '_shared/util.ts': poison,
    });
    assert.deepEqual([...(await loadCatalog(dir)).keys()], ['alpha.one']);
  });

  it('the real catalog has the built-in activities, each under its own name', async () => {
    const catalog = await loadCatalog();
    for (const name of ['core.log', 'core.echo', 'core.fail', 'core.sleep', 'core.http', 'notify.send']) {
      const def = catalog.get(name);
      assert.ok(def, `missing ${name} (catalog: ${[...catalog.keys()].join(', ')})`);
      assert.equal(def.name, name);
      assert.equal(typeof def.handler, 'function');
      assert.ok(def.description.length > 0, `${name} has no description`);
    }
  });
});

// The corpus of broken definitions: each file's first line says where its first error is and what
// it says: `# expect: <line>:<column> <path>: <start of the message>`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { formatCompileError } from '../../workflows/compiler/index.ts';
import { compile } from './support.ts';

const dir = new URL('./broken/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();

test('the corpus is large enough', () => {
  assert.ok(files.length >= 25, `${files.length} broken definitions`);
});

for (const file of files) {
  test(`broken/${file}`, () => {
    const text = readFileSync(new URL(file, dir), 'utf8');
    const expect = /^# expect: (.+)$/m.exec(text.split('\n')[0]!)?.[1];
    assert.ok(expect, 'first line must be # expect: <line>:<column> <path>: <message>');
    const result = compile(text, { file });
    assert.equal(result.ok, false, 'must not compile');
    if (result.ok) return;
    const [first] = result.errors;
    const actual = formatCompileError(first!).slice(`${file}:`.length).replace(/^(\d+:\d+): /, '$1 ');
    assert.ok(actual.startsWith(expect), `expected\n  ${expect}\ngot\n  ${actual}`);
    for (const e of result.errors) assert.notEqual(e.code, 'internal');
  });
}

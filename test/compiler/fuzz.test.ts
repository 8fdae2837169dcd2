// compileSource never throws and always returns well-formed errors, for arbitrary text and for
// random mutations of valid definitions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import type { CompileResult } from '../../workflows/compiler/index.ts';
import { compile } from './support.ts';

const hello = readFileSync(new URL('../../workflows/definitions/hello-world.yaml', import.meta.url), 'utf8');
const release = readFileSync(new URL('../../workflows/definitions/release-demo.yaml', import.meta.url), 'utf8');

function assertWellFormed(result: CompileResult): void {
  if (result.ok) return;
  assert.ok(result.errors.length > 0);
  for (const e of result.errors) {
    assert.ok(Number.isInteger(e.line) && e.line >= 1, `line ${e.line}`);
    assert.ok(Number.isInteger(e.column) && e.column >= 1, `column ${e.column}`);
    assert.equal(typeof e.path, 'string');
    assert.ok(e.message.length > 0);
    assert.notEqual(e.code, 'internal', e.message);
  }
}

const fragments = fc.constantFrom(
  'apiVersion: workflows.cedille.etsmtl.ca/v1alpha1\n', 'kind: WorkflowDefinition\n', 'metadata:\n  name: x\n', 'spec:\n', '  steps:\n',
  '    - id: a\n', '      activity: core.log\n', '      with: { message: "${{ 1 + }}" }\n', '      forEach: {}\n', '${{', '}}', '- ', ': ',
  '\t', '"', "'", '|\n', '&a ', '*a', '[', ']', '{', '}', '#', '\n', '  ', '---\n', '!!binary ', '? ', '%YAML 1.2\n',
);

test('random YAML-ish text', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fragments, fc.string({ maxLength: 8 })), { maxLength: 40 }), (parts) => {
      assertWellFormed(compile(parts.join('')));
    }),
    { numRuns: 1000 },
  );
});

// A path into a parsed document and a replacement value.
const junk = fc.oneof(
  fc.constantFrom(null, true, 0, -1, 1.5, '', 'x', '${{', '${{ steps.nope }}', '${{ 1 + }}', '5 minutes', 'core.nope', [], {}, [{}], { id: 'a' }),
  fc.string({ maxLength: 12 }),
  fc.integer(),
);

function mutate(doc: unknown, choices: number[], value: unknown, mode: number): unknown {
  const root = structuredClone(doc) as Record<string, unknown>;
  let node: unknown = root;
  for (const choice of choices) {
    if (node === null || typeof node !== 'object') break;
    const keys = Object.keys(node);
    if (keys.length === 0) break;
    const key = keys[choice % keys.length]!;
    const child = (node as Record<string, unknown>)[key];
    if (child === null || typeof child !== 'object' || choice % 3 === 0) {
      const target = node as Record<string, unknown>;
      if (mode === 0) delete target[key];
      else if (mode === 1) target[key] = value;
      else target[`${key}x`] = value;
      return root;
    }
    node = child;
  }
  return root;
}

test('random mutations of valid definitions', () => {
  const docs = [parse(hello), parse(release)];
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: docs.length - 1 }),
      fc.array(fc.nat(50), { minLength: 1, maxLength: 8 }),
      junk,
      fc.integer({ min: 0, max: 2 }),
      (which, choices, value, mode) => {
        assertWellFormed(compile(stringify(mutate(docs[which], choices, value, mode))));
      },
    ),
    { numRuns: 1000 },
  );
});

test('random character edits of a valid definition', () => {
  fc.assert(
    fc.property(fc.nat(hello.length), fc.nat(6), fc.string({ maxLength: 4 }), (at, remove, insert) => {
      assertWellFormed(compile(hello.slice(0, at) + insert + hello.slice(at + remove)));
    }),
    { numRuns: 1000 },
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SCHEMA_FILE, SCHEMA_ID, schemaFileText } from '../../workflows/schema/generate.ts';

test('the committed JSON Schema is current (npm run schema)', () => {
  assert.equal(readFileSync(SCHEMA_FILE, 'utf8'), schemaFileText());
});

test('the JSON Schema is draft 2020-12 with an id, a title and descriptions', () => {
  const schema = JSON.parse(schemaFileText());
  assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
  assert.equal(schema.$id, SCHEMA_ID);
  assert.ok(schema.title);
  assert.match(JSON.stringify(schema), /"description":"Maximum number of items in flight at once \(required\)."/);
});

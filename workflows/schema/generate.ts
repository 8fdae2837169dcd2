// The JSON Schema of the definition format, generated from the zod schema (the source of truth)
// for editors (yaml-language-server). `npm run schema` rewrites workflow-definition.schema.json;
// a test checks the committed file is current.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { API_VERSION, WorkflowDefinition } from '../dsl/schema.ts';

export const SCHEMA_FILE = fileURLToPath(new URL('./workflow-definition.schema.json', import.meta.url));
export const SCHEMA_ID = 'https://workflows.cedille.etsmtl.ca/schema/workflow-definition.schema.json';

export function workflowDefinitionJsonSchema(): Record<string, unknown> {
  const { $schema, ...rest } = z.toJSONSchema(WorkflowDefinition, { target: 'draft-2020-12', unrepresentable: 'any' });
  return {
    $schema,
    $id: SCHEMA_ID,
    title: 'Cédille workflow definition',
    description: `A declarative workflow (${API_VERSION}): input schema, steps, approvals, fan-outs, timers and compensation.`,
    ...rest,
  };
}

export function schemaFileText(): string {
  return `${JSON.stringify(workflowDefinitionJsonSchema(), null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(SCHEMA_FILE, schemaFileText());
  process.stdout.write(`wrote ${SCHEMA_FILE}\n`);
}

// /v1/definitions: the definitions the API knows (built-in and registered, latest versions), one
// definition with its input schema, YAML source and version hashes, validation of a YAML source
// (compile errors positioned in it) and registration of a new version (persisted by the registry).
// Sources come as JSON `{ source }` or as a raw YAML body (`application/yaml`, `text/yaml`).
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { formatCompileError, type CompileError } from '../../workflows/compiler/index.ts';
import type { CompiledDefinition } from '../../workflows/dsl/compiled.ts';
import type { DefinitionRegistry } from '../../workflows/registry/index.ts';
import { caller } from '../auth/plugin.ts';
import { FieldError, Problem, problem, problemResponses } from '../problem.ts';
import { mutating, type RoutesOptions } from '../services.ts';
import { registerDefinitionLinks } from '../openapi/links.ts';

export const DefinitionSummary = z
  .object({
    name: z.string(),
    title: z.string().optional(),
    description: z.string().optional(),
    workflowType: z.string().optional().describe('Temporal workflow type starting it by name, if any'),
    hash: z.string().describe('Content hash of this version'),
    builtin: z.boolean().describe('Ships with the code (workflows/definitions); cannot be registered over'),
  })
  .meta({ id: 'DefinitionSummary' });
export type DefinitionSummary = z.infer<typeof DefinitionSummary>;

/** A compile error as a problem field error: `field` is the YAML path (empty: the whole document). */
export const CompileIssue = FieldError.extend({
  line: z.int().describe('1-based'),
  column: z.int().describe('1-based'),
  code: z.string().describe('Compile error code (`schema`, `unknown-activity`, `expression-type`, ...)'),
}).meta({ id: 'CompileIssue' });

/** 422 (and 409) of validation and registration: a problem whose `errors` are the compile errors. */
export const CompileProblem = Problem.extend({ valid: z.literal(false), errors: z.array(CompileIssue) }).meta({ id: 'CompileProblem' });

export const INVALID_DEFINITION = 'urn:cedille:problem:invalid-definition';
export const DEFINITION_CONFLICT = 'urn:cedille:problem:definition-conflict';

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];

const SourceBody = z.object({
  source: z.string().min(1).describe('The YAML definition'),
  file: z.string().max(500).optional().describe('Name shown in error positions (default `api`)'),
});

export function summary(registry: DefinitionRegistry, def: CompiledDefinition): DefinitionSummary {
  return {
    name: def.name,
    ...(def.title !== undefined ? { title: def.title } : {}),
    ...(def.description !== undefined ? { description: def.description } : {}),
    ...(def.workflowType !== undefined ? { workflowType: def.workflowType } : {}),
    hash: def.hash,
    builtin: registry.isBuiltin(def.name),
  };
}

const issue = (e: CompileError) => ({ field: e.path, message: e.message, line: e.line, column: e.column, code: e.code });

function compileProblem(reply: FastifyReply, status: 409 | 422, errors: CompileError[]) {
  return reply
    .code(status)
    .type('application/problem+json')
    .send({
      type: status === 409 ? DEFINITION_CONFLICT : INVALID_DEFINITION,
      title: status === 409 ? 'Definition conflicts with another' : 'Definition does not compile',
      status,
      detail: errors.map(formatCompileError).join('\n'),
      valid: false as const,
      errors: errors.map(issue),
    });
}

const definitionRoutes: FastifyPluginAsyncZod<RoutesOptions> = async (app, { services }) => {
  const { registry } = services;
  // Every answer reflects what any replica registered (one indexed read of the rows since the last one).
  app.addHook('preHandler', async () => {
    await registry.refresh();
  });

  // A raw YAML body is the `source` of the JSON form (this plugin only).
  app.addContentTypeParser(YAML_TYPES, { parseAs: 'string' }, (_req, body, done) => done(null, { source: body }));
  const consumes = ['application/json', ...YAML_TYPES.filter((t) => !t.includes('x-'))];

  app.get(
    '/definitions',
    {
      config: { access: 'read' },
      schema: {
        tags: ['definitions'],
        operationId: 'listDefinitions',
        summary: 'The latest version of every definition, built-in and registered',
        response: { ...problemResponses, 200: z.object({ definitions: z.array(DefinitionSummary) }) },
      },
    },
    async () => ({ definitions: registry.list().map((d) => summary(registry, d)) }),
  );

  app.get(
    '/definitions/:name',
    {
      config: { access: 'read' },
      schema: {
        tags: ['definitions'],
        operationId: 'getDefinition',
        summary: 'One definition (latest, or the version given): input schema, YAML source, version hashes',
        params: z.object({ name: z.string().min(1).max(253) }),
        querystring: z.object({ version: z.string().min(1).optional().describe('Content hash of a version') }),
        response: {
          ...problemResponses,
          200: z.object({
            definition: DefinitionSummary.extend({
              input: z.record(z.string(), z.unknown()).optional().describe('JSON Schema of the input'),
              source: z.string().describe('YAML source text'),
            }),
            versions: z.array(z.string()).describe('Version hashes, oldest first (the last is the latest)'),
          }),
        },
      },
    },
    async (req, reply) => {
      const { name } = req.params;
      const versions = registry.versions(name);
      if (versions.length === 0) return problem(reply, 404, { detail: `no definition named '${name}'` });
      const def = req.query.version ? versions.find((d) => d.hash === req.query.version) : versions.at(-1);
      if (!def) return problem(reply, 404, { detail: `definition '${name}' has no version ${req.query.version}` });
      return {
        definition: { ...summary(registry, def), ...(def.input ? { input: def.input } : {}), source: registry.sourceText(def.hash) ?? '' },
        versions: versions.map((d) => d.hash),
      };
    },
  );

  app.post(
    '/definitions/validate',
    {
      config: mutating(services, 'read'), // compiling costs CPU: rate-limited like a mutation
      schema: {
        tags: ['definitions'],
        operationId: 'validateDefinition',
        summary: 'Compiles a YAML definition without registering it',
        description: 'Body: JSON `{ source, file? }` or the raw YAML (`Content-Type: application/yaml`). 422 lists every compile error with its position.',
        consumes,
        body: SourceBody,
        response: {
          ...problemResponses,
          200: z.object({ valid: z.literal(true), definition: DefinitionSummary, warnings: z.array(CompileIssue) }),
          422: CompileProblem,
        },
      },
    },
    async (req, reply) => {
      const result = registry.validate(req.body.source, req.body.file ?? 'api');
      if (!result.ok) return compileProblem(reply, 422, result.errors);
      return { valid: true as const, definition: summary(registry, result.definition), warnings: result.warnings.map(issue) };
    },
  );

  app.post(
    '/definitions',
    {
      config: mutating(services, 'admin'),
      links: registerDefinitionLinks,
      schema: {
        tags: ['definitions'],
        operationId: 'registerDefinition',
        summary: 'Registers a new version of a definition (the latest of its name)',
        description:
          'Body: JSON `{ source }` or the raw YAML. 201 when the version is new, 200 when it already existed (it becomes the latest again); ' +
          '422 compile errors; 409 when the name (or workflow type) belongs to a built-in or another definition.',
        consumes,
        body: SourceBody.pick({ source: true }),
        response: {
          ...problemResponses,
          200: z.object({ definition: DefinitionSummary, created: z.boolean(), warnings: z.array(CompileIssue) }),
          201: z.object({ definition: DefinitionSummary, created: z.boolean(), warnings: z.array(CompileIssue) }),
          409: CompileProblem,
          422: CompileProblem,
        },
      },
    },
    async (req, reply) => {
      const result = await registry.register(req.body.source);
      if (!result.ok) {
        const conflict = result.errors.some((e) => e.code === 'name-taken');
        return compileProblem(reply, conflict ? 409 : 422, result.errors);
      }
      const { definition, created } = result;
      await services.audit.record({
        actor: caller(req).subject,
        action: 'definition.register',
        target: definition.name,
        details: { hash: definition.hash, created },
      });
      return reply.code(created ? 201 : 200).send({ definition: summary(registry, definition), created, warnings: result.warnings.map(issue) });
    },
  );
};

export default definitionRoutes;

// /v1/runs: start runs of a definition (input validated first, idempotency keys), list them from
// Temporal visibility, read one (description + graph) and its history as a timeline, cancel, and
// retry or skip the failed items of a paused fan-out. Approvals: routes/approvals.ts.
import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { caller } from '../auth/plugin.ts';
import { problem } from '../problem.ts';
import { mutating, type ApiServices, type RoutesOptions } from '../services.ts';
import { retryFailedItemsUpdate, skipFailedItemsUpdate, RefusalType, type FanOutRequest } from '../../workflows/interpreter/messages.ts';
import type { CompiledDefinition } from '../../workflows/dsl/compiled.ts';
import { checkInput } from '../../workflows/dsl/input.ts';
import { RunGraph, RunParams, RunSummary, StepParams, HistoryEvent, RUN_STATUSES, TEMPORAL_STATUSES, runProblems, safeString } from '../runs/schemas.ts';
import {
  describeRun,
  idempotentWorkflowId,
  interpretStartOptions,
  isClosed,
  isWorkerTimeout,
  PROBLEM,
  refusalOf,
  requestHash,
  runGraph,
  runNotFound,
  runSummary,
  sendRefusal,
  visibilityQuery,
  workerUnavailable,
  workerDeadlineMs,
} from '../runs/temporal.ts';
import { runTimeline } from '../runs/history.ts';
import { startRunLinks } from '../openapi/links.ts';
import { OutputInfo, RunFailure, runOutcome } from '../runs/output.ts';
import { badPageToken, listRunsPage, PageTokenParam } from '../runs/page-token.ts';
import { itemReader, itemsPageToken, ItemResultView, ItemsQuery, openItemsPageToken, readItemsPage } from '../runs/items.ts';

const StartBody = z.object({
  definition: safeString(200).describe('Definition name'),
  input: z.unknown().optional().describe("The run's input, validated against the definition's input schema"),
  version: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/).optional().describe('Pin a version (content hash) instead of the latest'),
  idempotencyKey: z.string().min(1).max(200).optional().describe('Same key and same body: the same run (200); same key, other body: 409'),
});

const ListQuery = z.object({
  definition: safeString().optional(),
  status: z.enum(RUN_STATUSES).optional().describe('CedilleStatus'),
  temporalStatus: z.enum(TEMPORAL_STATUSES).optional().describe('Temporal execution status'),
  initiator: safeString().optional(),
  since: z.iso.datetime({ offset: true }).optional().describe('Started at or after'),
  until: z.iso.datetime({ offset: true }).optional().describe('Started at or before'),
  pageSize: z.coerce.number().int().min(1).max(200).default(50),
  nextPageToken: PageTokenParam.optional(),
});

/** Resolves the definition of a start request (latest, or the pinned version of that name), as registered by any replica. */
async function resolveDefinition(services: ApiServices, name: string, version?: string): Promise<CompiledDefinition | { field: string; message: string }> {
  await services.registry.refresh();
  if (version) {
    const def = services.registry.getByHash(version);
    if (!def || def.name !== name) return { field: 'body.version', message: `definition '${name}' has no version '${version}'` };
    return def;
  }
  return services.registry.get(name) ?? { field: 'body.definition', message: `no definition named '${name}'` };
}

/** Input problems against the definition's input JSON Schema, as `body.input.<path>` fields. */
export function inputProblems(def: CompiledDefinition, input: unknown): { field: string; message: string }[] {
  const checked = checkInput(def, input);
  return checked.ok ? [] : checked.issues.map((i) => ({ field: ['body', 'input', ...i.path].join('.'), message: i.message }));
}

const runsRoutes: FastifyPluginAsyncZod<RoutesOptions> = async (app, { services }) => {
  const { client } = services;

  app.post(
    '/runs',
    {
      config: mutating(services, 'operator'),
      links: startRunLinks,
      schema: {
        tags: ['runs'],
        operationId: 'startRun',
        summary: 'Start a run of a definition',
        description: 'The input is validated before anything starts (422 naming each field). With an idempotencyKey, the same caller, key and body give the same run.',
        body: StartBody,
        response: { ...runProblems, 200: z.object({ run: RunSummary }), 201: z.object({ run: RunSummary }) },
      },
    },
    async (req, reply) => {
      const who = caller(req);
      const { definition: name, input, version, idempotencyKey } = req.body;
      const def = await resolveDefinition(services, name, version);
      if ('field' in def) return problem(reply, 404, { type: PROBLEM.definitionNotFound, title: 'Definition not found', detail: def.message, errors: [def] });
      const errors = inputProblems(def, input);
      if (errors.length)
        return problem(reply, 422, { type: PROBLEM.invalidInput, title: 'Invalid input', detail: errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors });

      const hash = requestHash(def.name, def.hash, input);
      const workflowId = idempotencyKey ? idempotentWorkflowId(def.name, who.subject, idempotencyKey) : `${def.name}-${randomUUID()}`;
      const startTime = new Date().toISOString();
      const recordStart = () =>
        services.audit.record(
          { actor: who.subject, action: 'run.start', target: workflowId, details: { definition: def.name, version: def.hash, ...(idempotencyKey ? { idempotencyKey } : {}) } },
          { once: `run.start:${workflowId}` },
        );
      let runId: string;
      try {
        ({ firstExecutionRunId: runId } = await client.workflow.start('interpret', {
          taskQueue: services.config.temporal.taskQueue,
          workflowId,
          ...interpretStartOptions(def, input, who.subject, { requestHash: hash }, { workflowId, key: services.config.linkSecret }),
          ...(idempotencyKey ? { workflowIdReusePolicy: 'REJECT_DUPLICATE' as const } : {}),
        }));
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError) || !idempotencyKey) throw err;
        // The key was used before: the same request gets the same run, another request a conflict.
        const existing = await describeRun(client, workflowId);
        if (existing && existing.memo?.requestHash === hash) {
          await recordStart(); // the first attempt may have died between the start and its audit entry
          return reply.code(200).send({ run: runSummary(existing) });
        }
        return problem(reply, 409, {
          type: PROBLEM.idempotencyConflict,
          title: 'Idempotency key reused',
          detail: `idempotency key '${idempotencyKey}' already started run ${workflowId} with another definition, version or input`,
          errors: [{ field: 'body.idempotencyKey', message: 'already used for a different request' }],
        });
      }
      await recordStart();
      app.metrics.runsStarted.inc({ definition: def.name });
      // Everything the summary says is known from the start request: no second round trip.
      const run: RunSummary = { id: workflowId, runId, definition: def.name, hash: def.hash, status: 'running', temporalStatus: 'RUNNING', initiator: who.subject, startTime };
      return reply.code(201).send({ run });
    },
  );

  app.get(
    '/runs',
    {
      config: { access: 'read' },
      schema: {
        tags: ['runs'],
        operationId: 'listRuns',
        summary: 'List runs (Temporal visibility), newest first',
        querystring: ListQuery,
        response: { ...runProblems, 200: z.object({ runs: z.array(RunSummary), nextPageToken: z.string().optional() }) },
      },
    },
    async (req, reply) => {
      const { pageSize, nextPageToken, ...filter } = req.query;
      try {
        const page = await listRunsPage(client, services.config.linkSecret, visibilityQuery(filter), pageSize, nextPageToken);
        if ('refused' in page) return badPageToken(reply, page.refused);
        return { runs: page.runs.map(runSummary), ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}) };
      } catch (err) {
        if ((err as { code?: number }).code === 3) return problem(reply, 400, { detail: `invalid listing request: ${(err as Error).message}` });
        throw err;
      }
    },
  );

  app.get(
    '/runs/:id',
    {
      config: { access: 'read' },
      schema: {
        tags: ['runs'],
        operationId: 'getRun',
        summary: 'A run and its step graph',
        description:
          'graph is null (graphError says why) when no worker answered the graph query. A completed run has its output ' +
          '(secrets redacted, shortened past a size cap: outputInfo says where); a failed one its failure.',
        params: RunParams,
        response: {
          ...runProblems,
          200: z.object({
            run: RunSummary,
            graph: RunGraph.nullable(),
            graphError: z.string().optional(),
            output: z.unknown().optional().describe("The run's output (completed runs)"),
            outputInfo: OutputInfo.optional(),
            failure: RunFailure.optional(),
            outputError: z.string().optional().describe('Why the output could not be read'),
          }),
        },
      },
    },
    async (req, reply) => {
      const info = await describeRun(client, req.params.id);
      if (!info) return runNotFound(reply, req.params.id);
      const [g, outcome] = await Promise.all([
        runGraph(client, req.params.id, info.runId),
        runOutcome(client, info).catch((err: unknown) => ({ outputError: (err as Error).message })),
      ]);
      return { run: runSummary(info), ...('graph' in g ? { graph: g.graph } : { graph: null, graphError: g.error }), ...outcome };
    },
  );

  app.get(
    '/runs/:id/history',
    {
      config: { access: 'read' },
      schema: {
        tags: ['runs'],
        operationId: 'getRunHistory',
        summary: "The run's history as a readable timeline",
        params: RunParams,
        response: { ...runProblems, 200: z.object({ events: z.array(HistoryEvent) }) },
      },
    },
    async (req, reply) => {
      const info = await describeRun(client, req.params.id);
      if (!info) return runNotFound(reply, req.params.id);
      return { events: await runTimeline(client, req.params.id, info.runId, services.config.linkSecret) };
    },
  );

  app.post(
    '/runs/:id/cancel',
    {
      config: mutating(services, 'operator'),
      schema: {
        tags: ['runs'],
        operationId: 'cancelRun',
        summary: 'Request cancellation (compensations and finally still run)',
        params: RunParams,
        body: z.object({ reason: z.string().max(1000).optional() }).nullish(),
        response: { ...runProblems, 202: z.object({ run: RunSummary }) },
      },
    },
    async (req, reply) => {
      const who = caller(req);
      const { id } = req.params;
      const reason = req.body?.reason;
      const info = await describeRun(client, id);
      if (!info) return runNotFound(reply, id);
      if (isClosed(info)) return problem(reply, 409, { type: PROBLEM.runClosed, title: 'Run closed', detail: `run ${id} is already ${info.status.name.toLowerCase()}` });
      try {
        // The raw call, so history keeps who cancelled and why (the handle's cancel() sends neither).
        await client.workflowService.requestCancelWorkflowExecution({
          namespace: services.config.temporal.namespace,
          workflowExecution: { workflowId: id },
          identity: who.subject,
          reason: reason ?? `cancelled by ${who.subject}`,
          requestId: randomUUID(),
        });
      } catch (err) {
        if ((err as { code?: number }).code === 5) return problem(reply, 409, { type: PROBLEM.runClosed, title: 'Run closed', detail: `run ${id} closed before it could be cancelled` });
        throw err;
      }
      await services.audit.record({ actor: who.subject, action: 'run.cancel', target: id, details: { ...(reason ? { reason } : {}) } });
      return reply.code(202).send({ run: runSummary(info) });
    },
  );

  const items = itemReader(services.config);
  app.get(
    '/runs/:id/steps/:step/items',
    {
      config: { access: 'read' },
      schema: {
        tags: ['runs'],
        operationId: 'listStepItems',
        summary: "A forEach step's per-item results, page by page",
        description:
          'In item order, secrets redacted. The step output and the graph hold only counts and the first failures; ' +
          'this reads every result from its pages (409 while the fan-out runs, or for runs started before paged results).',
        params: StepParams,
        querystring: ItemsQuery,
        response: { ...runProblems, 200: z.object({ items: z.array(ItemResultView), total: z.int(), nextPageToken: z.string().optional() }) },
      },
    },
    async (req, reply) => {
      const { id, step } = req.params;
      const { pageSize, nextPageToken } = req.query;
      const info = await describeRun(client, id);
      if (!info) return runNotFound(reply, id);
      const g = await runGraph(client, id, info.runId);
      if (!('graph' in g)) return workerUnavailable(reply, 'graph query');
      const node = g.graph.nodes.find((n) => n.id === step);
      if (!node) return problem(reply, 404, { title: 'Step not found', detail: `run ${id} has no step '${step}'` });
      if (node.kind !== 'forEach') return problem(reply, 404, { title: 'Not a forEach step', detail: `step '${step}' of run ${id} is a ${node.kind} step: only forEach steps have per-item results` });
      const ref = node.fanOut?.results;
      if (!ref) return problem(reply, 409, { title: 'No per-item results', detail: `step '${step}' of run ${id} has no paged per-item results (${node.status}: they are written when the fan-out ends, by runs started since paged results)` });
      let offset = 0;
      if (nextPageToken !== undefined) {
        const opened = openItemsPageToken(services.config.linkSecret, id, step, ref, nextPageToken);
        if ('refused' in opened) return badPageToken(reply, opened.refused);
        offset = opened.offset;
      }
      const page = await readItemsPage(items, ref, offset, pageSize);
      const next = offset + page.length;
      const total = ref.$items.count;
      return { items: page, total, ...(next < total && page.length ? { nextPageToken: itemsPageToken(services.config.linkSecret, id, step, ref, next) } : {}) };
    },
  );

  for (const [action, update, field] of [
    ['retry-failed', retryFailedItemsUpdate, 'retrying'],
    ['skip-failed', skipFailedItemsUpdate, 'skipped'],
  ] as const) {
    app.post(
      `/runs/:id/steps/:step/${action}`,
      {
        config: mutating(services, 'operator'),
        schema: {
          tags: ['runs'],
          operationId: action === 'retry-failed' ? 'retryFailedItems' : 'skipFailedItems',
          summary: action === 'retry-failed' ? 'Re-run the failed items of a paused forEach' : 'Give up on the failed items of a paused forEach',
          params: StepParams,
          response: { ...runProblems, 200: z.object({ stepId: z.string(), [field]: z.int() }) },
        },
      },
      async (req, reply) => {
        const who = caller(req);
        const { id, step } = req.params;
        const info = await describeRun(client, id);
        if (!info) return runNotFound(reply, id);
        // 409, like a step that is not paused: the run's state forbids it (an approval of a closed run is 410).
        const closed = () => problem(reply, 409, { type: PROBLEM.runClosed, title: 'Run closed', detail: `run ${id} is ${info.status.name.toLowerCase()}: nothing is paused` });
        if (isClosed(info)) return closed();
        let result: Record<string, unknown>;
        try {
          result = await client.withDeadline(Date.now() + workerDeadlineMs(), () => client.workflow.getHandle(id).executeUpdate<Record<string, unknown>, [FanOutRequest]>(update.name, { args: [{ stepId: step }] }));
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) return closed();
          if (isWorkerTimeout(err)) return workerUnavailable(reply, action);
          const refusal = refusalOf(err);
          if (!refusal) throw err;
          // The validator cannot tell an unknown step from one that is not paused; the graph can.
          if (refusal.type === RefusalType.NotPaused) {
            const g = await runGraph(client, id);
            if ('graph' in g && !g.graph.nodes.some((n) => n.id === step))
              return sendRefusal(reply, { type: RefusalType.UnknownStep, message: `run ${id} has no step '${step}'` });
          }
          return sendRefusal(reply, refusal);
        }
        await services.audit.record({ actor: who.subject, action: `run.${action}`, target: id, details: { stepId: step, [field]: result[field] } });
        return result as { stepId: string };
      },
    );
  }
};

export default runsRoutes;

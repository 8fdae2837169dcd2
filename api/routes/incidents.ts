// /v1/incidents: intake of the `incident` workflow (docs/INCIDENTS.md). Alertmanager and Grafana
// webhooks (public at the API-auth level, authenticated by their own bearer token or HMAC signature
// over the raw body), a manual declaration, the incidents list and one incident, notes, and the
// owner's report fields. Webhook dedupe and the decisions behind it: api/incidents/intake.ts.
import type { Client } from '@temporalio/client';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifyError, FastifyReply } from 'fastify';
import { z } from 'zod';
import { caller } from '../auth/plugin.ts';
import { problem, Problem } from '../problem.ts';
import { mutating, type RoutesOptions } from '../services.ts';
import { declareIncidentLinks } from '../openapi/links.ts';
import { RUN_STATUSES, RunGraph, RunSummary, runProblems, safeString } from '../runs/schemas.ts';
import { describeRun, isClosed, PROBLEM, runGraph, runSummary, visibilityQuery, isWorkerTimeout, workerUnavailable, type RunInfo } from '../runs/temporal.ts';
import { SEARCH_ATTRIBUTE_KEYS } from '../../workflows/search-attributes.ts';
import { badPageToken, listRunsPage, PageTokenParam } from '../runs/page-token.ts';
import { TEMPORAL_UNAVAILABLE } from './health.ts';
import { loadIncidentsConfig, type WebhookSource } from '../incidents/config.ts';
import { AlertmanagerPayload, GrafanaPayload, parseWebhook } from '../incidents/payloads.ts';
import { normalizeNotification, ownerOf, type IncidentInput } from '../incidents/normalize.ts';
import { checkWebhookAuth } from '../incidents/signature.ts';
import { incidentClassification, incidentOwner, type Classification } from '../incidents/owner.ts';
import { IncidentError, IncidentIntake, INCIDENT_DEFINITION, incidentIdOf, manualIncidentId } from '../incidents/intake.ts';
import { mapLimit } from '../map-limit.ts';

/** Whether Temporal could not be reached (gRPC UNAVAILABLE anywhere in the cause chain, or no connection). */
function temporalUnreachable(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown; message?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (e.code === 14 || (typeof e.message === 'string' && /ECONNREFUSED|UNAVAILABLE|Failed to connect/i.test(e.message))) return true;
  }
  return false;
}

function unreachable(reply: FastifyReply, err: unknown) {
  return problem(reply, 503, { type: TEMPORAL_UNAVAILABLE, title: 'Temporal unavailable', detail: `try again later: ${(err as Error).message}` });
}

const INCIDENT_PROBLEM = {
  notIncident: 'urn:cedille:problem:incident-not-found',
  webhookDisabled: 'urn:cedille:problem:webhook-not-configured',
  unauthenticated: 'urn:cedille:problem:webhook-unauthenticated',
  invalidPayload: 'urn:cedille:problem:invalid-webhook-payload',
  tooLarge: 'urn:cedille:problem:webhook-body-too-large',
};

/** Text that is not only whitespace (checked after trimming; stated as a pattern in the OpenAPI document). */
const NON_BLANK = /[^\s\ufeff]/;

const Labels = z.record(z.string().max(256), z.string().max(4096));

export const IncidentSummary = RunSummary.extend({
  title: z.string().optional(),
  severity: z.string().optional(),
  source: z.string().optional(),
  groupKey: z.string().optional(),
  owner: z.string().optional(),
  clubs: z.array(z.string()).optional(),
  kind: z.string().optional(),
  truncatedAlerts: z.int().optional().describe('Alerts of the opening notification left out (sender or webhook maxAlerts)'),
}).meta({ id: 'IncidentSummary' });
type IncidentSummary = z.infer<typeof IncidentSummary>;

const WebhookResult = z
  .object({
    action: z.enum(['opened', 'updated', 'resolved', 'ignored', 'duplicate']),
    incidentId: z.string().optional(),
    runId: z.string().optional(),
    reason: z.string().optional(),
    alerts: z.object({
      selected: z.int(),
      skipped: z.int(),
      changed: z.int(),
      stale: z.int(),
      truncated: z.int().optional().describe("Alerts left out: the sender's truncatedAlerts plus those past the webhook's maxAlerts"),
    }),
  })
  .meta({ id: 'IncidentWebhookResult' });

const DeclareBody = z.object({
  title: z.string().trim().min(1).regex(NON_BLANK, 'may not be blank').max(300),
  severity: z.string().trim().min(1).regex(NON_BLANK, 'may not be blank').max(64).describe('e.g. critical, warning'),
  kind: z.enum(['availability', 'security']).optional().describe('Classification (webhook incidents are classified by the workflow)'),
  clubs: z.array(z.string().trim().min(1).regex(NON_BLANK, 'may not be blank').max(100)).max(50).optional(),
  owner: safeString(200).optional().describe("Subject owning the report (default: the club's owner from the incidents config, else the declarer)"),
  description: z.string().max(10_000).optional(),
  labels: Labels.optional(),
});

const NoteBody = z.object({ text: z.string().trim().min(1).regex(NON_BLANK, 'may not be blank').max(10_000) });

const ReportBody = z.object({
  summary: z.string().trim().min(1).regex(NON_BLANK, 'may not be blank').max(20_000),
  impact: z.string().trim().max(20_000).optional(),
  rootCauses: z.string().trim().min(1).regex(NON_BLANK, 'may not be blank').max(20_000),
  trigger: z.string().trim().min(1).regex(NON_BLANK, 'may not be blank').max(20_000),
  resolution: z.string().trim().min(1).regex(NON_BLANK, 'may not be blank').max(20_000),
  detection: z.string().trim().min(1).regex(NON_BLANK, 'may not be blank').max(20_000),
  actionItems: z
    .array(z.object({ title: z.string().trim().min(1).regex(NON_BLANK, 'may not be blank').max(500), owner: z.string().trim().min(1).regex(NON_BLANK, 'may not be blank').max(200), due: z.iso.date().describe('YYYY-MM-DD') }))
    .max(100),
  lessons: z.string().trim().min(1).regex(NON_BLANK, 'may not be blank').max(20_000),
});

const IncidentParams = z.object({
  id: safeString(200)
    .regex(/^incident-/, 'an incident id starts with incident-')
    .describe('Incident id (starts with `incident-`)'),
});

const ListQuery = z.object({
  status: z.enum(RUN_STATUSES).optional(),
  pageSize: z.coerce.number().int().min(1).max(200).default(50),
  nextPageToken: PageTokenParam.optional(),
});

const EventReceipt = z.object({ incidentId: z.string(), event: z.enum(['note', 'report']), accepted: z.literal(true), at: z.string() });

type IncidentMemo = Partial<Pick<IncidentSummary, 'title' | 'severity' | 'source' | 'groupKey' | 'owner' | 'clubs' | 'kind' | 'truncatedAlerts'>>;

function memoOf(info: Pick<RunInfo, 'memo'>): IncidentMemo {
  const m = info.memo?.incident;
  return m && typeof m === 'object' ? (m as IncidentMemo) : {};
}

function incidentSummary(info: RunInfo): IncidentSummary {
  const m = memoOf(info);
  const pick = <K extends keyof IncidentMemo>(k: K) => (m[k] !== undefined ? { [k]: m[k] } : {});
  return { ...runSummary(info), ...pick('title'), ...pick('severity'), ...pick('source'), ...pick('groupKey'), ...pick('owner'), ...pick('clubs'), ...pick('kind'), ...pick('truncatedAlerts') };
}

/**
 * The summary, with the kind (and owner) the workflow classified when intake did not know them: a
 * webhook incident is classified by its run. Unknown while the classification has not completed.
 */
async function classifiedSummary(client: Client, info: RunInfo): Promise<IncidentSummary> {
  const summary = incidentSummary(info);
  if (summary.kind && summary.owner) return summary;
  const c = await incidentClassification(client, info).catch(() => ({}) as Classification);
  return { ...summary, ...(!summary.kind && c.kind ? { kind: c.kind } : {}), ...(!summary.owner && c.owner ? { owner: c.owner } : {}) };
}

const isIncident = (info: RunInfo) => info.typedSearchAttributes.get(SEARCH_ATTRIBUTE_KEYS.definition) === INCIDENT_DEFINITION;

function incidentNotFound(reply: FastifyReply, id: string) {
  return problem(reply, 404, { type: INCIDENT_PROBLEM.notIncident, title: 'Incident not found', detail: `no incident with id '${id}'` });
}

function sendIncidentError(reply: FastifyReply, err: IncidentError) {
  return problem(reply, err.status, { type: err.type, title: err.type.split(':').at(-1) ?? 'Refused', detail: err.message, ...(err.errors ? { errors: err.errors } : {}) });
}

const incidentsRoutes: FastifyPluginAsyncZod<RoutesOptions> = async (app, { services }) => {
  const { client } = services;
  const config = loadIncidentsConfig(services.config.incidentsConfigPath);
  const intake = new IncidentIntake(services, config, app.log);

  // Webhooks: the body stays raw (a Buffer) in this scope, so signatures are checked on the exact bytes.
  await app.register(async (hooks) => {
    hooks.removeAllContentTypeParsers();
    hooks.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: config.maxBodyBytes }, (_req, body, done) => done(null, body));
    // A body over the limit says which limit, and how to raise it; other errors go to the API's handler.
    hooks.setErrorHandler((err: FastifyError, req, reply) => {
      if (err.code !== 'FST_ERR_CTP_BODY_TOO_LARGE') throw err;
      const size = Number(req.headers['content-length']);
      return problem(reply, 413, {
        type: INCIDENT_PROBLEM.tooLarge,
        title: 'Webhook body too large',
        detail:
          `the body${Number.isFinite(size) && size > 0 ? ` (${size} bytes)` : ''} is over the webhook body limit of ${config.maxBodyBytes} bytes ` +
          '(CEDILLE_WEBHOOK_BODY_LIMIT, or webhooks.maxBodyBytes in CEDILLE_INCIDENTS_CONFIG)',
      });
    });
    for (const source of ['alertmanager', 'grafana'] as const satisfies WebhookSource[]) {
      hooks.post(
        `/incidents/webhooks/${source}`,
        {
          config: { access: 'public' as const, rateLimit: { max: config.ratePerMinute, timeWindow: 60_000 } },
          bodyLimit: config.maxBodyBytes,
          // The body schema documents the payload in OpenAPI; the handler checks it itself, after the signature.
          validatorCompiler: () => (data: unknown) => ({ value: data }),
          schema: {
            body: source === 'alertmanager' ? AlertmanagerPayload : GrafanaPayload,
            tags: ['incidents'],
            operationId: source === 'alertmanager' ? 'receiveAlertmanagerWebhook' : 'receiveGrafanaWebhook',
            summary: source === 'alertmanager' ? "Alertmanager webhook receiver (payload version 4)" : "Grafana alerting webhook (Alertmanager's payload plus Grafana's fields)",
            description:
              'Authenticated by a configured bearer token or an HMAC-SHA256 signature of the raw body (CEDILLE_INCIDENTS_CONFIG), not by API tokens. ' +
              'Resends open one incident per alert group (groupKey); later notifications update it, a full resolution resolves it. ' +
              '401 unauthenticated, 400 malformed (naming the field), 413 too big, 404 not configured; 202 says what was done.',
            security: [],
            response: { 202: WebhookResult, 400: Problem, 401: Problem, 404: Problem, 409: Problem, 413: Problem, 422: Problem, 429: Problem, 500: Problem, 503: Problem },
          },
        },
        async (req, reply) => {
          const auth = config.webhooks[source];
          if (!auth) return problem(reply, 404, { type: INCIDENT_PROBLEM.webhookDisabled, title: 'Webhook not configured', detail: `the ${source} webhook is not configured (CEDILLE_INCIDENTS_CONFIG)` });
          const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
          const authn = checkWebhookAuth(auth, req.headers, raw);
          if ('refused' in authn) {
            req.log.warn({ source, reason: authn.refused }, 'webhook refused');
            reply.header('www-authenticate', 'Bearer');
            return problem(reply, 401, { type: INCIDENT_PROBLEM.unauthenticated, title: 'Webhook not authenticated', detail: authn.refused });
          }
          const parsed = parseWebhook(source, raw, config.maxAlerts);
          if ('errors' in parsed)
            return problem(reply, 400, { type: INCIDENT_PROBLEM.invalidPayload, title: 'Invalid webhook payload', detail: parsed.errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors: parsed.errors });
          const { misses, ...notification } = normalizeNotification(source, parsed.payload, config);
          let result;
          try {
            result = await intake.receive(notification);
          } catch (err) {
            if (err instanceof IncidentError) return sendIncidentError(reply, err);
            if (isWorkerTimeout(err)) return workerUnavailable(reply, 'incident event');
            if (temporalUnreachable(err)) return unreachable(reply, err); // Alertmanager retries 5xx
            throw err;
          }
          if (result.action === 'ignored' && !notification.alerts.length) result.reason = `no alert matches the opening rules (${misses.slice(0, 5).join('; ')})`;
          await services.audit.record({
            actor: `webhook:${source}`,
            action: 'incident.webhook',
            target: result.incidentId ?? incidentIdOf(notification.groupKey),
            details: { via: authn.via, outcome: result.action, status: notification.status, groupKey: notification.groupKey, ...result.alerts, ...(result.reason ? { reason: result.reason } : {}) },
          });
          return reply.code(202).send(result);
        },
      );
    }
  });

  app.post(
    '/incidents',
    {
      config: mutating(services, 'operator'),
      links: declareIncidentLinks,
      schema: {
        tags: ['incidents'],
        operationId: 'declareIncident',
        summary: 'Declare an incident by hand',
        description: 'Starts an `incident` run (id incident-manual-...). The declarer is its initiator, so cannot approve its review (four-eyes).',
        body: DeclareBody,
        response: { ...runProblems, 201: z.object({ incident: IncidentSummary }) },
      },
    },
    async (req, reply) => {
      const who = caller(req);
      const b = req.body;
      const id = manualIncidentId();
      const clubs = b.clubs?.length ? [...new Set(b.clubs)].sort() : undefined;
      const input: IncidentInput = {
        source: 'manual',
        groupKey: `manual:${id}`,
        title: b.title,
        severity: b.severity,
        ...(b.kind ? { kind: b.kind } : {}),
        ...(clubs ? { clubs } : {}),
        owner: b.owner ?? ownerOf(config, clubs ?? []) ?? who.subject,
        declaredBy: who.subject,
        commonLabels: { ...(b.labels ?? {}) },
        commonAnnotations: b.description ? { description: b.description } : {},
        alerts: [],
      };
      let started;
      try {
        started = await intake.start(id, input, who.subject);
      } catch (err) {
        if (err instanceof IncidentError) return sendIncidentError(reply, err);
        throw err;
      }
      if (!started) throw new Error(`incident id ${id} already in use`); // random ids: unreachable
      await services.audit.record({ actor: who.subject, action: 'incident.declare', target: id, details: { title: b.title, severity: b.severity, ...(b.kind ? { kind: b.kind } : {}), owner: input.owner } });
      const def = intake.definition();
      const incident: IncidentSummary = {
        id,
        runId: started.runId,
        definition: def.name,
        hash: def.hash,
        status: 'running',
        temporalStatus: 'RUNNING',
        initiator: who.subject,
        startTime: new Date().toISOString(),
        title: input.title,
        severity: input.severity,
        source: 'manual',
        groupKey: input.groupKey,
        ...(input.owner ? { owner: input.owner } : {}),
        ...(clubs ? { clubs } : {}),
        ...(b.kind ? { kind: b.kind } : {}),
      };
      return reply.code(201).send({ incident });
    },
  );

  app.get(
    '/incidents',
    {
      config: { access: 'read' },
      schema: {
        tags: ['incidents'],
        operationId: 'listIncidents',
        summary: 'List incidents (runs of the incident definition), newest first',
        querystring: ListQuery,
        response: { ...runProblems, 200: z.object({ incidents: z.array(IncidentSummary), nextPageToken: z.string().optional() }) },
      },
    },
    async (req, reply) => {
      const { pageSize, nextPageToken, status } = req.query;
      const page = await listRunsPage(client, services.config.linkSecret, visibilityQuery({ definition: INCIDENT_DEFINITION, ...(status ? { status } : {}) }), pageSize, nextPageToken);
      if ('refused' in page) return badPageToken(reply, page.refused);
      const incidents = await mapLimit(page.runs, 16, (info) => classifiedSummary(client, info));
      return { incidents, ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}) };
    },
  );

  /** The incident's description, or a problem sent: unknown, not an incident, or (`open`) closed. */
  async function incidentOr(reply: FastifyReply, id: string, open: boolean): Promise<RunInfo | undefined> {
    const info = await describeRun(client, id);
    if (!info || !isIncident(info)) {
      await incidentNotFound(reply, id);
      return undefined;
    }
    if (open && isClosed(info)) {
      await problem(reply, 409, { type: PROBLEM.runClosed, title: 'Incident closed', detail: `incident ${id} is ${info.status.name.toLowerCase()}` });
      return undefined;
    }
    return info;
  }

  app.get(
    '/incidents/:id',
    {
      config: { access: 'read' },
      schema: {
        tags: ['incidents'],
        operationId: 'getIncident',
        summary: 'An incident: its run and step graph',
        params: IncidentParams,
        response: { ...runProblems, 200: z.object({ incident: IncidentSummary, graph: RunGraph.nullable(), graphError: z.string().optional() }) },
      },
    },
    async (req, reply) => {
      const info = await incidentOr(reply, req.params.id, false);
      if (!info) return reply;
      const [g, incident] = await Promise.all([runGraph(client, info.workflowId, info.runId), classifiedSummary(client, info)]);
      return 'graph' in g ? { incident, graph: g.graph } : { incident, graph: null, graphError: g.error };
    },
  );

  app.post(
    '/incidents/:id/notes',
    {
      config: mutating(services, 'operator'),
      schema: {
        tags: ['incidents'],
        operationId: 'addIncidentNote',
        summary: "Add a note to an incident's timeline",
        params: IncidentParams,
        body: NoteBody,
        response: { ...runProblems, 202: EventReceipt },
      },
    },
    async (req, reply) => {
      const who = caller(req);
      const info = await incidentOr(reply, req.params.id, true);
      if (!info) return reply;
      const at = new Date().toISOString();
      try {
        await intake.sendEvent(info.workflowId, 'note', { author: who.subject, text: req.body.text, at });
      } catch (err) {
        if (err instanceof IncidentError) return sendIncidentError(reply, err);
        if (isWorkerTimeout(err)) return workerUnavailable(reply, 'note');
        throw err;
      }
      await services.audit.record({ actor: who.subject, action: 'incident.note', target: info.workflowId, details: { length: req.body.text.length } });
      return reply.code(202).send({ incidentId: info.workflowId, event: 'note' as const, accepted: true as const, at });
    },
  );

  app.post(
    '/incidents/:id/report',
    {
      config: mutating(services, 'read'),
      schema: {
        tags: ['incidents'],
        operationId: 'submitIncidentReport',
        summary: "Submit the report's completed fields (the incident's owner, or an admin)",
        description: 'The run validates the fields against its own schema too (400 naming the field); it then goes to the SRE review (an approval step).',
        params: IncidentParams,
        body: ReportBody,
        response: { ...runProblems, 202: EventReceipt },
      },
    },
    async (req, reply) => {
      const who = caller(req);
      const info = await incidentOr(reply, req.params.id, true);
      if (!info) return reply;
      const owner = await incidentOwner(client, info);
      if (!who.roles.includes('admin') && owner !== who.subject)
        return problem(reply, 403, { detail: `only the incident's owner (${owner ?? 'none assigned'}) or an admin may submit its report` });
      const at = new Date().toISOString();
      try {
        await intake.sendEvent(info.workflowId, 'report', { submittedBy: who.subject, ...req.body });
      } catch (err) {
        if (err instanceof IncidentError) return sendIncidentError(reply, err);
        if (isWorkerTimeout(err)) return workerUnavailable(reply, 'report');
        throw err;
      }
      await services.audit.record({ actor: who.subject, action: 'incident.report', target: info.workflowId, details: { actionItems: req.body.actionItems.length } });
      return reply.code(202).send({ incidentId: info.workflowId, event: 'report' as const, accepted: true as const, at });
    },
  );
};

export default incidentsRoutes;

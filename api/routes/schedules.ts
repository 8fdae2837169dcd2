// /v1/schedules: Temporal Schedules starting `interpret` on a definition pinned when the schedule is
// created (the compiled version travels in the action's arguments, so registering a new version
// does not change what a schedule runs). The schedule memo keeps what Temporal does not give back
// as written (the cron text, the definition and its hash, the input, who created it).
import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type ScheduleDescription, type ScheduleSummary } from '@temporalio/client';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { parseDuration } from '../../workflows/compiler/index.ts';
import type { RunInput } from '../../workflows/interpreter/run-input.ts';
import { SEARCH_ATTRIBUTE_KEYS as keys } from '../../workflows/search-attributes.ts';
import { caller } from '../auth/plugin.ts';
import { scheduledRun } from '../runs/temporal.ts';
import { readRunTicket } from '../../trust/run-ticket.ts';
import { inputProblems } from './runs.ts';
import { problem, problemResponses } from '../problem.ts';
import { mutating, type RoutesOptions } from '../services.ts';
import { createScheduleLinks } from '../openapi/links.ts';

export const DEFAULT_TIMEZONE = 'America/Toronto';
const OVERLAP = ['skip', 'buffer_one', 'buffer_all', 'cancel_other', 'terminate_other', 'allow_all'] as const;
type Overlap = (typeof OVERLAP)[number];
const toTemporal = (o: Overlap) => o.toUpperCase() as ScheduleOverlapPolicy;
const fromTemporal = (o: ScheduleOverlapPolicy | undefined): Overlap =>
  OVERLAP.find((x) => x.toUpperCase() === o) ?? 'skip';

// ---- validation -------------------------------------------------------------------------------

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const CRON_FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, base: 1 },
  { name: 'day of week', min: 0, max: 6, names: DAYS, base: 0 },
] as const;
const CRON_MACROS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];

/** Why a 5-field cron expression (minute hour day-of-month month day-of-week) is not one; undefined if it is. */
export function cronProblem(expr: string): string | undefined {
  const text = expr.trim();
  if (CRON_MACROS.includes(text.toLowerCase())) return undefined;
  const fields = text.split(/\s+/);
  if (fields.length !== 5) return `expected 5 fields (minute hour day-of-month month day-of-week) or ${CRON_MACROS.join('|')}, got ${fields.length}`;
  for (const [i, field] of fields.entries()) {
    const spec = CRON_FIELDS[i]!;
    const value = (v: string): number | undefined => {
      if (/^\d+$/.test(v)) return Number(v);
      const index = 'names' in spec ? spec.names.indexOf(v.toUpperCase()) : -1;
      return index >= 0 ? index + ('base' in spec ? spec.base : 0) : undefined;
    };
    for (const item of field.split(',')) {
      const m = item.match(/^(\*|([A-Za-z0-9]+)(?:-([A-Za-z0-9]+))?)(?:\/(\d+))?$/);
      if (!m) return `${spec.name} '${field}' is not a cron field`;
      const [, , from, to, step] = m;
      for (const v of [from, to]) {
        if (v === undefined) continue;
        const n = value(v);
        if (n === undefined || n < spec.min || n > spec.max) return `${spec.name} '${v}' is out of range ${spec.min}-${spec.max}`;
      }
      if (from !== undefined && to !== undefined && value(from)! > value(to)!) return `${spec.name} range '${from}-${to}' is reversed`;
      if (step !== undefined && Number(step) === 0) return `${spec.name} step must be positive`;
    }
  }
  return undefined;
}

/** The canonical name of an IANA time zone (`utc` -> `UTC`), or undefined when unknown. */
export function canonicalTimezone(tz: string): string | undefined {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** Temporal's smallest catch-up window. */
const MIN_CATCHUP_MS = 10_000;

const catchupProblem = (text: string) => {
  try {
    return parseDuration(text) < MIN_CATCHUP_MS ? `catch-up window '${text}' is below Temporal's minimum of 10s` : undefined;
  } catch (err) {
    return (err as Error).message;
  }
};

const ScheduleId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'letters, digits, `.`, `_`, `-` (at most 100, starting with a letter or digit)')
  .describe('Schedule id; its runs are `<id>-<scheduled time>`');

const Note = z.string().max(1000).optional().describe('Shown with the schedule state (why it is paused, ...)');

const CreateBody = z.object({
  id: ScheduleId,
  definition: z.string().min(1).describe('Definition name; its latest version (or `version`) is pinned now'),
  version: z.string().min(1).optional().describe('Content hash of the version to pin (default: the latest)'),
  input: z.unknown().optional().describe("Input of every run, validated against the definition's input schema"),
  cron: z
    .string()
    .superRefine((v, ctx) => {
      const why = cronProblem(v);
      if (why) ctx.addIssue({ code: 'custom', message: `invalid cron expression: ${why}` });
    })
    // A custom format: field ranges and their order are beyond a pattern (test/api/contract/hooks.py generates them).
    .meta({ format: 'cron' })
    .describe('5-field cron: minute hour day-of-month month day-of-week (or @daily, @hourly, ...)'),
  timezone: z
    .string()
    .refine((v) => canonicalTimezone(v) !== undefined, { message: 'unknown time zone (expected an IANA name such as America/Toronto)' })
    .meta({ format: 'time-zone' })
    .default(DEFAULT_TIMEZONE)
    .describe('IANA time zone of the cron expression (any case: `utc` is UTC)'),
  overlap: z.enum(OVERLAP).default('skip').describe('When a run is due while the previous one still runs'),
  catchupWindow: z
    .string()
    .superRefine((v, ctx) => {
      const why = catchupProblem(v);
      if (why) ctx.addIssue({ code: 'custom', message: why });
    })
    .meta({ format: 'catchup-window' })
    .optional()
    .describe('How late a missed run (server down) may still start: at least 10s, units ms/s/m/h/d concatenated (10m, 1h30m, 2d); Temporal default otherwise'),
  paused: z.boolean().default(false),
  note: Note,
});

const NoteBody = z.object({ note: Note }).nullish().describe('Optional: `{ note }`');

const RecentAction = z.object({ scheduledAt: z.string(), takenAt: z.string(), workflowId: z.string(), runId: z.string() });

export const ScheduleView = z
  .object({
    id: z.string(),
    definition: z.string(),
    hash: z.string().describe('Pinned definition version'),
    input: z.unknown().optional(),
    cron: z.string(),
    timezone: z.string(),
    overlap: z.enum(OVERLAP),
    catchupWindow: z.string().optional(),
    paused: z.boolean(),
    note: z.string().optional(),
    createdBy: z.string().optional(),
    createdAt: z.string().optional(),
    nextActionTimes: z.array(z.string()),
    recentActions: z.array(RecentAction).describe('Most recent runs started (also by trigger), oldest first'),
    runningWorkflows: z.array(z.string()).optional().describe('Workflow ids of runs still running (detail view only)'),
  })
  .meta({ id: 'Schedule' });
export type ScheduleView = z.infer<typeof ScheduleView>;

/** What the API keeps in the schedule memo. */
interface ScheduleMemo {
  definition: string;
  hash: string;
  input?: unknown;
  cron: string;
  timezone: string;
  overlap: Overlap;
  catchupWindow?: string;
  createdBy: string;
}

const memoOf = (memo: Record<string, unknown> | undefined): ScheduleMemo | undefined => {
  const m = memo?.cedille as ScheduleMemo | undefined;
  return m && typeof m === 'object' && typeof m.definition === 'string' ? m : undefined;
};

function view(id: string, memo: ScheduleMemo, s: Pick<ScheduleSummary, 'state' | 'info'>, extra: Partial<ScheduleView> = {}): ScheduleView {
  return {
    id,
    definition: memo.definition,
    hash: memo.hash,
    ...(memo.input !== undefined ? { input: memo.input } : {}),
    cron: memo.cron,
    timezone: memo.timezone,
    overlap: memo.overlap,
    ...(memo.catchupWindow ? { catchupWindow: memo.catchupWindow } : {}),
    paused: s.state.paused,
    ...(s.state.note ? { note: s.state.note } : {}),
    createdBy: memo.createdBy,
    nextActionTimes: s.info.nextActionTimes.map((d) => d.toISOString()),
    recentActions: s.info.recentActions.map((a) => ({
      scheduledAt: a.scheduledAt.toISOString(),
      takenAt: a.takenAt.toISOString(),
      workflowId: a.action.workflow.workflowId,
      runId: a.action.workflow.firstExecutionRunId,
    })),
    ...extra,
  };
}

function detailView(d: ScheduleDescription, memo: ScheduleMemo): ScheduleView {
  return view(d.scheduleId, { ...memo, overlap: fromTemporal(d.policies.overlap) }, d, {
    createdAt: d.info.createdAt.toISOString(),
    runningWorkflows: d.info.runningActions.map((a) => a.workflow.workflowId),
  });
}

// ---- routes -----------------------------------------------------------------------------------

const IdParams = z.object({ id: ScheduleId });
const one = z.object({ schedule: ScheduleView });

const scheduleRoutes: FastifyPluginAsyncZod<RoutesOptions> = async (app, { services }) => {
  const schedules = services.client.schedule;

  /** The schedule and its memo, or a 404 problem sent (also for schedules this API did not create). */
  async function find(id: string, reply: FastifyReply): Promise<{ description: ScheduleDescription; memo: ScheduleMemo } | undefined> {
    try {
      const description = await schedules.getHandle(id).describe();
      const memo = memoOf(description.memo);
      if (memo) return { description, memo };
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
    problem(reply, 404, { detail: `no schedule '${id}'` });
    return undefined;
  }

  const audit = (req: FastifyRequest, action: 'schedule.create' | 'schedule.pause' | 'schedule.unpause' | 'schedule.trigger' | 'schedule.delete', target: string, details?: Record<string, unknown>) =>
    services.audit.record({ actor: caller(req).subject, action, target, ...(details ? { details } : {}) });

  app.get(
    '/schedules',
    {
      config: { access: 'read' },
      schema: {
        tags: ['schedules'],
        operationId: 'listSchedules',
        summary: 'Every schedule (from Temporal visibility: changes show within moments)',
        response: { ...problemResponses, 200: z.object({ schedules: z.array(ScheduleView) }) },
      },
    },
    async () => {
      const out: ScheduleView[] = [];
      for await (const s of schedules.list()) {
        const memo = memoOf(s.memo);
        if (memo) out.push(view(s.scheduleId, memo, s));
      }
      return { schedules: out.sort((a, b) => a.id.localeCompare(b.id)) };
    },
  );

  app.get(
    '/schedules/:id',
    {
      config: { access: 'read' },
      schema: {
        tags: ['schedules'],
        operationId: 'getSchedule',
        summary: 'One schedule: next run times, recent runs, paused state and note',
        params: IdParams,
        response: { ...problemResponses, 200: one },
      },
    },
    async (req, reply) => {
      const found = await find(req.params.id, reply);
      return found && { schedule: detailView(found.description, found.memo) };
    },
  );

  app.post(
    '/schedules',
    {
      config: mutating(services, 'admin'),
      links: createScheduleLinks,
      schema: {
        tags: ['schedules'],
        operationId: 'createSchedule',
        summary: 'Creates a schedule running a definition (pinned to its current version) on a cron',
        body: CreateBody,
        response: { ...problemResponses, 201: one, 409: problemResponses[400], 422: problemResponses[400] },
      },
    },
    async (req, reply) => {
      const body = req.body;
      const { registry } = services;
      await registry.refresh();
      const versions = registry.versions(body.definition);
      if (versions.length === 0) {
        return problem(reply, 422, { detail: `no definition named '${body.definition}'`, errors: [{ field: 'body.definition', message: 'unknown definition' }] });
      }
      const definition = body.version ? versions.find((d) => d.hash === body.version) : versions.at(-1)!;
      if (!definition) {
        return problem(reply, 422, { detail: `definition '${body.definition}' has no version ${body.version}`, errors: [{ field: 'body.version', message: 'unknown version' }] });
      }
      const errors = inputProblems(definition, body.input);
      if (errors.length) return problem(reply, 422, { detail: errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors });
      const subject = caller(req).subject;
      const timezone = canonicalTimezone(body.timezone)!;
      const memo: ScheduleMemo = {
        definition: definition.name,
        hash: definition.hash,
        ...(body.input !== undefined ? { input: body.input } : {}),
        cron: body.cron.trim(),
        timezone,
        overlap: body.overlap,
        ...(body.catchupWindow ? { catchupWindow: body.catchupWindow } : {}),
        createdBy: subject,
      };
      const args: [RunInput] = [scheduledRun(definition, body.input, body.id, subject, [], services.config.linkSecret)];
      try {
        await schedules.create({
          scheduleId: body.id,
          spec: { cronExpressions: [memo.cron], timezone },
          action: {
            type: 'startWorkflow',
            workflowType: 'interpret',
            taskQueue: services.config.temporal.taskQueue,
            workflowId: body.id,
            args,
            memo: { initiator: subject, schedule: body.id },
            typedSearchAttributes: [
              { key: keys.definition, value: definition.name },
              { key: keys.hash, value: definition.hash },
              { key: keys.status, value: 'running' },
              { key: keys.initiator, value: subject },
            ],
          },
          policies: {
            overlap: toTemporal(body.overlap),
            ...(body.catchupWindow ? { catchupWindow: parseDuration(body.catchupWindow) } : {}),
          },
          state: { paused: body.paused, ...(body.note ? { note: body.note } : {}) },
          memo: { cedille: memo },
        });
      } catch (err) {
        if (err instanceof ScheduleAlreadyRunning) return problem(reply, 409, { detail: `schedule '${body.id}' already exists` });
        // The server's own spec check (our checks should have caught it first).
        if (err instanceof TypeError) {
          const field = /zone|location/i.test(err.message) ? 'body.timezone' : 'body.cron';
          return problem(reply, 400, { detail: `${field}: ${err.message}`, errors: [{ field, message: err.message }] });
        }
        throw err;
      }
      await audit(req, 'schedule.create', body.id, { definition: definition.name, hash: definition.hash, cron: memo.cron, timezone, overlap: body.overlap, paused: body.paused });
      const found = await find(body.id, reply);
      return found && reply.code(201).send({ schedule: detailView(found.description, found.memo) });
    },
  );

  const action = (name: 'pause' | 'unpause' | 'trigger', summary: string, run: (id: string, note: string | undefined, d: ScheduleDescription, subject: string) => Promise<void>) =>
    app.post(
      `/schedules/:id/${name}`,
      {
        config: mutating(services, 'admin'),
        schema: { tags: ['schedules'], operationId: `${name}Schedule`, summary, params: IdParams, body: NoteBody, response: { ...problemResponses, 200: one } },
      },
      async (req, reply) => {
        const { id } = req.params;
        const found = await find(id, reply);
        if (!found) return;
        const note = req.body?.note;
        const subject = caller(req).subject;
        try {
          await run(id, note, found.description, subject);
        } catch (err) {
          if (err instanceof ScheduleNotFoundError) return problem(reply, 404, { detail: `no schedule '${id}'` });
          throw err;
        }
        await audit(req, `schedule.${name}`, id, note ? { note } : undefined);
        const after = await find(id, reply);
        return after && { schedule: detailView(after.description, after.memo) };
      },
    );

  action('pause', 'Pauses a schedule (no runs until unpaused)', (id, note, _d, subject) => schedules.getHandle(id).pause(note ?? `paused by ${subject}`));
  action('unpause', 'Resumes a paused schedule', (id, note, _d, subject) => schedules.getHandle(id).unpause(note ?? `unpaused by ${subject}`));
  action('trigger', "Starts a run now (subject to the schedule's overlap policy); whoever triggers it may not approve its runs", async (id, _note, d, subject) => {
    const handle = schedules.getHandle(id);
    // The triggering admin joins those who may not approve the schedule's runs (four-eyes), signed
    // into the action's run ticket before the run starts.
    await handle.update((current) => {
      if (current.action.type !== 'startWorkflow') return current;
      const [run] = current.action.args as [RunInput];
      // Only what this API signed counts: the action's args are writable by anyone who reaches Temporal.
      const claims = run.ticket ? readRunTicket(run.ticket, services.config.linkSecret) : undefined;
      const initiator = claims?.by ?? subject;
      const previous = claims?.x ?? [];
      const excluded = initiator === subject || previous.includes(subject) ? previous : [...previous, subject];
      const signed = scheduledRun(run.definition, run.input, current.action.workflowId, initiator, excluded, services.config.linkSecret);
      return { ...current, action: { ...current.action, args: [signed] } };
    });
    await handle.trigger(d.policies.overlap);
  });

  app.delete(
    '/schedules/:id',
    {
      config: mutating(services, 'admin'),
      schema: {
        tags: ['schedules'],
        operationId: 'deleteSchedule',
        summary: 'Deletes a schedule (runs it started keep running)',
        params: IdParams,
        response: { ...problemResponses, 204: z.null().describe('Deleted') },
      },
    },
    async (req, reply) => {
      const { id } = req.params;
      const found = await find(id, reply);
      if (!found) return;
      try {
        await schedules.getHandle(id).delete();
      } catch (err) {
        if (err instanceof ScheduleNotFoundError) return problem(reply, 404, { detail: `no schedule '${id}'` });
        throw err;
      }
      await audit(req, 'schedule.delete', id, { definition: found.memo.definition, hash: found.memo.hash });
      return reply.code(204).send(null);
    },
  );
};

export default scheduleRoutes;

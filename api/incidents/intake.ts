// Turning webhook notifications into incidents, once: the incident of an alert group has the
// deterministic workflow id `incident-<sha256(groupKey)[:20]>` (the group's later incidents
// `incident-<hash>-<n>`), and Temporal refuses a second running execution of an id (conflict policy
// FAIL), so deliveries racing in parallel, here or in another API process, open one incident. What
// was already told to the incident (status per fingerprint, the `resolved` event, the generation)
// is kept by GroupStateStore. Decisions (docs/INCIDENTS.md, "Dedupe"):
// - a running incident gets `alerts` with the new or changed alerts only, and `resolved` once all of
//   its alerts are resolved; nothing new is a `duplicate`;
// - no running incident: firing alerts not yet covered by an incident open one; resolved-only
//   notifications are recorded and `ignored`; a firing older than (or as old as) a resolved already
//   seen for that fingerprint is stale and ignored; a repeat of alerts an incident already covered is
//   ignored; a new episode (later startsAt) or a new fingerprint after close opens a new incident;
// - an incident that already got `resolved` (its report phase) is as good as closed for new episodes.
import { createHash, randomBytes } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyBaseLogger } from 'fastify';
import type { ApiServices } from '../services.ts';
import { sendEventUpdate } from '../../workflows/interpreter/messages.ts';
import type { CompiledDefinition } from '../../workflows/dsl/compiled.ts';
import { checkInput } from '../../workflows/dsl/input.ts';
import { describeRun, interpretStartOptions, isClosed, refusalOf, workerDeadlineMs, type RunInfo } from '../runs/temporal.ts';
import type { IncidentsConfig } from './config.ts';
import { incidentInputOf, type Alert, type IncidentInput, type Notification } from './normalize.ts';
import { GroupStateStore, type AlertRecord, type GroupState, type LockedGroup } from './state.ts';

export const INCIDENT_DEFINITION = 'incident';

export type IntakeAction = 'opened' | 'updated' | 'resolved' | 'ignored' | 'duplicate';
export interface IntakeResult {
  action: IntakeAction;
  incidentId?: string;
  runId?: string;
  reason?: string;
  /** Alerts of the notification the rules selected, and what became of them. */
  alerts: { selected: number; skipped: number; changed: number; stale: number };
}

export function incidentIdOf(groupKey: string): string {
  return `incident-${createHash('sha256').update(groupKey).digest('hex').slice(0, 20)}`;
}

/** The workflow id of a group's incidents: the first one `incident-<hash>`, the later ones `incident-<hash>-<n>`. */
export function generationId(baseId: string, generation: number): string {
  return generation ? `${baseId}-${generation}` : baseId;
}

export function manualIncidentId(now = Date.now()): string {
  return `incident-manual-${now.toString(36)}-${randomBytes(5).toString('hex')}`;
}

/** A refusal of the incident's update validator, or a missing definition: the caller maps it. */
export class IncidentError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly errors?: { field: string; message: string }[],
  ) {
    super(message);
  }
}

type Verdict = 'new' | 'changed' | 'same' | 'stale';

/** How an incoming alert compares with what was recorded for its fingerprint. */
export function compareAlert(r: AlertRecord | undefined, a: Alert): Verdict {
  if (!r) return 'new';
  const incoming = Date.parse(a.startsAt);
  const recorded = Date.parse(r.startsAt);
  if (incoming < recorded) return 'stale'; // an older episode, delivered late
  if (incoming > recorded) return 'changed'; // fired again
  if (r.status === a.status) return 'same';
  // Same episode: resolved after firing is news; firing after resolved is a late delivery.
  return a.status === 'resolved' ? 'changed' : 'stale';
}

const record = (a: Alert, runId?: string): AlertRecord & { alert: Alert } => ({
  status: a.status,
  startsAt: a.startsAt,
  ...(a.endsAt ? { endsAt: a.endsAt } : {}),
  seenAt: new Date().toISOString(),
  ...(runId ? { runId } : {}),
  alert: a,
});

type Stored = AlertRecord & { alert?: Alert };

export class IncidentIntake {
  readonly store: GroupStateStore;

  constructor(
    private readonly services: ApiServices,
    readonly config: IncidentsConfig,
    private readonly log: FastifyBaseLogger,
  ) {
    this.store = new GroupStateStore(services.database.db);
  }

  definition(): CompiledDefinition {
    const def = this.services.registry.get(INCIDENT_DEFINITION);
    if (!def) throw new IncidentError(503, 'urn:cedille:problem:definition-not-found', `no '${INCIDENT_DEFINITION}' definition is registered`);
    return def;
  }

  /** Starts an incident run like POST /v1/runs does (memo, search attributes); false if one with this id runs. */
  async start(workflowId: string, input: IncidentInput, initiator: string): Promise<{ runId: string } | false> {
    const def = this.definition();
    const checked = checkInput(def, input);
    if (!checked.ok) {
      const errors = checked.issues.map((i) => ({ field: ['input', ...i.path].join('.'), message: i.message }));
      throw new IncidentError(422, 'urn:cedille:problem:invalid-input', `the incident definition refuses this input: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`, errors);
    }
    try {
      const handle = await this.services.client.workflow.start('interpret', {
        taskQueue: this.services.config.temporal.taskQueue,
        workflowId,
        ...interpretStartOptions(def, input, initiator, {
          incident: {
            title: input.title,
            severity: input.severity,
            source: input.source,
            groupKey: input.groupKey,
            ...(input.owner ? { owner: input.owner } : {}),
            ...(input.clubs ? { clubs: input.clubs } : {}),
            ...(input.kind ? { kind: input.kind } : {}),
            ...(input.truncatedAlerts ? { truncatedAlerts: input.truncatedAlerts } : {}),
          },
        }, { workflowId, key: this.services.config.linkSecret }),
        // One running incident per id; a closed one may be followed by a new one.
        workflowIdConflictPolicy: 'FAIL',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      });
      return { runId: handle.firstExecutionRunId };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
      throw err;
    }
  }

  /** Delivers a named event to a running incident through the `sendEvent` Update (validated by the run). */
  async sendEvent(workflowId: string, name: string, payload: unknown): Promise<void> {
    const { client } = this.services;
    try {
      await client.withDeadline(Date.now() + workerDeadlineMs(), () => client.workflow.getHandle(workflowId).executeUpdate(sendEventUpdate, { args: [{ name, payload }] }));
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new IncidentError(409, 'urn:cedille:problem:run-closed', `incident ${workflowId} is closed`);
      const refusal = refusalOf(err);
      if (refusal) {
        const status = refusal.type === 'InvalidPayload' ? 400 : refusal.type === 'UnknownStep' ? 404 : 409;
        throw new IncidentError(status, `urn:cedille:problem:${refusal.type}`, refusal.message);
      }
      throw err;
    }
  }

  /** Handles one authenticated, well-formed notification. */
  async receive(n: Notification): Promise<IntakeResult> {
    const baseId = incidentIdOf(n.groupKey);
    return this.store.exclusive(baseId, n.groupKey, async (group) => {
      // Twice at most: a start that loses a race (or a run closing under us) is decided again.
      for (let attempt = 0; ; attempt++) {
        const state = await group.load();
        const generation = state.generation ?? 0;
        const info = await describeRun(this.services.client, generationId(baseId, generation));
        const running = info && !isClosed(info) ? info : undefined;
        try {
          // The current incident already got `resolved` (it is in its report phase): a new episode is a new incident.
          if (running && state.resolvedSentTo === running.runId && this.openers(n, state).length) return await this.open(n, group, state, generation + 1);
          if (running) return await this.update(n, group, state, running);
          return await this.open(n, group, state, info ? generation + 1 : generation);
        } catch (err) {
          if (attempt < 1 && err instanceof IncidentError && err.type === 'urn:cedille:problem:run-closed') continue;
          throw err;
        }
      }
    });
  }

  /** Firing alerts of the notification that would open an incident: new, fired again, or never covered by one. */
  private openers(n: Notification, state: GroupState): Alert[] {
    const alerts = state.alerts as Record<string, Stored>;
    return n.alerts.filter((a) => {
      const v = compareAlert(alerts[a.fingerprint], a);
      return a.status === 'firing' && v !== 'stale' && !(v === 'same' && alerts[a.fingerprint]?.runId);
    });
  }

  private counts(n: Notification, verdicts: Verdict[], changed: number) {
    return { selected: n.alerts.length, skipped: n.skipped, changed, stale: verdicts.filter((v) => v === 'stale').length, ...(n.truncated ? { truncated: n.truncated } : {}) };
  }

  private async update(n: Notification, group: LockedGroup, state: GroupState, info: RunInfo): Promise<IntakeResult> {
    const id = info.workflowId;
    const alerts = state.alerts as Record<string, Stored>;
    const verdicts = n.alerts.map((a) => compareAlert(alerts[a.fingerprint], a));
    const changed = n.alerts.filter((_, i) => verdicts[i] === 'new' || verdicts[i] === 'changed');
    for (const [i, a] of n.alerts.entries()) {
      const r = alerts[a.fingerprint];
      if (verdicts[i] === 'new' || verdicts[i] === 'changed') alerts[a.fingerprint] = record(a, info.runId);
      else if (verdicts[i] === 'same' && r && !r.runId) r.runId = info.runId; // recorded before a start whose answer was lost
    }
    if (n.status === 'resolved' && n.truncated > 0) {
      // The sender says the whole group is resolved, alerts it left out (truncatedAlerts) included.
      const listed = new Set(n.alerts.map((a) => a.fingerprint));
      for (const [fp, r] of Object.entries(alerts))
        if (r.runId === info.runId && r.status === 'firing' && !listed.has(fp)) alerts[fp] = { ...r, status: 'resolved', seenAt: new Date().toISOString(), ...(r.alert ? { alert: { ...r.alert, status: 'resolved' } } : {}) };
    }
    const mine = Object.values(alerts).filter((r) => r.runId === info.runId);
    const allResolved = mine.length > 0 && mine.every((r) => r.status === 'resolved');
    const sendResolved = allResolved && state.resolvedSentTo !== info.runId;
    const receivedAt = new Date().toISOString();

    // The last `alerts` before `resolved` is marked `final`, and sent even when it lists nothing: the
    // run's update loop, waiting for the next `alerts`, then ends normally instead of being cancelled.
    if (changed.length || sendResolved) {
      try {
        await this.sendEvent(id, 'alerts', { status: n.status, alerts: changed, receivedAt, ...(n.truncated ? { truncatedAlerts: n.truncated } : {}), ...(sendResolved ? { final: true } : {}) });
      } catch (err) {
        // An incident that does not listen for `alerts` still gets `resolved`; anything else is a failure.
        if (!(err instanceof IncidentError) || err.status !== 404) throw err;
        this.log.warn({ incident: id }, `incident ${id} does not accept 'alerts' events: ${err.message}`);
      }
    }
    if (sendResolved) {
      const ends = mine.map((r) => r.endsAt).filter((t): t is string => !!t).sort();
      await this.sendEvent(id, 'resolved', { resolvedAt: ends.at(-1) ?? receivedAt, alerts: mine.flatMap((r) => (r.alert ? [r.alert] : [])) });
      state.resolvedSentTo = info.runId;
    }
    await group.save(state);
    const action: IntakeAction = sendResolved ? 'resolved' : changed.length ? 'updated' : 'duplicate';
    return {
      action,
      incidentId: id,
      runId: info.runId,
      ...(action === 'duplicate' ? { reason: verdicts.includes('stale') ? 'only stale alerts (older than what the incident already has)' : 'nothing new for the running incident' } : {}),
      alerts: this.counts(n, verdicts, changed.length),
    };
  }

  private async open(n: Notification, group: LockedGroup, state: GroupState, generation: number): Promise<IntakeResult> {
    const id = generationId(state.workflowId, generation);
    const alerts = state.alerts as Record<string, Stored>;
    const verdicts = n.alerts.map((a) => compareAlert(alerts[a.fingerprint], a));
    const fresh = n.alerts.filter((_, i) => verdicts[i] !== 'stale');
    const openers = this.openers(n, state);
    const ignored = (reason: string): IntakeResult => ({ action: 'ignored', reason, alerts: this.counts(n, verdicts, 0) });

    if (!n.alerts.length) return ignored('no alert of the notification matches the opening rules');
    if (!openers.length) {
      // Recorded all the same: a firing delivered late after this resolved will be known as stale.
      for (const [i, a] of n.alerts.entries()) if (verdicts[i] === 'new' || verdicts[i] === 'changed') alerts[a.fingerprint] = record(a);
      await group.save(state);
      if (verdicts.every((v) => v === 'stale')) return ignored('stale notification: older than alerts already seen');
      if (n.alerts.every((a) => a.status === 'resolved')) return ignored('resolved, and no incident of this group is running');
      return ignored('these alerts were already covered by an incident of this group, now closed');
    }

    // Recorded before the start, stamped after: a start whose answer is lost is adopted by the next delivery.
    for (const a of fresh) alerts[a.fingerprint] = record(a);
    state.resolvedSentTo = undefined;
    state.generation = generation;
    await group.save(state);
    const input = incidentInputOf(this.config, { ...n, alerts: fresh });
    const started = await this.start(id, input, `webhook:${n.source}`);
    if (!started) throw new IncidentError(409, 'urn:cedille:problem:run-closed', 'lost a start race: decide again'); // retried by receive()
    for (const a of fresh) alerts[a.fingerprint]!.runId = started.runId;
    await group.save(state);
    return { action: 'opened', incidentId: id, runId: started.runId, alerts: this.counts(n, verdicts, fresh.length) };
  }
}

// What the interpreter asks the worker before it trusts a start or an approval answer
// (worker/trust-activities.ts does the checking, with keys the workflow never sees).
import { ApplicationFailure, patched, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { CompiledDefinition } from '../dsl/compiled.ts';
import type { RunInput } from './run-input.ts';
import type { Approver } from './messages.ts';
import { PATCH } from './patches.ts';

export interface AdmitRequest {
  workflowId: string;
  /** When the Temporal server started this run (not the client's word). */
  startedAtMs: number;
  definition: CompiledDefinition;
  input: unknown;
  ticket?: string;
}

export type Admission =
  | { admitted: true; via: 'ticket' | 'registered' | 'parent' | 'legacy' | 'pending'; initiator?: string; excluded: string[] }
  | { admitted: false; reason: string };

export type RunTrust = Extract<Admission, { admitted: true }>;

/** The trust of a run until its admission is back: nothing has run, nobody is trusted yet. */
export const PENDING_TRUST: RunTrust = { admitted: true, via: 'pending', excluded: [] };

export interface VerifyApprovalRequest {
  token: string;
  workflowId: string;
  stepId: string;
  decision: 'approve' | 'reject';
  nowMs: number;
}

export type ApprovalTokenCheck = { ok: true; approver: string; groups: string[]; nonce: string } | { ok: false; reason: string };

/** The run that started this one (its parent, or the run it continues). */
export interface OriginRequest {
  workflowId: string;
  runId: string;
}

export type OriginCheck = { ok: true } | { ok: false; reason: string };

/**
 * What an approval token claims, unverified: the update validator uses it to refuse, at once and
 * without a trace in history, answers that could not count even if the token were genuine (wrong
 * run, step or decision, the initiator, no group, a second answer). Nothing is ever granted on it.
 */
export function claimedApprover(token: string): { workflowId: string; stepId: string; approver: Approver; decision?: string } | undefined {
  const dot = token.indexOf('.');
  if (dot < 1) return undefined;
  try {
    const c = JSON.parse(new TextDecoder().decode(base64UrlBytes(token.slice(0, dot)))) as Record<string, unknown>;
    const groups = Array.isArray(c.g) ? c.g.filter((g): g is string => typeof g === 'string') : [];
    if (typeof c.w !== 'string' || typeof c.s !== 'string' || typeof c.a !== 'string') return undefined;
    return { workflowId: c.w, stepId: c.s, approver: { id: c.a, groups }, ...(typeof c.d === 'string' ? { decision: c.d } : {}) };
  } catch {
    return undefined;
  }
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** base64url to bytes (the workflow sandbox has neither Buffer nor atob). */
function base64UrlBytes(text: string): Uint8Array {
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of text) {
    const v = B64URL.indexOf(ch);
    if (v < 0) throw new Error('not base64url');
    value = (value << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >> bits) & 0xff);
    }
  }
  return Uint8Array.from(out);
}

const trust = proxyLocalActivities<{
  admitRun(req: AdmitRequest): Promise<Admission>;
  verifyApprovalToken(req: VerifyApprovalRequest): Promise<ApprovalTokenCheck>;
  checkOrigin(req: OriginRequest): Promise<OriginCheck>;
}>({ startToCloseTimeout: 10_000, retry: { maximumAttempts: 5 } });

export const verifyApprovalToken = (req: VerifyApprovalRequest) => trust.verifyApprovalToken(req);

/**
 * Who may be trusted to have started this run. A child run or a continuation carries the trust of the
 * run that started it, once the worker has checked that run is one of its own (a workflow of another
 * worker may start children and continuations on this task queue too); a cron or retry run re-uses a
 * client's input, so it is checked like a fresh start. Anything else needs a run ticket of the API or
 * a registered definition. Refusals fail the run before its first step.
 */
export async function admitRun(run: RunInput): Promise<RunTrust> {
  const info = workflowInfo();
  // Runs recorded before admission existed replay as they ran.
  if (!patched(PATCH.runAdmission)) return { admitted: true, via: 'legacy', ...(run.initiator ? { initiator: run.initiator } : {}), excluded: [] };
  const continuation = !!run.resume && !!info.continuedFromExecutionRunId && info.attempt === 1 && !info.cronSchedule;
  if (info.parent || continuation) {
    await checkOrigin();
    const carried = run.trust ?? { admitted: true as const, via: 'legacy' as const, ...(run.initiator ? { initiator: run.initiator } : {}), excluded: [] };
    return { ...carried, via: info.parent ? 'parent' : carried.via };
  }
  if (run.resume) throw refused('a run may not start from a resume state it did not write itself');
  const admission = await trust.admitRun({ workflowId: info.workflowId, startedAtMs: info.runStartTime.getTime(), definition: run.definition, input: run.input ?? null, ...(run.ticket !== undefined ? { ticket: run.ticket } : {}) });
  if (!admission.admitted) throw refused(admission.reason);
  return admission;
}

/** What a child or continuation carries of its parent's trust (nothing for runs recorded before trust existed). */
export function trustOf(trust: RunTrust): { trust?: RunTrust } {
  return trust.via === 'legacy' ? {} : { trust };
}

/**
 * The trust of a workflow that only the interpreter starts (forEachBatch): its parent's, carried in
 * its input; started any other way it is refused.
 */
export async function childTrust(carried: RunTrust | undefined, initiator: string | undefined, type: string): Promise<RunTrust> {
  if (!patched(PATCH.runAdmission)) return { admitted: true, via: 'legacy', ...(initiator ? { initiator } : {}), excluded: [] };
  const info = workflowInfo();
  const continuation = !!info.continuedFromExecutionRunId && info.attempt === 1 && !info.cronSchedule;
  if (!info.parent && !continuation) throw refused(`${type} runs only as the child of an interpreter run`);
  await checkOrigin();
  return carried ?? { admitted: true, via: 'legacy', ...(initiator ? { initiator } : {}), excluded: [] };
}

/** Fails the run unless the run that started it (previous run of a continuation, else the parent) is the worker's own. */
async function checkOrigin(): Promise<void> {
  if (!patched(PATCH.verifiedOrigin)) return;
  const info = workflowInfo();
  const origin = info.continuedFromExecutionRunId ? { workflowId: info.workflowId, runId: info.continuedFromExecutionRunId } : info.parent!;
  const check = await trust.checkOrigin({ workflowId: origin.workflowId, runId: origin.runId });
  if (!check.ok) throw refused(`started by a workflow this worker does not run: ${check.reason}`);
}

function refused(reason: string): ApplicationFailure {
  return ApplicationFailure.create({ message: `run refused: ${reason}`, type: 'RunNotAdmitted', nonRetryable: true });
}

// The shapes of the v1 API's responses (docs/API.md), as far as the CLI reads them.
import type { RunGraph } from '../workflows/interpreter/graph.ts';
import type { ApprovalReceipt } from '../workflows/interpreter/messages.ts';
import type { FieldError } from './errors.ts';

export type { RunGraph, GraphNode, NodeStatus } from '../workflows/interpreter/graph.ts';
export type { ApprovalReceipt };

export interface DefinitionSummary {
  name: string;
  title?: string;
  description?: string;
  workflowType?: string;
  hash: string;
  builtin: boolean;
}

export interface DefinitionDetail {
  definition: DefinitionSummary & { input?: unknown; source: string };
  versions: string[];
}

/** A compile error as the API reports it: `field` is the YAML path (or `file:line:column path`), with its position. */
export type CompileFieldError = FieldError & { file?: string; line?: number; column?: number; path?: string; code?: string };

export type ValidateResult = { valid: true; definition: DefinitionSummary; warnings?: CompileFieldError[] };
export type ApplyResult = { definition: DefinitionSummary; created: boolean; warnings?: CompileFieldError[] };

export interface RunSummary {
  id: string;
  runId: string;
  definition: string;
  hash: string;
  status: string;
  temporalStatus: string;
  initiator?: string;
  /** Temporal's reason when the run's workflow tasks keep failing (status `stuck`). */
  stuck?: string;
  startTime: string;
  closeTime?: string;
}

export interface RunDetail {
  run: RunSummary;
  /** Null when no worker answered the graph query (graphError says why). */
  graph: RunGraph | null;
  graphError?: string;
  /** A completed run's output: secrets redacted, shortened past the API's size cap (outputInfo says where). */
  output?: unknown;
  outputInfo?: { bytes: number; truncated?: { path: string; kept: number; total: number; unit: string }[]; redacted?: number };
  outputError?: string;
  /** Why a failed (terminated, timed out) run failed. */
  failure?: { message: string; type?: string; cause?: string };
}

export interface HistoryEvent {
  id: string | number;
  time: string;
  type: string;
  summary: string;
  actor?: string;
  stepId?: string;
}

export interface PendingApproval {
  run: string | RunSummary;
  stepId: string;
  title: string;
  groups: string[];
  pendingGroups: string[];
  deadline: string;
  initiator?: string;
}

/** Schedules: read defensively, the contract does not spell the summary out. */
export interface ScheduleSummary {
  id: string;
  definition?: string;
  cron?: string | string[];
  timezone?: string;
  overlap?: string;
  paused?: boolean;
  note?: string;
  nextActionTimes?: string[];
  recentActions?: unknown[];
  [key: string]: unknown;
}

export interface AuditEntry {
  at: string;
  actor: string;
  action: string;
  target: string;
  details?: Record<string, unknown>;
}

/** One page of a forEach's per-item results (GET /v1/runs/:id/steps/:step/items). */
export interface ItemsPage {
  items: { index: number; status: 'completed' | 'failed'; output?: unknown; error?: string }[];
  total: number;
  nextPageToken?: string;
}

// The definition format: Kubernetes-style YAML documents describing a workflow.
// This module is the single source of truth for the format: the compiler validates against it,
// the JSON Schema for editors is generated from it (npm run schema), and the interpreter's
// compiled types (./compiled.ts) are derived from the same vocabulary.
import { z } from 'zod';

export const API_VERSION = 'workflows.cedille.etsmtl.ca/v1alpha1';
export const KIND = 'WorkflowDefinition';

/** `30s`, `5m`, `1h30m`, `2d`, `250ms`. */
export const durationPattern = /^(\d+(ms|s|m|h|d))+$/;
export const Duration = z
  .string()
  .regex(durationPattern, 'a duration such as 30s, 5m, 1h30m or 2d')
  .describe('A duration: digits followed by ms, s, m, h or d, concatenated (e.g. 1h30m).');

/** A string that is a whole CEL expression: `${{ expr }}`. */
export const Expression = z
  .string()
  .regex(/^\s*\$\{\{[\s\S]*\}\}\s*$/, 'an expression written as ${{ ... }}')
  .describe('A CEL expression written as ${{ ... }}.');

/** Any value: literals, possibly containing `${{ expr }}` templates in strings. */
export const Value: z.ZodType<unknown> = z.unknown().describe('A value; strings may contain ${{ expr }} templates.');

export const StepId = z
  .string()
  .regex(/^[a-z][a-zA-Z0-9_]*$/, 'an identifier: a lowercase letter, then letters, digits or _')
  .max(63)
  .describe('Unique id of the step; outputs are available as steps.<id>.output.');

export const RetryPolicy = z
  .strictObject({
    maximumAttempts: z.int().min(1).max(1000).optional(),
    initialInterval: Duration.optional(),
    backoffCoefficient: z.number().min(1).max(10).optional(),
    maximumInterval: Duration.optional(),
    nonRetryableErrorTypes: z.array(z.string()).optional(),
  })
  .describe('Retry policy of an activity (Temporal semantics).');

export const Timeouts = z.strictObject({
  startToClose: Duration.optional().describe('Maximum time of one attempt (default 1m).'),
  scheduleToClose: Duration.optional().describe('Maximum time including retries.'),
  heartbeat: Duration.optional().describe('Maximum time between heartbeats of a long activity.'),
});

/** JSON Schema (a subset) describing the input of a definition or the payload of a signal. */
export const JsonSchema: z.ZodType<Record<string, unknown>> = z
  .record(z.string(), z.unknown())
  .describe('A JSON Schema (draft 2020-12 subset: type, properties, required, items, enum, format, ...).');

// Fields every step may carry.
const stepBase = {
  id: StepId,
  name: z.string().optional().describe('Human title shown in the step graph.'),
  when: Expression.optional().describe('Guard: the step is skipped unless the expression is true.'),
};

// Steps are recursive; zod needs a lazily referenced schema.
export const Step: z.ZodType<StepDoc> = z.lazy(() =>
  z.union([
    ActivityStep,
    SequenceStep,
    ParallelStep,
    IfStep,
    SwitchStep,
    SetStep,
    ForEachStep,
    ApprovalStep,
    WaitStep,
    WaitForStep,
    CallStep,
    FailStep,
  ]),
);
export const Steps = z.array(Step).min(1);

export const ActivityStep = z.strictObject({
  ...stepBase,
  activity: z.string().describe('Name of an activity from the catalog, e.g. core.log.'),
  with: z.record(z.string(), Value).optional().describe('Input of the activity; checked against its schema.'),
  retry: RetryPolicy.optional(),
  timeout: Timeouts.optional(),
  compensate: Steps.optional().describe('Steps run (in reverse order of completion) if a later step fails or the run is cancelled.'),
});

export const SequenceStep = z.strictObject({ ...stepBase, sequence: Steps, compensate: Steps.optional() });

export const ParallelStep = z.strictObject({
  ...stepBase,
  parallel: Steps.describe('Branches run concurrently; the first failure cancels the others.'),
  compensate: Steps.optional(),
});

export const IfStep = z.strictObject({
  ...stepBase,
  if: Expression,
  then: Steps,
  else: Steps.optional(),
});

export const SwitchStep = z.strictObject({
  ...stepBase,
  switch: z
    .array(z.strictObject({ case: Expression, steps: Steps }))
    .min(1)
    .describe('The first case whose expression is true runs.'),
  default: Steps.optional(),
});

export const SetStep = z.strictObject({
  ...stepBase,
  set: z.record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/), Value).describe('Values stored in vars.<name>.'),
});

export const ForEachStep = z.strictObject({
  ...stepBase,
  forEach: z.strictObject({
    items: Expression.describe('A list to fan out over.'),
    as: z
      .string()
      .regex(/^[a-z][a-zA-Z0-9_]*$/)
      .optional()
      .describe('Name of the item variable in the body (default: item).'),
    concurrency: z.int().min(1).max(500).describe('Maximum number of items in flight at once (required).'),
    onItemFailure: z
      .enum(['fail', 'continue', 'pause'])
      .optional()
      .describe(
        'fail (default): after all items ran, the step fails if any failed; continue: the step succeeds with per-item errors; pause: waits for a retry-failed or skip-failed request.',
      ),
    steps: Steps,
    output: Value.optional().describe('Per-item result, evaluated after the body (default: last step output).'),
  }),
  compensate: Steps.optional(),
});

export const ApprovalStep = z.strictObject({
  ...stepBase,
  approval: z.strictObject({
    title: z.string().describe('What is being approved, for people who are not engineers.'),
    details: Value.optional().describe('Details shown to approvers (request, rendered change, plan).'),
    groups: z.array(z.string().min(1)).min(1).describe('Approver groups that may answer.'),
    quorum: z.int().min(1).optional().describe('Distinct approvals needed (default 1).'),
    eachGroup: z.boolean().optional().describe('At least one approval from every listed group.'),
    timeout: Duration.describe('Deadline after which onTimeout applies.'),
    reminders: z.array(Duration).optional().describe('Reminders sent to pending approvers, after these delays.'),
    escalations: z
      .array(z.strictObject({ after: Duration, notify: z.array(z.string()).min(1) }))
      .optional()
      .describe('Escalation levels: groups notified after these delays.'),
    onTimeout: z
      .enum(['reject', 'escalate', 'fail'])
      .describe('Explicit behaviour at the deadline; an approval never silently passes.'),
    escalateTo: z
      .strictObject({ groups: z.array(z.string()).min(1), timeout: Duration })
      .optional()
      .describe('With onTimeout: escalate, who answers next and for how long (then reject).'),
    onReject: z.enum(['fail', 'continue']).optional().describe('fail (default) or continue with output.approved=false.'),
  }),
});

export const WaitStep = z.strictObject({
  ...stepBase,
  wait: z.union([
    z.strictObject({ duration: Duration }),
    z.strictObject({ until: Expression.describe('A timestamp (CEL) or RFC 3339 string.') }),
  ]),
});

export const WaitForStep = z.strictObject({
  ...stepBase,
  waitFor: z.strictObject({
    signal: z.string().regex(/^[a-zA-Z][a-zA-Z0-9_.-]*$/),
    schema: JsonSchema.optional().describe('Schema of the payload; invalid payloads are refused.'),
    timeout: Duration.optional(),
    onTimeout: z.enum(['fail', 'continue']).optional(),
  }),
});

export const CallStep = z.strictObject({
  ...stepBase,
  call: z.strictObject({
    definition: z.string().describe('metadata.name of another definition, run as a child workflow.'),
    input: Value.optional(),
  }),
  compensate: Steps.optional(),
});

export const FailStep = z.strictObject({
  ...stepBase,
  fail: z.strictObject({ message: z.string(), type: z.string().optional() }),
});

export const Metadata = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a DNS-1123 label')
    .max(63),
  title: z.string().optional(),
  description: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

export const DefinitionSpec = z.strictObject({
  workflowType: z
    .string()
    .regex(/^[a-z][a-zA-Z0-9]*$/, 'a camelCase workflow type name')
    .optional()
    .describe('Also start this definition as a named Temporal workflow type (e.g. nightlyBackup).'),
  input: JsonSchema.optional().describe('JSON Schema of the run input, available as inputs.'),
  defaults: z
    .strictObject({ retry: RetryPolicy.optional(), timeout: Timeouts.optional() })
    .optional()
    .describe('Defaults for every activity step.'),
  steps: Steps,
  finally: Steps.optional().describe('Steps that always run at the end, after success, failure or cancel.'),
  output: Value.optional().describe('Result of the run (default: outputs of all steps).'),
});

export const WorkflowDefinition = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal(KIND),
  metadata: Metadata,
  spec: DefinitionSpec,
});

// Hand-written recursive type (zod cannot infer through z.lazy).
type Base = { id: string; name?: string; when?: string };
type Comp = { compensate?: StepDoc[] };
export type StepDoc =
  | (Base & Comp & { activity: string; with?: Record<string, unknown>; retry?: z.infer<typeof RetryPolicy>; timeout?: z.infer<typeof Timeouts> })
  | (Base & Comp & { sequence: StepDoc[] })
  | (Base & Comp & { parallel: StepDoc[] })
  | (Base & { if: string; then: StepDoc[]; else?: StepDoc[] })
  | (Base & { switch: { case: string; steps: StepDoc[] }[]; default?: StepDoc[] })
  | (Base & { set: Record<string, unknown> })
  | (Base & Comp & {
      forEach: {
        items: string;
        as?: string;
        concurrency: number;
        onItemFailure?: 'fail' | 'continue' | 'pause';
        steps: StepDoc[];
        output?: unknown;
      };
    })
  | (Base & { approval: ApprovalDoc })
  | (Base & { wait: { duration: string } | { until: string } })
  | (Base & {
      waitFor: { signal: string; schema?: Record<string, unknown>; timeout?: string; onTimeout?: 'fail' | 'continue' };
    })
  | (Base & Comp & { call: { definition: string; input?: unknown } })
  | (Base & { fail: { message: string; type?: string } });

export type ApprovalDoc = {
  title: string;
  details?: unknown;
  groups: string[];
  quorum?: number;
  eachGroup?: boolean;
  timeout: string;
  reminders?: string[];
  escalations?: { after: string; notify: string[] }[];
  onTimeout: 'reject' | 'escalate' | 'fail';
  escalateTo?: { groups: string[]; timeout: string };
  onReject?: 'fail' | 'continue';
};

export type WorkflowDefinitionDoc = z.infer<typeof WorkflowDefinition>;

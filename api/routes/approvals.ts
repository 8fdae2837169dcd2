// Approvals through the API: answer an approval step (the run's validator decides: group, four-eyes,
// deadline, duplicates; its refusals become problems), and list what waits for the caller.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { WorkflowNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import { caller } from '../auth/plugin.ts';
import { signAssertion } from '../links/token.ts';
import { problem } from '../problem.ts';
import { mutating, type RoutesOptions } from '../services.ts';
import { answerApprovalUpdate, type ApprovalAnswer } from '../../workflows/interpreter/messages.ts';
import { ApprovalReceipt, RunSummary, StepParams, runProblems } from '../runs/schemas.ts';
import {
  describeRun,
  isClosed,
  isWorkerTimeout,
  PROBLEM,
  refusalOf,
  runGraph,
  runNotFound,
  runSummary,
  sendRefusal,
  visibilityQuery,
  workerUnavailable,
  workerDeadlineMs,
} from '../runs/temporal.ts';
import { badPageToken, listRunsPage, PageTokenParam } from '../runs/page-token.ts';
import { mapLimit } from '../map-limit.ts';

/**
 * GET /approvals looks at one visibility page of waiting runs per call (at most MAX_PAGE_SIZE, so at
 * most that many graph queries, QUERY_CONCURRENCY at a time); nextPageToken continues.
 */
const MAX_PAGE_SIZE = 100;
const QUERY_CONCURRENCY = 8;

const PendingQuery = z.object({
  pageSize: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(50).describe(`Waiting runs looked at by this call (at most ${MAX_PAGE_SIZE})`),
  nextPageToken: PageTokenParam.optional(),
});

const PendingApproval = z
  .object({
    run: RunSummary,
    stepId: z.string(),
    title: z.string(),
    groups: z.array(z.string()),
    pendingGroups: z.array(z.string()),
    deadline: z.string(),
    initiator: z.string().optional(),
  })
  .meta({ id: 'PendingApproval' });

const approvalsRoutes: FastifyPluginAsyncZod<RoutesOptions> = async (app, { services }) => {
  const { client } = services;

  for (const decision of ['approve', 'reject'] as const) {
    app.post(
      `/runs/:id/steps/:step/${decision}`,
      {
        config: mutating(services, 'approver'),
        schema: {
          tags: ['approvals'],
          operationId: decision === 'approve' ? 'approveStep' : 'rejectStep',
          summary: decision === 'approve' ? 'Approve an approval step' : 'Reject an approval step',
          description:
            'The run decides: 403 NotApprover (none of its groups), 409 SelfApproval (the initiator), AlreadyDecided, DuplicateAnswer, ' +
            '410 Expired (deadline passed) or run closed (the approval can never be answered), 404 unknown run or step.',
          params: StepParams,
          body: z.object({ comment: z.string().max(2000).optional() }).nullish(),
          response: { ...runProblems, 200: ApprovalReceipt },
        },
      },
      async (req, reply) => {
        const who = caller(req);
        const { id, step } = req.params;
        const comment = req.body?.comment;
        const info = await describeRun(client, id);
        if (!info) return runNotFound(reply, id);
        // Gone rather than a conflict: like an expired approval, nothing can make it answerable again.
        const closed = (status: string) =>
          problem(reply, 410, { type: PROBLEM.runClosed, title: 'Run closed', detail: `run ${id} is ${status.toLowerCase()}: its approvals can no longer be answered` });
        if (isClosed(info)) return closed(info.status.name);
        // The run believes the caller's identity only through this signed assertion (api/links/token.ts).
        const token = signAssertion({ workflowId: id, stepId: step, subject: who.subject, groups: [...who.groups], decision }, services.config.linkSecret);
        const answer: ApprovalAnswer = { stepId: step, decision, token, ...(comment ? { comment } : {}) };
        let receipt: z.infer<typeof ApprovalReceipt>;
        try {
          receipt = await client.withDeadline(Date.now() + workerDeadlineMs(), () => client.workflow.getHandle(id).executeUpdate(answerApprovalUpdate, { args: [answer] }));
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) return closed((await describeRun(client, id))?.status.name ?? 'closed');
          if (isWorkerTimeout(err)) return workerUnavailable(reply, 'approval');
          const refusal = refusalOf(err);
          if (!refusal) throw err;
          return sendRefusal(reply, refusal);
        }
        await services.audit.record({
          actor: who.subject,
          action: `approval.${decision}`,
          target: id,
          details: { stepId: step, status: receipt.status, ...(comment ? { comment } : {}) },
        });
        app.metrics.approvals.inc({ outcome: decision });
        return receipt;
      },
    );
  }

  app.get(
    '/approvals',
    {
      config: { access: 'approver' },
      schema: {
        tags: ['approvals'],
        operationId: 'listPendingApprovals',
        summary: "Approvals waiting for the caller's groups",
        description:
          'Pending approval steps of waiting runs that one of your groups may answer, except in runs you started (four-eyes) and those you already answered. ' +
          `Each call looks at one page of pageSize waiting runs (at most ${MAX_PAGE_SIZE}); follow nextPageToken for the next ones (a page may hold no approval of yours).`,
        querystring: PendingQuery,
        response: { ...runProblems, 200: z.object({ approvals: z.array(PendingApproval), nextPageToken: z.string().optional() }) },
      },
    },
    async (req, reply) => {
      const who = caller(req);
      const mine = new Set(who.groups);
      const page = await listRunsPage(client, services.config.linkSecret, visibilityQuery({ status: 'waiting', taskQueue: services.config.temporal.taskQueue }), req.query.pageSize, req.query.nextPageToken);
      if ('refused' in page) return badPageToken(reply, page.refused);
      const candidates = page.runs.map(runSummary).filter((r) => r.initiator !== who.subject);
      const found = await mapLimit(candidates, QUERY_CONCURRENCY, async (run) => {
        const g = await runGraph(client, run.id, run.runId);
        if (!('graph' in g)) return [];
        return g.graph.nodes.flatMap((n) => {
          const a = n.approval;
          if (!a || a.outcome || n.status !== 'waiting') return [];
          if (!a.pendingGroups.some((grp) => mine.has(grp))) return [];
          if (a.decisions.some((d) => d.approver === who.subject)) return [];
          return [{ run, stepId: n.id, title: a.title, groups: a.groups, pendingGroups: a.pendingGroups, deadline: a.deadline, ...(run.initiator ? { initiator: run.initiator } : {}) }];
        });
      });
      return { approvals: found.flat().sort((a, b) => a.deadline.localeCompare(b.deadline)), ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}) };
    },
  );
};

export default approvalsRoutes;

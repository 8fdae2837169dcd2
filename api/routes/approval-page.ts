// GET/POST /approve/:token — the page behind the personal links notify.send mails out. The signed
// token is the credential (route access 'public', rate-limited per link: ../links/rate-limit.ts): it names the run, the
// approval step, the approver (a directory id, CEDILLE_NOTIFY_CONFIG) and the expiry. GET only
// shows (mail scanners prefetch links); POST answers through the workflow's answerApproval update
// with the directory's groups, and marks the link used only when the workflow accepted the answer.
// Status pages: bad signature 400, unknown approver 403, unknown run/step 404, used 409, expired 410.
import { createHmac, timingSafeEqual } from 'node:crypto';
import formbody from '@fastify/formbody';
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure, type Payload } from '@temporalio/common';
import proto from '@temporalio/proto';
import { z } from 'zod';
import { signAssertion, verifyLink, type LinkClaims } from '../links/token.ts';
import { UsedLinkStore } from '../links/store.ts';
import { approvalPageRateKey } from '../links/rate-limit.ts';
import { loadNotifyConfig, person, type DirectoryEntry, type LoadedNotifyConfig } from '../../activities/notify/config.ts';
import { formatWhen, prettyDetails } from '../../activities/notify/_format.ts';
import { answerApprovalUpdate, graphQuery, RefusalType } from '../../workflows/interpreter/messages.ts';
import type { ApprovalView } from '../../workflows/interpreter/graph.ts';
import { approvalPage, messagePage, type Tone } from '../views/approval.ts';
import { html } from '../views/html.ts';
import type { RoutesOptions } from '../services.ts';
import { htmlPages } from '../openapi/responses.ts';

// A wildcard, not `:token`: Fastify refuses parameters over 100 characters (414) and tokens are longer.
const Params = z.object({ '*': z.string().max(4200) });
const Form = z.object({
  decision: z.enum(['approve', 'reject']),
  comment: z.string().max(2000).optional(),
  form: z.string().max(200),
});

const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  // The token is in the URL: never leak it through Referer.
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
};

function page(reply: FastifyReply, status: number, body: string) {
  return reply.code(status).headers(SECURITY_HEADERS).type('text/html; charset=utf-8').send(body);
}

function message(reply: FastifyReply, status: number, heading: string, text: string, tone: Tone) {
  return page(reply, status, messagePage(heading, text, tone));
}

/** Hidden form field: `<issued ms>.<HMAC(secret, token, issued)>`, checked on POST. */
function formNonce(secret: string, token: string, issuedMs = Date.now()): string {
  const mac = createHmac('sha256', secret).update(`approval-form|${token}|${issuedMs}`).digest('base64url');
  return `${issuedMs}.${mac}`;
}

function formNonceValid(secret: string, token: string, value: string): boolean {
  const [issued, mac] = value.split('.');
  if (!issued || !mac || !/^\d{1,15}$/.test(issued)) return false;
  const expected = Buffer.from(formNonce(secret, token, Number(issued)).split('.')[1]!);
  const given = Buffer.from(mac);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The approval's details and initiator, from the notify.send input the step scheduled (history). */
async function requestFromHistory(client: Client, workflowId: string, stepId: string): Promise<{ details?: string; initiator?: string }> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const dc = client.options.loadedDataConverter;
  let found: { details?: string; initiator?: string } = {};
  for (const e of history.events ?? []) {
    if (e.eventType !== proto.temporal.api.enums.v1.EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) continue;
    const a = e.activityTaskScheduledEventAttributes;
    if (a?.activityType?.name !== 'notify.send' || !a.input?.payloads?.length) continue;
    let payloads = a.input.payloads as Payload[];
    for (const codec of [...dc.payloadCodecs].reverse()) payloads = await codec.decode(payloads);
    const input = dc.payloadConverter.fromPayload(payloads[0]!) as { body?: string; approval?: { stepId?: string; initiator?: string } };
    if (input.approval?.stepId !== stepId) continue;
    // The latest notice with details wins (an escalation repeats them).
    found = {
      ...(input.body !== undefined ? { details: prettyDetails(input.body) } : found.details !== undefined ? { details: found.details } : {}),
      ...(input.approval.initiator ? { initiator: input.approval.initiator } : found.initiator ? { initiator: found.initiator } : {}),
    };
  }
  return found;
}

const REFUSALS: Record<string, { status: number; heading: string; text: (c: LinkClaims) => string }> = {
  [RefusalType.NotApprover]: { status: 403, heading: 'Not your group', text: () => 'You are not in one of the groups that may answer this request, so your answer was not recorded.' },
  [RefusalType.SelfApproval]: {
    status: 409,
    heading: 'You started this request',
    text: () => 'Someone else must approve a request you started yourself (four-eyes rule). Your answer was not recorded.',
  },
  [RefusalType.AlreadyDecided]: { status: 409, heading: 'Already decided', text: () => 'This request was already decided before your answer arrived; nothing changed.' },
  [RefusalType.DuplicateAnswer]: { status: 409, heading: 'Already answered', text: () => 'You have already answered this request; your first answer stands.' },
  [RefusalType.Expired]: { status: 410, heading: 'Too late', text: () => 'The time to answer this request has run out; your answer was not recorded.' },
  [RefusalType.InvalidToken]: { status: 403, heading: 'This link is not valid', text: () => 'The workflow could not verify this link, so your answer was not recorded. Ask the platform team.' },
  [RefusalType.UnknownStep]: { status: 404, heading: 'No longer waiting', text: () => 'This request is no longer waiting for an answer (the run moved on, was cancelled or restarted).' },
};

const approvalPageRoutes: FastifyPluginAsyncZod<RoutesOptions> = async (app, { services }) => {
  await app.register(formbody, { bodyLimit: 16 * 1024 });
  const store = new UsedLinkStore(services.database.db);
  const secret = services.config.linkSecret;
  const limits = { max: services.config.rateLimit.max, timeWindow: services.config.rateLimit.windowMs, keyGenerator: approvalPageRateKey(secret) };

  // Errors of these routes (rate limit, malformed form) are pages too, not problem bodies.
  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    if (status >= 500) req.log.error({ err }, 'approval page failed');
    if (status === 429) return message(reply, 429, 'Too many attempts', 'Too many requests for this link or from your address; wait a minute and reload the page.', 'warn');
    if (status >= 500) return message(reply, status, 'Something went wrong', 'The request could not be shown or answered right now. Try again in a few minutes; nothing was recorded.', 'bad');
    return message(reply, status, 'This request is not valid', 'The form or link was not understood. Open the link from your message again.', 'bad');
  });

  type Checked = { claims: LinkClaims; approver: DirectoryEntry; config: LoadedNotifyConfig } | undefined;

  /** Signature, single use, expiry, approver: renders the refusal page and returns undefined when one fails. */
  const check = async (token: string, reply: FastifyReply): Promise<Checked> => {
    const verified = verifyLink(token, secret);
    if (!verified.ok) {
      message(reply, 400, 'This link is not valid', 'The link is damaged or was not issued by Cédille Workflows. Open it again from your message, without changing it.', 'bad');
      return undefined;
    }
    const { claims } = verified;
    const used = await store.get(claims.nonce);
    const config = loadNotifyConfig();
    const tz = config?.timeZone ?? 'America/Toronto';
    if (used) {
      const who = used.byName ?? (config && person(config, used.by)?.name) ?? used.by;
      const what = used.decision === 'approve' ? 'approve' : 'reject';
      message(reply, 409, 'This link was already used', `This link was already used on ${formatWhen(used.at, tz)} by ${who} to ${what} the request. Each link works once.`, 'warn');
      return undefined;
    }
    if (verified.expired) {
      const at = new Date(claims.exp * 1000).toISOString();
      message(reply, 410, 'This link expired', `This link expired at ${formatWhen(at, tz)}: the time to answer this request has run out.`, 'warn');
      return undefined;
    }
    const approver = config && person(config, claims.approver);
    if (!config || !approver) {
      message(reply, 403, 'Unknown approver', 'The person this link was sent to is no longer in the approver directory. Ask the platform team.', 'bad');
      return undefined;
    }
    return { claims, approver, config };
  };

  const view = async (claims: LinkClaims): Promise<{ approval: ApprovalView; definition: string; definitionAbout?: string; runId: string } | undefined> => {
    const handle = services.client.workflow.getHandle(claims.workflowId);
    try {
      const graph = await handle.query(graphQuery);
      const node = graph.nodes.find((n) => n.id === claims.stepId && n.approval);
      if (!node?.approval) return undefined;
      const described = await handle.describe();
      if (!services.registry.getByHash(graph.hash)) await services.registry.refresh();
      const def = services.registry.getByHash(graph.hash) ?? services.registry.get(graph.definition);
      const about = def?.description ?? def?.title;
      return { approval: node.approval, definition: graph.definition, ...(about ? { definitionAbout: about } : {}), runId: described.runId };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  };

  app.get(
    '/approve/*',
    {
      config: { access: 'public', rateLimit: limits },
      schema: {
        tags: ['approvals'],
        operationId: 'showApprovalPage',
        summary: 'The approval page of a signed link (the token is the credential)',
        params: Params,
        response: htmlPages([200, 400, 403, 404, 409, 410, 429, 500], 'An HTML page: the request, or why the link cannot be used'),
      },
    },
    async (req, reply) => {
      const ok = await check(req.params['*'], reply);
      if (!ok) return reply;
      const { claims, approver, config } = ok;
      const current = await view(claims);
      if (!current) return message(reply, 404, 'Request not found', 'This request no longer exists or is no longer waiting for an answer.', 'warn');
      const request = await requestFromHistory(services.client, claims.workflowId, claims.stepId);
      const names = Object.fromEntries(config.directory.map((p) => [p.subject, p.name]));
      return page(
        reply,
        200,
        approvalPage({
          title: current.approval.title,
          details: request.details,
          initiator: request.initiator ? (names[request.initiator] ?? request.initiator) : undefined,
          definition: current.definition,
          definitionAbout: current.definitionAbout,
          runId: claims.workflowId,
          deadline: current.approval.deadline,
          timeZone: config.timeZone,
          groups: current.approval.groups,
          pendingGroups: current.approval.pendingGroups,
          quorum: current.approval.quorum,
          decisions: current.approval.decisions,
          outcome: current.approval.outcome,
          approver: { id: approver.subject, name: approver.name, groups: approver.groups },
          names,
          formNonce: formNonce(secret, req.params['*']),
        }),
      );
    },
  );

  app.post(
    '/approve/*',
    {
      config: { access: 'public', rateLimit: limits },
      schema: {
        tags: ['approvals'],
        operationId: 'answerApprovalPage',
        summary: "Answer through the approval page's form (single use)",
        consumes: ['application/x-www-form-urlencoded'],
        params: Params,
        body: Form,
        response: htmlPages([200, 400, 403, 404, 409, 410, 413, 415, 429, 500], 'An HTML page: the answer recorded, or why it was not'),
      },
      attachValidation: true,
    },
    async (req, reply) => {
      const ok = await check(req.params['*'], reply);
      if (!ok) return reply;
      const { claims, approver, config } = ok;
      const form = Form.safeParse(req.body);
      if (!form.success || !formNonceValid(secret, req.params['*'], form.data.form)) {
        return message(reply, 400, 'Please use the page', 'Your answer did not come from the approval page. Open the link again and use the Approve or Reject button.', 'bad');
      }
      const { decision } = form.data;
      const comment = form.data.comment?.trim() || undefined;
      const claim = await store.claim(claims.nonce);
      if (!claim) return message(reply, 409, 'Answer in progress', 'This link is being used right now. Reload the page in a moment.', 'warn');
      let status: 'pending' | 'approved' | 'rejected';
      try {
        const receipt = await services.client.workflow.getHandle(claims.workflowId).executeUpdate(answerApprovalUpdate, {
          // The directory's groups of today, asserted for the subject the link was minted for.
          args: [{ stepId: claims.stepId, decision, token: signAssertion({ workflowId: claims.workflowId, stepId: claims.stepId, subject: approver.subject, groups: [...approver.groups], decision }, secret), ...(comment ? { comment } : {}) }],
        });
        status = receipt.status;
      } catch (err) {
        await store.release(claim);
        const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
        const refusal = cause instanceof ApplicationFailure && cause.type ? REFUSALS[cause.type] : undefined;
        if (refusal) return message(reply, refusal.status, refusal.heading, refusal.text(claims), refusal.status === 403 ? 'bad' : 'warn');
        // A finished run takes no updates: say how its approval ended, if it did.
        const current = await view(claims).catch(() => undefined);
        if (current?.approval.outcome) {
          return message(reply, 409, 'Already decided', `This request was already ${current.approval.outcome} before your answer arrived; nothing changed.`, 'warn');
        }
        if (err instanceof WorkflowNotFoundError || !current) return message(reply, 404, 'Request not found', 'This request no longer exists or is no longer waiting for an answer.', 'warn');
        throw err;
      }
      await store.markUsed({ nonce: claims.nonce, by: approver.subject, byName: approver.name, decision, workflowId: claims.workflowId, stepId: claims.stepId });
      await services.audit.record({
        actor: approver.subject,
        action: decision === 'approve' ? 'approval.approve' : 'approval.reject',
        target: claims.workflowId,
        details: { stepId: claims.stepId, via: 'link', ...(comment ? { comment } : {}), status },
      });
      const verb = decision === 'approve' ? 'approved' : 'rejected';
      const after =
        status === 'pending'
          ? 'The request still waits for other approvers; they have their own links.'
          : status === 'approved'
            ? 'The request is now approved: the workflow continues.'
            : 'The request is now rejected: the workflow will not go ahead, and the requester is told why.';
      const heading = decision === 'approve' ? 'Thank you: you approved' : 'Thank you: you rejected';
      return page(
        reply,
        200,
        messagePage(
          heading,
          html`You ${verb} this request as ${approver.name}${comment ? html` with the comment “${comment}”` : ''}. ${after}`,
          decision === 'approve' ? 'ok' : 'info',
          html`<p class="muted">Recorded at ${formatWhen(new Date().toISOString(), config.timeZone)}. This link cannot be used again.</p>`,
        ),
      );
    },
  );
};

export default approvalPageRoutes;

// Approvals through the API against a real Temporal server and worker: four-eyes, groups, decided,
// duplicate, expired and closed answers as problems, the pending list, the access matrix of
// approve/reject, and what history and the audit log keep of who answered.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiTestEnv, Who } from '../support/api.ts';
import { IDENTITIES } from '../support/api.ts';
import { eventually } from '../support/temporal.ts';
import { authRefusal, node, runsTestEnv, runWhen, startRun, WHO } from './_runs-support.ts';

let env: ApiTestEnv;
before(async () => {
  env = await runsTestEnv(['api-approval', 'api-approval-multi', 'api-approval-expiry']);
});
after(() => env?.close());

const answer = (who: Who | 'anonymous', id: string, step: string, decision: 'approve' | 'reject', comment?: string) =>
  env.as(who, { method: 'POST', url: `/v1/runs/${id}/steps/${step}/${decision}`, ...(comment ? { payload: { comment } } : {}) });
const waitingApproval = (id: string) => runWhen(env, id, (b) => b.graph !== null && node(b, 'review').status === 'waiting' && b.run.status === 'waiting', 'approval waiting');

interface Pending {
  run: { id: string };
  stepId: string;
  title: string;
  groups: string[];
  pendingGroups: string[];
  initiator?: string;
}
const pending = async (who: Who) => {
  const res = await env.as(who, { method: 'GET', url: '/v1/approvals' });
  assert.equal(res.statusCode, 200, res.body);
  return res.json().approvals as Pending[];
};

describe('answering an approval', () => {
  let id: string;
  before(async () => {
    // ada (operator, sre) starts a run that needs an SRE approval.
    id = await startRun(env, 'sre', 'api-approval');
    await waitingApproval(id);
  });

  it('lists it for the other approvers of the group only (not the initiator, not other groups)', async () => {
    const forGrace = await eventually(async () => (await pending('sre2')).find((p) => p.run.id === id), 10_000, 'pending for sre2');
    const { run, deadline, ...rest } = forGrace as Pending & { deadline: string };
    assert.equal(run.id, id);
    assert.ok(Date.parse(deadline) > Date.now() + 30 * 60_000, deadline);
    assert.deepEqual(rest, { stepId: 'review', title: 'Restart the database', groups: ['sre'], pendingGroups: ['sre'], initiator: IDENTITIES.sre.subject });
    assert.ok(!(await pending('sre')).some((p) => p.run.id === id), 'the initiator does not see it');
    assert.ok(!(await pending('etsIt')).some((p) => p.run.id === id), 'ets-it does not see it');
    assert.equal((await env.as('operator', { method: 'GET', url: '/v1/approvals' })).statusCode, 403, 'no approver group');
  });

  it('four-eyes: the initiator gets 409 SelfApproval; another group 403 NotApprover; unknown step 404', async () => {
    const self = await answer('sre', id, 'review', 'approve');
    assert.equal(self.statusCode, 409, self.body);
    assert.equal(self.json().title, 'SelfApproval');
    assert.equal(self.json().type, 'urn:cedille:problem:self-approval');
    const other = await answer('etsIt', id, 'review', 'approve');
    assert.equal(other.statusCode, 403, other.body);
    assert.equal(other.json().title, 'NotApprover');
    const unknown = await answer('sre2', id, 'nope', 'approve');
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().title, 'UnknownStep');
    assert.equal((await answer('sre2', 'api-approval-nope', 'review', 'approve')).json().type, 'urn:cedille:problem:run-not-found');
  });

  it('another SRE approves; a second answer is 409 AlreadyDecided', async () => {
    const ok = await answer('sre2', id, 'review', 'approve', 'go ahead');
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual(ok.json(), { stepId: 'review', accepted: true, status: 'approved' });
    const again = await answer('sre2', id, 'review', 'reject');
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().title, 'AlreadyDecided');
    const body = await runWhen(env, id, (b) => node(b, 'hold').status === 'waiting');
    assert.equal(node(body, 'review').status, 'completed');
    assert.deepEqual(node(body, 'review').approval!.decisions.map((d) => d.approver), [IDENTITIES.sre2.subject]);
    assert.ok(!(await pending('sre2')).some((p) => p.run.id === id), 'no longer pending');
  });

  it('history shows the initiator and the approver; the audit log the answer and its comment', async () => {
    const events = (await env.as('nobody', { method: 'GET', url: `/v1/runs/${id}/history` })).json().events as { type: string; actor?: string; summary: string; stepId?: string }[];
    assert.equal(events[0]!.actor, IDENTITIES.sre.subject);
    const update = events.find((e) => e.type === 'update.accepted');
    assert.ok(update, events.map((e) => e.type).join());
    assert.equal(update.actor, IDENTITIES.sre2.subject);
    assert.equal(update.stepId, 'review');
    assert.match(update.summary, /answerApproval by grace-sre: approve on review \(go ahead\)/);
    assert.ok(events.some((e) => e.type === 'update.completed' && e.actor === IDENTITIES.sre2.subject));

    const audit = (await env.as('admin', { method: 'GET', url: `/v1/audit?target=${id}` })).json().entries as { action: string; actor: string; details?: Record<string, unknown> }[];
    assert.deepEqual(
      audit.map((e) => [e.action, e.actor]),
      [
        ['approval.approve', IDENTITIES.sre2.subject],
        ['run.start', IDENTITIES.sre.subject],
      ],
    );
    assert.deepEqual(audit[0]!.details, { stepId: 'review', status: 'approved', comment: 'go ahead' });
    assert.match((await env.as('anonymous', { method: 'GET', url: '/metrics' })).body, /cedille_approval_answers_total\{outcome="approve"\} [1-9]/);
  });

  it('a closed run: 410 (its approvals can never be answered again)', async () => {
    await env.temporal.client.workflow.getHandle(id).signal('finish');
    await runWhen(env, id, (b) => b.run.temporalStatus === 'COMPLETED', 'completed');
    const res = await answer('sre2', id, 'review', 'approve');
    assert.equal(res.statusCode, 410);
    assert.equal(res.json().type, 'urn:cedille:problem:run-closed');
  });
});

describe('quorum, duplicates and deadlines', () => {
  it('a duplicate answer is 409 DuplicateAnswer while the approval is pending', async () => {
    const id = await startRun(env, 'operator', 'api-approval-multi');
    await waitingApproval(id);
    const first = await answer('etsIt', id, 'review', 'approve');
    assert.equal(first.statusCode, 200, first.body);
    assert.equal(first.json().status, 'pending');
    const dup = await answer('etsIt', id, 'review', 'approve');
    assert.equal(dup.statusCode, 409);
    assert.equal(dup.json().title, 'DuplicateAnswer');
    const forSre = await eventually(async () => (await pending('sre')).find((p) => p.run.id === id), 10_000, 'pending for sre');
    assert.deepEqual(forSre.groups, ['ets-it', 'sre']);
    assert.ok(!(await pending('etsIt')).some((p) => p.run.id === id), 'edith already answered');
  });

  it('an expired approval is 410 Expired', async () => {
    const id = await startRun(env, 'operator', 'api-approval-expiry');
    await runWhen(env, id, (b) => b.graph !== null && node(b, 'review').approval?.outcome === 'expired', 'expired');
    const res = await answer('sre2', id, 'review', 'approve');
    assert.equal(res.statusCode, 410, res.body);
    assert.equal(res.json().title, 'Expired');
  });
});

describe('access matrix of approve / reject', () => {
  const approvers = new Set<Who | 'anonymous'>(['etsIt', 'sre', 'sre2']);
  const expectAuth = (who: Who | 'anonymous', res: Awaited<ReturnType<typeof answer>>, what: string) => {
    if (who === 'anonymous') assert.equal(res.statusCode, 401, `${what} as ${who}`);
    else if (!approvers.has(who)) {
      assert.equal(res.statusCode, 403, `${what} as ${who}`);
      assert.ok(authRefusal(res), `${what} as ${who}: refused by the access level (${res.body})`);
    } else assert.equal(res.statusCode, 200, `${what} as ${who}: ${res.body}`);
  };

  it('approve: identities in an approver group only (three approvals decide)', async () => {
    const id = await startRun(env, 'operator', 'api-approval-multi');
    await waitingApproval(id);
    const statuses: string[] = [];
    for (const who of WHO) {
      const res = await answer(who, id, 'review', 'approve');
      expectAuth(who, res, 'approve');
      if (res.statusCode === 200) statuses.push(res.json().status);
    }
    assert.deepEqual(statuses, ['pending', 'pending', 'approved']);
  });

  it('reject: identities in an approver group only (one rejection decides)', async () => {
    const runs = await Promise.all(['etsIt', 'sre', 'sre2'].map(() => startRun(env, 'admin', 'api-approval-multi')));
    await Promise.all(runs.map(waitingApproval));
    const byApprover = { etsIt: runs[0]!, sre: runs[1]!, sre2: runs[2]! } as Record<string, string>;
    for (const who of WHO) {
      const res = await answer(who, byApprover[who] ?? runs[0]!, 'review', 'reject', `no (${who})`);
      expectAuth(who, res, 'reject');
      if (res.statusCode === 200) assert.equal(res.json().status, 'rejected');
    }
    const audit = (await env.as('admin', { method: 'GET', url: '/v1/audit?action=approval.reject' })).json().entries as { actor: string; target: string; details: { comment?: string } }[];
    for (const who of ['etsIt', 'sre', 'sre2'] as const) {
      const entry = audit.find((e) => e.target === byApprover[who]);
      assert.equal(entry?.actor, IDENTITIES[who].subject);
      assert.equal(entry?.details.comment, `no (${who})`);
    }
  });
});

describe('GET /v1/approvals is bounded (issue 12)', () => {
  it('refuses a page size over the cap with a 400 naming the field, and a token it did not issue', async () => {
    for (const pageSize of ['101', '1000', '0']) {
      const res = await env.as('sre2', { method: 'GET', url: `/v1/approvals?pageSize=${pageSize}` });
      assert.equal(res.statusCode, 400, pageSize);
      assert.equal(res.json().errors[0].field, 'querystring.pageSize');
    }
    const forged = await env.as('sre2', { method: 'GET', url: '/v1/approvals?nextPageToken=abc.def' });
    assert.equal(forged.statusCode, 400);
    assert.equal(forged.json().errors[0].field, 'querystring.nextPageToken');
  });

  it('looks at pageSize waiting runs per call; nextPageToken reaches the others', async () => {
    const ids = await Promise.all([0, 1, 2].map(() => startRun(env, 'sre', 'api-approval')));
    await Promise.all(ids.map(waitingApproval));
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const res = await env.as('sre2', { method: 'GET', url: `/v1/approvals?pageSize=1${token ? `&nextPageToken=${token}` : ''}` });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json() as { approvals: Pending[]; nextPageToken?: string };
      assert.ok(body.approvals.length <= 1, `one waiting run looked at, so at most its one approval: ${body.approvals.length}`);
      seen.push(...body.approvals.map((p) => p.run.id));
      token = body.nextPageToken;
      pages++;
    } while (token && !ids.every((id) => seen.includes(id)));
    for (const id of ids) assert.ok(seen.includes(id), `${id} reached through the pages`);
    assert.ok(pages >= 3, `${pages} pages for three runs`);
  });
});

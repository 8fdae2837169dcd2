// Property over every way an answer reaches an approval step (issue 12): random identities and
// groups, tokens valid or not (expired, for another run, step or decision, tampered, signed with
// another key, none), sent as signals and updates interleaved, against the real server. Whatever
// arrives: an answer counts only with a valid token of an eligible identity, every such identity
// counts exactly once, and nothing else counts.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { approvalSignal, answerApprovalUpdate, type ApprovalAnswer } from '../../workflows/interpreter/messages.ts';
import type { CompiledDefinition } from '../../workflows/dsl/compiled.ts';
import { signLink } from '../../api/links/token.ts';
import { signingKeyFromEnv } from '../../trust/signing-key.ts';
import { temporalTestEnv, type TemporalTestEnv } from '../support/temporal.ts';
import { compileYaml, graphWhen, node } from '../interpreter/_defs.ts';

const STEP_GROUPS = ['ets-it', 'sre'];
const INITIATOR = 'alice';
const TOKEN_KINDS = ['valid', 'expired', 'other-run', 'other-step', 'other-decision', 'tampered', 'attacker-key', 'none'] as const;
type TokenKind = (typeof TOKEN_KINDS)[number];

interface Sent {
  who: string;
  groups: string[];
  kind: TokenKind;
  via: 'signal' | 'update';
}

const sent = fc.record({
  who: fc.constantFrom(INITIATOR, 'bob', 'carol', 'dave', 'mallory'),
  groups: fc.subarray(['ets-it', 'sre', 'students']),
  kind: fc.constantFrom(...TOKEN_KINDS),
  via: fc.constantFrom<'signal' | 'update'>('signal', 'update'),
});

let env: TemporalTestEnv;
let def: CompiledDefinition;
before(async () => {
  env = await temporalTestEnv();
  // A quorum nobody reaches: the step stays open, so every answer is judged on its own merits.
  def = await compileYaml(`apiVersion: workflows.cedille.etsmtl.ca/v1alpha1
kind: WorkflowDefinition
metadata: { name: approval-property }
spec:
  steps:
    - id: review
      approval: { title: Property, groups: [ets-it, sre], quorum: 50, timeout: 1h, onTimeout: reject }
`);
  await env.startWorker();
});
after(() => env?.close());

function tokenFor(s: Sent, workflowId: string): string | undefined {
  const key = signingKeyFromEnv()!;
  const now = Math.floor(Date.now() / 1000);
  const claims = { workflowId, stepId: 'review', approver: s.who, groups: s.groups, exp: now + 600, nonce: `n-${Math.random().toString(36).slice(2, 12)}` };
  switch (s.kind) {
    case 'valid':
      return signLink(claims, key);
    case 'expired':
      return signLink({ ...claims, exp: now - 1 }, key);
    case 'other-run':
      return signLink({ ...claims, workflowId: `${workflowId}-other` }, key);
    case 'other-step':
      return signLink({ ...claims, stepId: 'deploy' }, key);
    case 'other-decision':
      return signLink({ ...claims, decision: 'reject' }, key);
    case 'tampered': {
      // A genuine token whose claims were edited afterwards (every group added).
      const [, sig] = signLink(claims, key).split('.');
      const forged = Buffer.from(JSON.stringify({ v: 1, w: workflowId, s: 'review', a: s.who, e: now + 600, n: claims.nonce, g: [...STEP_GROUPS, 'admins'] })).toString('base64url');
      return `${forged}.${sig}`;
    }
    case 'attacker-key':
      return signLink(claims, 'attacker-key-attacker-key-attacker-key-0123');
    case 'none':
      return undefined;
  }
}

const eligible = (s: Sent) => s.kind === 'valid' && s.who !== INITIATOR && s.groups.some((g) => STEP_GROUPS.includes(g));

describe('approval answers, whatever arrives', () => {
  it('count only valid tokens of eligible identities, each identity once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(sent, { minLength: 1, maxLength: 10 }), async (answers) => {
        const h = await env.start(def, {}, { initiator: INITIATOR });
        try {
          await graphWhen(env, h, (g) => node(g, 'review').status === 'waiting', 'the approval to wait');
          const inFlight: Promise<unknown>[] = [];
          for (const s of answers) {
            const token = tokenFor(s, h.workflowId);
            // What an attacker also sends: the identity claimed in clear beside the token.
            const answer: ApprovalAnswer = { stepId: 'review', decision: 'approve', approver: { id: s.who, groups: STEP_GROUPS }, ...(token ? { token } : {}) };
            if (s.via === 'signal') await h.signal(approvalSignal, answer);
            else inFlight.push(h.executeUpdate(answerApprovalUpdate, { args: [answer] }).catch(() => undefined));
          }
          await Promise.all(inFlight);
          const signals = answers.filter((s) => s.via === 'signal').length;
          const g = await graphWhen(
            env,
            h,
            (x) => {
              const v = node(x, 'review').approval!;
              return v.decisions.filter((d) => d.via === 'signal').length + v.refused.filter((r) => r.via === 'signal').length === signals;
            },
            'every signal to be judged',
          );
          const view = node(g, 'review').approval!;
          const counted = view.decisions.map((d) => d.approver);
          assert.equal(new Set(counted).size, counted.length, `an identity counted twice: ${counted}`);
          assert.deepEqual([...counted].sort(), [...new Set(answers.filter(eligible).map((s) => s.who))].sort());
          for (const d of view.decisions) {
            const tokenGroups = new Set(answers.filter((s) => eligible(s) && s.who === d.approver).flatMap((s) => s.groups));
            assert.ok(d.groups.every((grp) => tokenGroups.has(grp) && STEP_GROUPS.includes(grp)), `${d.approver} counted for ${d.groups}`);
          }
        } finally {
          await h.terminate().catch(() => undefined);
        }
      }),
      { numRuns: 25, seed: 12 },
    );
  });
});

// Local activities that decide what the worker trusts, run outside the workflow sandbox where the
// platform signing key and the definition registry are (their results are recorded in history, so
// replays need neither). Temporal is not a trust boundary: anyone who reaches its frontend can start
// `interpret` with any input and send any signal or update, so
//  - a run acts only if its definition is one the platform registered (same content hash, every
//    dependency too) or the API signed the start (trust/run-ticket.ts), and its initiator is the one
//    the ticket names, never a memo or input field;
//  - an approval answer counts only with a valid approval token (api/links/token.ts) bound to the
//    run, the step and the approver, whose identity and groups come from the token alone.
import type { CompiledDefinition } from '../workflows/dsl/compiled.ts';
import { contentHash } from '../workflows/compiler/hash.ts';
import { checkRunTicket } from '../trust/run-ticket.ts';
import { signingKeyFromEnv } from '../trust/signing-key.ts';
import { verifyLink } from '../api/links/token.ts';
import { loadNotifyConfig } from '../activities/notify/config.ts';
import type { Admission, AdmitRequest, ApprovalTokenCheck, OriginCheck, OriginRequest, VerifyApprovalRequest } from '../workflows/interpreter/trust.ts';
import type { Lineage } from './lineage.ts';
import type { DefinitionLookup } from './internal-activities.ts';

type HashLookup = Pick<DefinitionLookup, 'getByHash' | 'refresh'>;

/** Why `def` is not a definition the platform registered, or undefined when it is (dependencies included). */
async function unregistered(def: CompiledDefinition, registry: HashLookup): Promise<string | undefined> {
  const all: [string, Omit<CompiledDefinition, 'dependencies'>][] = [[def.name, def], ...Object.entries(def.dependencies ?? {})];
  for (const [name, d] of all) {
    if (contentHash(d) !== d.hash) return `definition '${name}' does not match its content hash`;
    if (!registry.getByHash(d.hash)) await registry.refresh(); // registered after this worker last read
    if (!registry.getByHash(d.hash)) return `definition '${name}' (${d.hash.slice(0, 12)}) is not registered on this platform`;
  }
  return undefined;
}

/** The worker's key: the one its approval links are minted with (notify config), else the environment's. */
function workerSigningKey(): string | undefined {
  return loadNotifyConfig()?.link.secret ?? signingKeyFromEnv();
}

export function trustActivities(registry: HashLookup, lineage: Pick<Lineage, 'whyForeign'>, signingKey: () => string | undefined = workerSigningKey) {
  return {
    async admitRun(req: AdmitRequest): Promise<Admission> {
      if (req.ticket !== undefined) {
        const checked = checkRunTicket(req.ticket, req, signingKey());
        if (!checked.ok) return { admitted: false, reason: checked.reason };
        return { admitted: true, via: 'ticket', initiator: checked.initiator, excluded: checked.excluded };
      }
      const why = await unregistered(req.definition, registry);
      if (why) return { admitted: false, reason: `${why}, and the start carries no run ticket of the API` };
      return { admitted: true, via: 'registered', excluded: [] };
    },

    async checkOrigin(req: OriginRequest): Promise<OriginCheck> {
      const why = await lineage.whyForeign(req);
      return why ? { ok: false, reason: why } : { ok: true };
    },

    async verifyApprovalToken(req: VerifyApprovalRequest): Promise<ApprovalTokenCheck> {
      const v = verifyLink(req.token, signingKey(), req.nowMs);
      if (!v.ok) return { ok: false, reason: v.reason === 'bad-signature' ? 'the approval token is not signed by this platform' : 'the approval token is malformed' };
      const c = v.claims;
      if (c.workflowId !== req.workflowId || c.stepId !== req.stepId) return { ok: false, reason: 'the approval token was issued for another run or step' };
      if (v.expired) return { ok: false, reason: 'the approval token has expired' };
      if (c.decision && c.decision !== req.decision) return { ok: false, reason: `the approval token allows only '${c.decision}'` };
      return { ok: true, approver: c.approver, groups: c.groups ?? [], nonce: c.nonce };
    },
  };
}

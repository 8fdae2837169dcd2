// Run tickets: the API's signature on a run it starts, so the worker knows the run came through the
// API (an authenticated, authorised caller) and who started it. A ticket binds the workflow id (or,
// for schedules, the schedule's workflow-id prefix: each scheduled run's id is `<prefix>-<time>`),
// the exact definition (sha256 of its canonical JSON, dependencies included), the exact input, and
// the initiator plus anyone else who may not approve the run (who triggered a schedule by hand).
// Signed with the platform signing key (trust/signing-key.ts) under its own domain.
import { z } from 'zod';
import { canonicalJson, sha256Hex } from '../workflows/compiler/hash.ts';
import { openToken, signToken } from './hmac-token.ts';

const DOMAIN = 'cedille-run.v1.';

const Claims = z.strictObject({
  v: z.literal(1),
  /** Exact workflow id, or `prefix:<schedule action workflow id>` for the runs of a schedule. */
  w: z.string().min(1),
  /** sha256 of the canonical JSON of the whole compiled definition. */
  d: z.string().regex(/^[0-9a-f]{64}$/),
  /** sha256 of the canonical JSON of the run input (null when none). */
  i: z.string().regex(/^[0-9a-f]{64}$/),
  /** The initiator: a verified subject, `schedule:<id>` owners included. */
  by: z.string().min(1),
  /** Others who may not approve this run (e.g. who triggered a schedule by hand). */
  x: z.array(z.string().min(1)).max(50).optional(),
  /**
   * Latest start time (seconds since the epoch) of the run, for one-run tickets: a ticket read back
   * from a history cannot start the same workflow id again later. Compared with the start time the
   * Temporal server recorded, so a run started in time but admitted after a worker outage passes.
   */
  e: z.number().int().positive().optional(),
});
export type RunTicketClaims = z.infer<typeof Claims>;

function contentHash(value: unknown): string {
  return sha256Hex(canonicalJson(value ?? null));
}

export interface TicketSubject {
  /** The run's workflow id, or `{ schedulePrefix }` for every run of a schedule. */
  workflowId: string | { schedulePrefix: string };
  definition: unknown;
  input: unknown;
  initiator: string;
  excluded?: string[];
}

/** How long after signing the API's start must reach Temporal. */
export const TICKET_START_WINDOW_S = 300;

export function signRunTicket(t: TicketSubject, key: string, nowMs = Date.now()): string {
  const claims: RunTicketClaims = {
    v: 1,
    w: typeof t.workflowId === 'string' ? t.workflowId : `prefix:${t.workflowId.schedulePrefix}`,
    d: contentHash(t.definition),
    i: contentHash(t.input),
    by: t.initiator,
    ...(t.excluded?.length ? { x: [...new Set(t.excluded)] } : {}),
    // A schedule's ticket starts runs for as long as the schedule lives: it is bound to its id prefix instead.
    ...(typeof t.workflowId === 'string' ? { e: Math.floor(nowMs / 1000) + TICKET_START_WINDOW_S } : {}),
  };
  return signToken(DOMAIN, claims, key);
}

/** The claims of a ticket this key signed (whatever run it is for), or why there are none. */
function openClaims(ticket: string, key: string | undefined): { claims: RunTicketClaims } | { refused: string } {
  const opened = openToken(DOMAIN, ticket, key);
  if (!opened.ok && opened.reason === 'bad-signature') return { refused: 'the run ticket is not signed by this platform' };
  const parsed = opened.ok ? Claims.safeParse(opened.claims) : undefined;
  return parsed?.success ? { claims: parsed.data } : { refused: 'the run ticket is malformed' };
}

/** The claims of a ticket this key signed (whatever run it is for), or undefined. */
export function readRunTicket(ticket: string, key: string | undefined): RunTicketClaims | undefined {
  const opened = openClaims(ticket, key);
  return 'claims' in opened ? opened.claims : undefined;
}

/** Scheduled runs are named `<action workflow id>-<RFC 3339 time>` by Temporal. */
const SCHEDULED_SUFFIX = /^-\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

export type TicketCheck = { ok: true; initiator: string; excluded: string[] } | { ok: false; reason: string };

/** Verifies a ticket against the run it arrived with. Reasons name what did not match, never a secret. */
export function checkRunTicket(ticket: string, run: { workflowId: string; definition: unknown; input: unknown; startedAtMs: number }, key: string | undefined): TicketCheck {
  const opened = openClaims(ticket, key);
  if ('refused' in opened) return { ok: false, reason: opened.refused };
  const c = opened.claims;
  const prefix = c.w.startsWith('prefix:') ? c.w.slice('prefix:'.length) : undefined;
  const idMatches = prefix !== undefined ? run.workflowId.startsWith(prefix) && SCHEDULED_SUFFIX.test(run.workflowId.slice(prefix.length)) : c.w === run.workflowId;
  if (!idMatches) return { ok: false, reason: `the run ticket was issued for another run (${c.w})` };
  if (c.e !== undefined && run.startedAtMs > c.e * 1000) return { ok: false, reason: `the run ticket expired at ${new Date(c.e * 1000).toISOString()}, before this run started` };
  if (c.d !== contentHash(run.definition)) return { ok: false, reason: 'the definition differs from the one the run ticket was issued for' };
  if (c.i !== contentHash(run.input)) return { ok: false, reason: 'the input differs from the one the run ticket was issued for' };
  return { ok: true, initiator: c.by, excluded: c.x ?? [] };
}

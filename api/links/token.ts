// Signed approval tokens: `base64url(JSON payload) "." base64url(HMAC-SHA256(key, "cedille-approve.v1." + payload part))`
// (trust/hmac-token.ts), with the platform signing key (trust/signing-key.ts). One kind of token for
// every way an answer reaches a run, each bound to one approval step of one run and one approver
// (the identity provider's subject) with an expiry and a nonce:
//  - personal links (`<publicUrl>/approve/<token>`), minted by notify.send for a directory entry,
//    carrying the entry's groups; expiry = the approval deadline; single use (api/links/store.ts);
//  - API assertions, minted by the API for the caller of an approve/reject route, carrying the
//    groups of their verified token and the decision; they expire within minutes.
// The run counts an answer only after the worker verified its token (worker/trust-activities.ts);
// a link pasted into a Temporal UI signal works the same way.
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { openToken, signToken } from '../../trust/hmac-token.ts';

export interface LinkClaims {
  workflowId: string;
  stepId: string;
  /** Subject (identity provider) of the person the token speaks for. */
  approver: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
  /** Unique per token; recorded when a link is used. */
  nonce: string;
  /** Groups the approver answers for (the directory's, or those of their verified API token). */
  groups?: string[];
  /** Set on API assertions: the only decision the token may carry. */
  decision?: 'approve' | 'reject';
}

// Short keys keep the token (and so the URL) compact.
const Wire = z.strictObject({
  v: z.literal(1),
  w: z.string().min(1),
  s: z.string().min(1),
  a: z.string().min(1),
  e: z.number().int().positive(),
  n: z.string().min(8),
  g: z.array(z.string().min(1)).max(100).optional(),
  d: z.enum(['approve', 'reject']).optional(),
});

const DOMAIN = 'cedille-approve.v1.';

/** How long an API assertion stays valid: it is used at once, by the API that minted it. */
export const ASSERTION_TTL_S = 300;

export function signLink(claims: LinkClaims, secret: string): string {
  const wire: z.infer<typeof Wire> = {
    v: 1,
    w: claims.workflowId,
    s: claims.stepId,
    a: claims.approver,
    e: Math.floor(claims.exp),
    n: claims.nonce,
    ...(claims.groups ? { g: [...claims.groups] } : {}),
    ...(claims.decision ? { d: claims.decision } : {}),
  };
  return signToken(DOMAIN, Wire.parse(wire), secret);
}

/** An API assertion: the verified caller answers one approval step now. */
export function signAssertion(a: { workflowId: string; stepId: string; subject: string; groups: string[]; decision: 'approve' | 'reject' }, secret: string, nowMs = Date.now()): string {
  return signLink(
    { workflowId: a.workflowId, stepId: a.stepId, approver: a.subject, groups: a.groups, decision: a.decision, exp: Math.floor(nowMs / 1000) + ASSERTION_TTL_S, nonce: randomBytes(16).toString('base64url') },
    secret,
  );
}

export type VerifyResult =
  | { ok: true; claims: LinkClaims; expired: boolean }
  | { ok: false; reason: 'malformed' | 'bad-signature' };

/**
 * Checks the signature in constant time, then decodes. An expired link still verifies (with
 * `expired: true`) so the page can say when it expired; callers must refuse to act on it.
 */
export function verifyLink(token: string, secret: string | undefined, nowMs = Date.now()): VerifyResult {
  const opened = openToken(DOMAIN, token, secret);
  if (!opened.ok) return opened;
  const wire = Wire.safeParse(opened.claims);
  if (!wire.success) return { ok: false, reason: 'malformed' };
  const { w, s, a, e, n, g, d } = wire.data;
  const claims: LinkClaims = { workflowId: w, stepId: s, approver: a, exp: e, nonce: n, ...(g ? { groups: g } : {}), ...(d ? { decision: d } : {}) };
  return { ok: true, claims, expired: nowMs >= e * 1000 };
}

export function linkUrl(publicUrl: string, token: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/approve/${token}`;
}

/**
 * A nonce derived from the notification's idempotency key and the recipient: a retried delivery
 * mints the same link again (so an e-mail and a Discord message of one notice carry one link),
 * while every notice (request, reminder, escalation) gets links of its own.
 */
export function linkNonce(idempotencyKey: string, approver: string, stepId: string): string {
  return createHash('sha256').update(`${idempotencyKey}\u0000${stepId}\u0000${approver}`).digest('base64url').slice(0, 22);
}

// Signed approval links: `<publicUrl>/approve/<token>`, where the token is
// `base64url(JSON payload) "." base64url(HMAC-SHA256(linkSecret, "cedille-approve.v1." + payload part))`.
// The payload binds one approval step of one run to one approver (directory id), with an expiry
// (the approval deadline) and a nonce that makes the link single-use (api/links/store.ts).
// Shared by the worker (notify.send mints links) and the API (the approval page verifies them).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

export interface LinkClaims {
  workflowId: string;
  stepId: string;
  /** Directory id of the person the link was sent to. */
  approver: string;
  /** Expiry, seconds since the epoch (the approval deadline). */
  exp: number;
  /** Unique per link; recorded when the link is used. */
  nonce: string;
}

// Short keys keep the token (and so the URL) compact.
const Wire = z.strictObject({
  v: z.literal(1),
  w: z.string().min(1),
  s: z.string().min(1),
  a: z.string().min(1),
  e: z.number().int().positive(),
  n: z.string().min(8),
});

const DOMAIN = 'cedille-approve.v1.';

function mac(secret: string, payloadPart: string): Buffer {
  return createHmac('sha256', secret).update(DOMAIN + payloadPart).digest();
}

export function signLink(claims: LinkClaims, secret: string): string {
  if (!secret) throw new Error('signLink: no link secret');
  const wire: z.infer<typeof Wire> = { v: 1, w: claims.workflowId, s: claims.stepId, a: claims.approver, e: Math.floor(claims.exp), n: claims.nonce };
  const payloadPart = Buffer.from(JSON.stringify(Wire.parse(wire)), 'utf8').toString('base64url');
  return `${payloadPart}.${mac(secret, payloadPart).toString('base64url')}`;
}

export type VerifyResult =
  | { ok: true; claims: LinkClaims; expired: boolean }
  | { ok: false; reason: 'malformed' | 'bad-signature' };

/**
 * Checks the signature in constant time, then decodes. An expired link still verifies (with
 * `expired: true`) so the page can say when it expired; callers must refuse to act on it.
 */
export function verifyLink(token: string, secret: string, nowMs = Date.now()): VerifyResult {
  const match = /^([A-Za-z0-9_-]{8,4096})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!match || !secret) return { ok: false, reason: 'malformed' };
  const [, payloadPart, sigPart] = match as unknown as [string, string, string];
  const given = Buffer.from(sigPart, 'base64url');
  const expected = mac(secret, payloadPart);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad-signature' };
  let wire: z.infer<typeof Wire>;
  try {
    wire = Wire.parse(JSON.parse(Buffer.from(payloadPart, 'base64url').toString('utf8')));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const claims: LinkClaims = { workflowId: wire.w, stepId: wire.s, approver: wire.a, exp: wire.e, nonce: wire.n };
  return { ok: true, claims, expired: nowMs >= wire.e * 1000 };
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

// Compact signed tokens: `base64url(JSON claims) "." base64url(HMAC-SHA256(key, domain + claims part))`.
// The domain separates kinds (a run ticket never verifies as an approval link and the reverse).
import { createHmac, timingSafeEqual } from 'node:crypto';

function mac(key: string, domain: string, payloadPart: string): Buffer {
  return createHmac('sha256', key).update(domain + payloadPart).digest();
}

export function signToken(domain: string, claims: unknown, key: string): string {
  if (!key) throw new Error(`${domain}: no signing key`);
  const payloadPart = Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url');
  return `${payloadPart}.${mac(key, domain, payloadPart).toString('base64url')}`;
}

/** The decoded claims (unchecked JSON) when the signature is valid; 'malformed' or 'bad-signature' otherwise. */
export function openToken(domain: string, token: string, key: string | undefined): { ok: true; claims: unknown } | { ok: false; reason: 'malformed' | 'bad-signature' } {
  const match = typeof token === 'string' ? /^([A-Za-z0-9_-]{8,16384})\.([A-Za-z0-9_-]{43})$/.exec(token) : null;
  if (!match || !key) return { ok: false, reason: 'malformed' };
  const [, payloadPart, sigPart] = match as unknown as [string, string, string];
  // Compared as canonical text: base64url's last character carries 2 padding bits, so comparing
  // decoded bytes would accept four spellings of one signature (a "changed" token still verifying).
  const given = Buffer.from(sigPart, 'utf8');
  const expected = Buffer.from(mac(key, domain, payloadPart).toString('base64url'), 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad-signature' };
  try {
    return { ok: true, claims: JSON.parse(Buffer.from(payloadPart, 'base64url').toString('utf8')) };
  } catch {
    return { ok: false, reason: 'malformed' };
  }
}

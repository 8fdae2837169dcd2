// Webhook authentication on the raw body: a configured bearer token, or an HMAC-SHA256 signature
// (Grafana's `X-Grafana-Alerting-Signature` bare hex, optionally over `<timestamp>:<body>`; the
// generic `X-Signature-256: sha256=<hex>`). Comparisons are constant-time.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { ResolvedAuth } from './config.ts';

function equalSecret(a: string, b: string): boolean {
  // Hash first: timingSafeEqual needs equal lengths, and the length of a token is a secret too.
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Signs like the senders do (tests use it to sign their deliveries). */
export function hmacHex(secret: string, body: Buffer, timestamp?: string): string {
  const h = createHmac('sha256', secret);
  if (timestamp !== undefined) h.update(`${timestamp}:`);
  return h.update(body).digest('hex');
}

/** Undefined when authenticated (and how), else why not. */
export function checkWebhookAuth(auth: ResolvedAuth, headers: IncomingHttpHeaders, body: Buffer, now = Date.now()): { via: string } | { refused: string } {
  const reasons: string[] = [];
  const bearer = header(headers, 'authorization')?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  if (auth.bearerTokens.length) {
    if (bearer && auth.bearerTokens.some((t) => equalSecret(t, bearer))) return { via: 'bearer' };
    reasons.push(bearer ? 'unknown bearer token' : 'no bearer token');
  }
  for (const rule of auth.hmac) {
    const given = header(headers, rule.header)?.trim().replace(/^sha256=/i, '').toLowerCase();
    if (!given) {
      reasons.push(`no ${rule.header} signature`);
      continue;
    }
    let timestamp: string | undefined;
    if (rule.timestampHeader) {
      timestamp = header(headers, rule.timestampHeader)?.trim();
      const seconds = Number(timestamp);
      if (!timestamp || !Number.isFinite(seconds)) {
        reasons.push(`no ${rule.timestampHeader} timestamp`);
        continue;
      }
      if (Math.abs(now / 1000 - seconds) > rule.maxSkewSeconds) {
        reasons.push(`${rule.timestampHeader} is more than ${rule.maxSkewSeconds}s away from now`);
        continue;
      }
    }
    const expected = hmacHex(rule.secret, body, timestamp);
    if (/^[0-9a-f]{64}$/.test(given) && timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(given, 'hex'))) return { via: `hmac:${rule.header}` };
    reasons.push(`bad ${rule.header} signature`);
  }
  return { refused: reasons.join('; ') };
}

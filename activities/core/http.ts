import { z } from 'zod';
import { ApplicationFailure } from '@temporalio/common';
import { defineActivity } from '../define.ts';
import { SecretRefObject, valueOrSecret } from '../_secrets.ts';

/** Hosts (host or host:port) the activity may call, from CEDILLE_HTTP_ALLOW (comma-separated). */
export function allowedHosts(env = process.env): Set<string> {
  return new Set((env.CEDILLE_HTTP_ALLOW ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean));
}

export default defineActivity({
  name: 'core.http',
  description: 'An HTTP request to an allow-listed host (CEDILLE_HTTP_ALLOW). 5xx and 429 are retried.',
  input: z.strictObject({
    url: z.url(),
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']).default('GET'),
    headers: z
      .record(z.string(), z.union([z.string(), SecretRefObject]))
      .optional()
      .describe('A value may be a secret reference ("vault:<path>#<field>" or { vault, prefix }), read from Vault by the worker (activities/_secrets.ts)'),
    body: z.unknown().optional(),
    timeoutMs: z.int().min(1).max(300_000).default(30_000),
  }),
  output: z.object({ status: z.int(), headers: z.record(z.string(), z.string()), body: z.unknown() }),
  async handler({ url, method, headers, body, timeoutMs }, ctx) {
    const target = new URL(url);
    const allow = allowedHosts();
    if (!allow.has(target.host.toLowerCase()) && !allow.has(target.hostname.toLowerCase())) {
      throw ApplicationFailure.nonRetryable(`host ${target.host} is not in CEDILLE_HTTP_ALLOW`, 'HostNotAllowed');
    }
    // Secret references are resolved here, at the last moment: only the references are in history.
    const sent: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers ?? {})) sent[name] = await valueOrSecret(value, { signal: ctx.signal });
    const res = await fetch(target, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...sent },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]),
    });
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json') && text) parsed = JSON.parse(text);
    if (res.status >= 500 || res.status === 429) throw ApplicationFailure.retryable(`${method} ${url}: HTTP ${res.status}`, 'HttpRetryable');
    return { status: res.status, headers: Object.fromEntries(res.headers), body: parsed };
  },
});

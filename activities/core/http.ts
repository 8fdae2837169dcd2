import { z } from 'zod';
import { ApplicationFailure } from '@temporalio/common';
import { defineActivity } from '../define.ts';
import { SecretRefObject, isSecretRef, valueOrSecret } from '../_secrets.ts';
import { allowedHosts, checkAllowed, guardedFetch, maxResponseBytes } from './_guarded-fetch.ts';

export { allowedHosts } from './_guarded-fetch.ts';

export default defineActivity({
  name: 'core.http',
  description:
    'An HTTP request to an allow-listed host (CEDILLE_HTTP_ALLOW); redirects followed only to allow-listed hosts, secret headers never sent to another origin, answers capped in size (CEDILLE_HTTP_MAX_RESPONSE_BYTES) and time (timeoutMs). 5xx and 429 are retried.',
  input: z.strictObject({
    url: z.url(),
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']).default('GET'),
    headers: z
      .record(z.string(), z.union([z.string(), SecretRefObject]))
      .optional()
      .describe('A value may be a secret reference ("vault:<path>#<field>" or { vault, prefix }), read from Vault by the worker (activities/_secrets.ts); sent to the first URL\'s origin only'),
    body: z.unknown().optional(),
    timeoutMs: z.int().min(1).max(300_000).default(30_000).describe('Deadline of the whole exchange: every redirect hop and the body'),
  }),
  output: z.object({ status: z.int(), headers: z.record(z.string(), z.string()), body: z.unknown() }),
  async handler({ url, method, headers, body, timeoutMs }, ctx) {
    const allow = allowedHosts();
    checkAllowed(new URL(url), allow); // before any secret is read
    const maxBytes = maxResponseBytes();
    // Secret references are resolved here, at the last moment: only the references are in history.
    const sent: Record<string, string> = body !== undefined ? { 'content-type': 'application/json' } : {};
    const secretHeaders = new Set<string>();
    for (const [name, value] of Object.entries(headers ?? {})) {
      if (isSecretRef(value)) secretHeaders.add(name);
      sent[name] = await valueOrSecret(value, { signal: ctx.signal });
    }
    const res = await guardedFetch({
      url, method, headers: sent, secretHeaders, body: body === undefined ? undefined : JSON.stringify(body), timeoutMs, maxBytes, allow, signal: ctx.signal,
    });
    const text = res.body.toString('utf8');
    let parsed: unknown = text;
    if ((res.headers['content-type'] ?? '').includes('json') && text) parsed = JSON.parse(text);
    if (res.status >= 500 || res.status === 429) throw ApplicationFailure.retryable(`${method} ${url}: HTTP ${res.status}`, 'HttpRetryable');
    return { status: res.status, headers: res.headers, body: parsed };
  },
});

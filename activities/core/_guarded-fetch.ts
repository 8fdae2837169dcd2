// The request of core.http, with the limits that keep a run's input from turning the worker into a
// proxy for its own credentials or network position:
//   - every hop of a redirect is checked against the allow-list before it is requested (the fetch
//     redirect mode `manual`; at most MAX_REDIRECTS hops), so a 302 to 169.254.169.254 or to an
//     internal service is refused, not followed;
//   - headers whose value came from a secret reference, and Authorization, Cookie and
//     Proxy-Authorization, are dropped as soon as a hop leaves the origin of the first URL;
//   - the response body is read up to `maxBytes` (CEDILLE_HTTP_MAX_RESPONSE_BYTES), then refused;
//   - one deadline (`timeoutMs`) covers every hop and the body, so a server that trickles its answer
//     cannot hold the activity longer than that.
import { ApplicationFailure } from '@temporalio/common';

export const MAX_REDIRECTS = 5;
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

/** Hosts (host or host:port) the activity may call, from CEDILLE_HTTP_ALLOW (comma-separated). */
export function allowedHosts(env = process.env): Set<string> {
  return new Set((env.CEDILLE_HTTP_ALLOW ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean));
}

/** The response size cap: CEDILLE_HTTP_MAX_RESPONSE_BYTES, default 1 MiB. */
export function maxResponseBytes(env = process.env): number {
  const raw = env.CEDILLE_HTTP_MAX_RESPONSE_BYTES?.trim();
  if (!raw) return DEFAULT_MAX_RESPONSE_BYTES;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw ApplicationFailure.nonRetryable(`CEDILLE_HTTP_MAX_RESPONSE_BYTES=${raw}: a positive number of bytes`, 'HttpConfigInvalid');
  return n;
}

/** Refuses a URL (or a redirect's target, `via` the URL that redirected) whose host is not allow-listed. */
export function checkAllowed(url: URL, allow: Set<string>, via?: URL): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw ApplicationFailure.nonRetryable(`${via ? `redirect from ${via.host} to` : 'URL'} ${url.protocol} is not HTTP(S)`, 'HostNotAllowed');
  }
  if (allow.has(url.host.toLowerCase()) || allow.has(url.hostname.toLowerCase())) return;
  const what = via ? `redirect from ${via.host} to host ${url.host}` : `host ${url.host}`;
  throw ApplicationFailure.nonRetryable(`${what} is not in CEDILLE_HTTP_ALLOW`, 'HostNotAllowed');
}

/** Headers never sent to another origin than the first one, whatever their value. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);

export interface GuardedRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  /** Names of the headers whose value is a resolved secret. */
  secretHeaders: Set<string>;
  body?: string | undefined;
  timeoutMs: number;
  maxBytes: number;
  allow: Set<string>;
  signal: AbortSignal;
}

export interface GuardedResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

async function readCapped(res: Response, what: string, maxBytes: number): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  const tooLarge = () => ApplicationFailure.nonRetryable(`${what}: the response exceeds ${maxBytes} bytes (CEDILLE_HTTP_MAX_RESPONSE_BYTES)`, 'HttpResponseTooLarge');
  if (declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (!res.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks);
}

/** The request, its allowed redirects, and the body read within the size and time caps. */
export async function guardedFetch(req: GuardedRequest): Promise<GuardedResponse> {
  const deadline = AbortSignal.timeout(req.timeoutMs);
  const signal = AbortSignal.any([req.signal, deadline]);
  const first = new URL(req.url);
  checkAllowed(first, req.allow);
  let url = first;
  let method = req.method;
  let body = req.body;
  let headers = { ...req.headers };
  const what = () => `${req.method} ${req.url}`;
  try {
    for (let hop = 0; ; hop++) {
      const res = await fetch(url, { method, headers, body, redirect: 'manual', signal });
      const location = res.headers.get('location');
      if (res.status < 300 || res.status > 399 || res.status === 304 || !location) {
        return { status: res.status, headers: Object.fromEntries(res.headers), body: await readCapped(res, what(), req.maxBytes) };
      }
      await res.body?.cancel().catch(() => undefined);
      if (hop >= MAX_REDIRECTS) throw ApplicationFailure.nonRetryable(`${what()}: more than ${MAX_REDIRECTS} redirects`, 'TooManyRedirects');
      const next = new URL(location, url);
      checkAllowed(next, req.allow, url);
      if (next.origin !== first.origin) {
        headers = Object.fromEntries(Object.entries(headers).filter(([name]) => !req.secretHeaders.has(name) && !CREDENTIAL_HEADERS.has(name.toLowerCase())));
      }
      // As browsers do: 303, and 301/302 after a POST, continue as a GET without a body.
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        method = method === 'HEAD' ? 'HEAD' : 'GET';
        body = undefined;
        headers = Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'content-type'));
      }
      url = next;
    }
  } catch (err) {
    if (err instanceof ApplicationFailure || req.signal.aborted) throw err;
    if (deadline.aborted) throw ApplicationFailure.retryable(`${what()}: no complete answer within ${req.timeoutMs} ms (timeoutMs)`, 'HttpTimeout');
    throw ApplicationFailure.retryable(`${what()}: ${(err as Error).message}${(err as Error).cause ? `: ${((err as Error).cause as Error).message}` : ''}`, 'HttpUnavailable');
  }
}

// A client for Moodle's REST web services: `POST <site>/webservice/rest/server.php` with the form
// fields `wstoken`, `wsfunction`, `moodlewsrestformat=json` and the function's parameters in
// Moodle's bracket notation (`options[0][name]=groupid`). Moodle reports errors with HTTP 200 and
// a body `{ exception, errorcode, message }`; they are turned into typed failures here.
import { ApplicationFailure } from '@temporalio/common';

export type MoodleParams = Record<string, unknown>;

/** Flattens nested params into Moodle's form encoding: `a[0][name]=x`. */
export function moodleForm(params: MoodleParams, prefix = '', form = new URLSearchParams()): URLSearchParams {
  for (const [key, value] of Object.entries(params)) {
    const name = prefix ? `${prefix}[${key}]` : key;
    if (value === undefined || value === null) continue;
    if (typeof value === 'object') moodleForm(value as MoodleParams, name, form);
    else form.append(name, typeof value === 'boolean' ? (value ? '1' : '0') : String(value));
  }
  return form;
}

interface MoodleError {
  exception: string;
  errorcode?: string;
  message?: string;
  debuginfo?: string;
}

function isMoodleError(body: unknown): body is MoodleError {
  return typeof body === 'object' && body !== null && 'exception' in body;
}

// Errors that no retry will fix: a bad or unauthorised token, parameters Moodle refuses.
const PERMANENT = new Set(['invalidtoken', 'accessexception', 'invalidparameter', 'nopermissions', 'requireloginerror', 'servicerequireslogin', 'invalidrecord']);

export interface MoodleClientOptions {
  /** Site root, e.g. https://moodle.etsmtl.ca */
  url: string;
  token: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export async function moodleCall<T>(opts: MoodleClientOptions, wsfunction: string, params: MoodleParams = {}): Promise<T> {
  const endpoint = new URL('webservice/rest/server.php', opts.url.endsWith('/') ? opts.url : `${opts.url}/`);
  const body = moodleForm({ wstoken: opts.token, wsfunction, moodlewsrestformat: 'json', ...params });
  let res: Response;
  try {
    res = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body,
      // The token is in the body: a 307/308 would re-send it to wherever the site points. Never follow.
      redirect: 'manual',
      signal: AbortSignal.any([AbortSignal.timeout(opts.timeoutMs ?? 30_000), ...(opts.signal ? [opts.signal] : [])]),
    });
  } catch (err) {
    throw ApplicationFailure.retryable(`Moodle ${wsfunction}: ${(err as Error).message}`, 'MoodleUnavailable');
  }
  if (res.status >= 300 && res.status < 400) {
    const to = res.headers.get('location') ?? '(no location)';
    throw ApplicationFailure.nonRetryable(`Moodle ${wsfunction}: ${endpoint.origin} answered HTTP ${res.status} to ${to.slice(0, 200)}; redirects are not followed (the token would go with them): set CEDILLE_MOODLE_URL to the site's final address`, 'MoodleError');
  }
  const text = await res.text();
  if (res.status >= 500 || res.status === 429) throw ApplicationFailure.retryable(`Moodle ${wsfunction}: HTTP ${res.status}`, 'MoodleUnavailable');
  if (res.status >= 400) throw ApplicationFailure.nonRetryable(`Moodle ${wsfunction}: HTTP ${res.status}: ${text.slice(0, 200)}`, 'MoodleError');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw ApplicationFailure.nonRetryable(`Moodle ${wsfunction}: the answer is not JSON (is ${endpoint.origin} a Moodle site with REST enabled?)`, 'MoodleError');
  }
  if (isMoodleError(parsed)) {
    const code = parsed.errorcode ?? parsed.exception;
    const message = `Moodle ${wsfunction}: ${code}: ${parsed.message ?? 'error'}${parsed.debuginfo ? ` (${parsed.debuginfo})` : ''}`;
    if (code === 'invalidtoken' || code === 'accessexception') throw ApplicationFailure.nonRetryable(message, 'MoodleAuth');
    if (PERMANENT.has(code)) throw ApplicationFailure.nonRetryable(message, 'MoodleError');
    throw ApplicationFailure.retryable(message, 'MoodleError');
  }
  return parsed as T;
}

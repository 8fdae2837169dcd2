// Error classification shared by the kubernetes.* activities: what Temporal should retry and what
// fails the step at once, with the API server's own words.
//   retryable:     409 (not an apply conflict), 429 (after Retry-After), 5xx, network errors, timeouts
//   non-retryable: apply conflicts (ApplyConflict), 400, 401, 403, 404, 422, other 4xx, unknown kinds, and
//                  the 500 server-side apply answers for a manifest that does not fit the schema ("failed to
//                  create typed patch object ...: field not declared in schema"), typed Invalid: retrying
//                  cannot fix the manifest
// The failure type is the Status reason (Forbidden, NotFound, Invalid, ...) when the server gave one.
import { ApiException } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';

/** The parts of a metav1.Status the activities use. */
export interface KubeStatus {
  message?: string;
  reason?: string;
  code?: number;
  details?: { causes?: { type?: string; message?: string; field?: string }[]; retryAfterSeconds?: number };
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED',
]);

const REASON_BY_CODE: Record<number, string> = {
  400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed', 406: 'NotAcceptable',
  409: 'Conflict', 410: 'Gone', 413: 'RequestEntityTooLarge', 415: 'UnsupportedMediaType', 422: 'Invalid', 429: 'TooManyRequests',
  500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout',
};

/** The HTTP status of an error from the client (API calls and watches), if any. */
export function httpStatusOf(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const code = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** The server's Status from an ApiException body (JSON text or object). */
export function statusOf(err: unknown): KubeStatus | undefined {
  if (!(err instanceof ApiException)) return undefined;
  const body: unknown = err.body;
  if (body && typeof body === 'object') return body as KubeStatus;
  if (typeof body === 'string' && body.trim().startsWith('{')) {
    try {
      return JSON.parse(body) as KubeStatus;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function header(err: unknown, name: string): string | undefined {
  if (!(err instanceof ApiException)) return undefined;
  const headers = (err.headers ?? {}) as Record<string, string>;
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key ? headers[key] : undefined;
}

/** Retry-After (seconds, or an HTTP date) in ms; falls back to the Status' retryAfterSeconds. */
export function retryAfterMs(err: unknown, now = Date.now()): number | undefined {
  const h = header(err, 'retry-after')?.trim();
  if (h) {
    if (/^\d+$/.test(h)) return Number(h) * 1000;
    const at = Date.parse(h);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  const s = statusOf(err)?.details?.retryAfterSeconds;
  return typeof s === 'number' && s > 0 ? s * 1000 : undefined;
}

/** The network error code (ECONNREFUSED, UND_ERR_SOCKET, ...) anywhere in the cause chain. */
export function networkCode(err: unknown): string | undefined {
  for (let cur: unknown = err, i = 0; cur && i < 6; cur = (cur as { cause?: unknown }).cause, i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    const name = (cur as { name?: unknown }).name;
    if (name === 'TimeoutError' || name === 'ConnectTimeoutError' || name === 'HeadersTimeoutError' || name === 'SocketError') return name;
  }
  return undefined;
}

/** An SSA conflict: 409 whose causes are field-manager conflicts. */
export function isApplyConflict(err: unknown): boolean {
  if (httpStatusOf(err) !== 409) return false;
  const st = statusOf(err);
  return Boolean(st?.details?.causes?.some((c) => c.type === 'FieldManagerConflict') || /^Apply failed with \d+ conflict/.test(st?.message ?? ''));
}

/**
 * The ApplicationFailure for an error of a Kubernetes call; `what` says which call
 * (`apply apps/v1 Deployment ns/name`). ApplicationFailures pass through unchanged.
 */
export function kubeFailure(err: unknown, what: string): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const code = httpStatusOf(err);
  if (code !== undefined) {
    const st = statusOf(err);
    const reason = st?.reason || REASON_BY_CODE[code] || (code >= 500 ? 'InternalError' : `HTTP${code}`);
    const serverMessage = st?.message || (err instanceof ApiException ? (typeof err.body === 'string' && err.body.trim() ? err.body.trim().slice(0, 500) : `HTTP ${code}`) : (err as Error).message);
    const message = `${what}: ${reason}: ${serverMessage}`;
    const details = [{ code, reason, ...(st?.details?.causes ? { causes: st.details.causes } : {}) }];
    if (code === 409 && isApplyConflict(err)) {
      return ApplicationFailure.create({ message, type: 'ApplyConflict', nonRetryable: true, details });
    }
    if (code === 500 && /^failed to create typed patch object/.test(st?.message ?? '')) {
      return ApplicationFailure.create({ message: `${what}: Invalid: ${serverMessage}`, type: 'Invalid', nonRetryable: true, details });
    }
    if (code === 409 || code === 429 || code >= 500) {
      const delay = code === 429 || code === 503 ? retryAfterMs(err) : undefined;
      return ApplicationFailure.create({ message, type: reason, nonRetryable: false, details, ...(delay !== undefined ? { nextRetryDelay: delay } : {}) });
    }
    return ApplicationFailure.create({ message, type: reason, nonRetryable: true, details });
  }
  const net = networkCode(err);
  const e = err instanceof Error ? err : new Error(String(err));
  if (net) {
    const cause = (e as { cause?: Error }).cause;
    const text = cause?.message && cause.message !== e.message ? `${e.message}: ${cause.message}` : e.message;
    return ApplicationFailure.create({ message: `${what}: ${net}: ${text}`, type: 'KubernetesUnavailable', nonRetryable: false, details: [{ code: net }] });
  }
  if (/^Unrecognized API version and kind/.test(e.message)) {
    return ApplicationFailure.create({ message: `${what}: ${e.message}`, type: 'UnknownKind', nonRetryable: true });
  }
  return ApplicationFailure.create({ message: `${what}: ${e.message}`, type: 'KubernetesError', nonRetryable: false, cause: e });
}

/**
 * Runs a Kubernetes call, turning its errors into classified failures. When the activity was
 * cancelled the original error is rethrown (the worker reports the cancellation).
 */
export async function classified<T>(what: string, signal: AbortSignal, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (signal.aborted) throw err;
    throw kubeFailure(err, what);
  }
}

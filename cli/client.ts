// A small typed wrapper around fetch for the v1 API: bearer token, JSON bodies, and problem-aware
// errors (ApiError carries the RFC 9457 body and maps to the CLI's exit codes).
import { ApiError, type Problem } from './errors.ts';
import type * as T from './types.ts';

type Query = Record<string, string | number | boolean | undefined>;

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    readonly token?: string,
    readonly timeoutMs = 30_000,
  ) {}

  async request<R>(method: string, path: string, opts: { body?: unknown; query?: Query } = {}): Promise<R> {
    const url = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new ApiError(0, `cannot reach the API at ${this.baseUrl}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (!res.ok) {
      const problem = body && typeof body === 'object' ? (body as Problem) : undefined;
      const detail = problem?.detail ?? problem?.title ?? (text.slice(0, 200) || res.statusText);
      throw new ApiError(res.status, `${res.status} ${detail}`, problem);
    }
    return body as R;
  }

  private get<R>(path: string, query?: Query) {
    return this.request<R>('GET', path, query ? { query } : {});
  }
  private post<R>(path: string, body: unknown = {}) {
    return this.request<R>('POST', path, { body });
  }

  validate = (source: string, file?: string) => this.post<T.ValidateResult>('/v1/definitions/validate', file ? { source, file } : { source });
  apply = (source: string) => this.post<T.ApplyResult>('/v1/definitions', { source });
  definitions = () => this.get<{ definitions: T.DefinitionSummary[] }>('/v1/definitions');
  definition = (name: string, version?: string) => this.get<T.DefinitionDetail>(`/v1/definitions/${enc(name)}`, { version });

  startRun = (body: { definition: string; input?: unknown; version?: string; idempotencyKey?: string }) => this.post<{ run: T.RunSummary }>('/v1/runs', body);
  runs = (query: Query) => this.get<{ runs: T.RunSummary[]; nextPageToken?: string }>('/v1/runs', query);
  run = (id: string) => this.get<T.RunDetail>(`/v1/runs/${enc(id)}`);
  items = (id: string, step: string, query: Query) => this.get<T.ItemsPage>(`/v1/runs/${enc(id)}/steps/${enc(step)}/items`, query);
  history = (id: string) => this.get<{ events: T.HistoryEvent[] }>(`/v1/runs/${enc(id)}/history`);
  cancel = (id: string, reason?: string) => this.post<{ run: T.RunSummary }>(`/v1/runs/${enc(id)}/cancel`, reason ? { reason } : {});
  retryFailed = (id: string, step: string) => this.post<{ stepId: string; retrying: number }>(`/v1/runs/${enc(id)}/steps/${enc(step)}/retry-failed`);
  skipFailed = (id: string, step: string) => this.post<{ stepId: string; skipped: number }>(`/v1/runs/${enc(id)}/steps/${enc(step)}/skip-failed`);
  answer = (id: string, step: string, decision: 'approve' | 'reject', comment?: string) =>
    this.post<T.ApprovalReceipt>(`/v1/runs/${enc(id)}/steps/${enc(step)}/${decision}`, comment ? { comment } : {});
  approvals = () => this.get<{ approvals: T.PendingApproval[] }>('/v1/approvals');

  schedules = () => this.get<{ schedules: T.ScheduleSummary[] }>('/v1/schedules');
  schedule = (id: string) => this.get<{ schedule: T.ScheduleSummary }>(`/v1/schedules/${enc(id)}`);
  createSchedule = (body: Record<string, unknown>) => this.post<{ schedule: T.ScheduleSummary }>('/v1/schedules', body);
  scheduleAction = (id: string, action: 'pause' | 'unpause' | 'trigger', note?: string) =>
    this.post<{ schedule: T.ScheduleSummary }>(`/v1/schedules/${enc(id)}/${action}`, note ? { note } : {});
  deleteSchedule = (id: string) => this.request<void>('DELETE', `/v1/schedules/${enc(id)}`);

  audit = (query: Query) => this.get<{ entries: T.AuditEntry[] }>('/v1/audit', query);
}

const enc = encodeURIComponent;

// The GitHub client of the github.* activities: one Octokit per (API URL, token), configured by the
// worker, never by the input (a token in an input would end up in workflow history):
//   CEDILLE_GITHUB_API_URL     REST API base URL (default https://api.github.com; GitHub Enterprise,
//                              or the local peer of the tests)
//   CEDILLE_GITHUB_TOKEN_FILE  a file holding the token (a mounted Kubernetes/Vault-agent secret), or
//   CEDILLE_GITHUB_TOKEN       the token itself (development)
// Errors become ApplicationFailures: 5xx, 429, secondary rate limits and network errors retry
// (Retry-After / x-ratelimit-reset honoured); 401, 403, 404, 422 and other 4xx do not.
import { readFileSync } from 'node:fs';
import { Octokit } from '@octokit/rest';
import { ApplicationFailure } from '@temporalio/common';

export interface GithubConfig {
  baseUrl: string;
  token: string;
}

export function githubConfigFromEnv(env: NodeJS.ProcessEnv = process.env): GithubConfig {
  const baseUrl = (env.CEDILLE_GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, '');
  const file = env.CEDILLE_GITHUB_TOKEN_FILE;
  const token = (file ? readFileSync(file, 'utf8') : (env.CEDILLE_GITHUB_TOKEN ?? '')).trim();
  if (!token) {
    throw ApplicationFailure.create({
      type: 'GithubNotConfigured',
      message: 'no GitHub token: set CEDILLE_GITHUB_TOKEN_FILE (or CEDILLE_GITHUB_TOKEN) in the worker environment',
      nonRetryable: true,
    });
  }
  return { baseUrl, token };
}

const clients = new Map<string, Octokit>();

/** The worker's Octokit (cached per base URL and token, so a rotated token file is picked up). */
export function github(): Octokit {
  const { baseUrl, token } = githubConfigFromEnv();
  const key = `${baseUrl}\n${token}`;
  let client = clients.get(key);
  if (!client) {
    // Failed requests become classified failures with GitHub's message; Octokit's own request log stays quiet.
    const quiet = () => undefined;
    client = new Octokit({ auth: token, baseUrl, userAgent: 'cedille-workflows', request: { timeout: 30_000 }, log: { debug: quiet, info: quiet, warn: console.warn, error: quiet } });
    clients.set(key, client);
  }
  return client;
}

/** `owner/name` -> { owner, repo }. */
export function repoOf(repository: string): { owner: string; repo: string } {
  const [owner, repo] = repository.split('/');
  return { owner: owner!, repo: repo! };
}

export const REPOSITORY_PATTERN = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

interface RequestErrorLike {
  status?: number;
  message?: string;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
}

/** The API's own message (and validation errors) of a failed call. */
function serverMessage(err: RequestErrorLike): string {
  const data = err.response?.data as { message?: string; errors?: { message?: string; field?: string; code?: string }[] } | undefined;
  const errors = (data?.errors ?? []).map((e) => e.message ?? [e.field, e.code].filter(Boolean).join(' ')).filter(Boolean);
  return [data?.message ?? err.message ?? 'error', ...errors].join(': ');
}

function retryDelayMs(err: RequestErrorLike): number | undefined {
  const h = err.response?.headers ?? {};
  const after = h['retry-after'];
  if (after !== undefined && /^\d+$/.test(String(after))) return Number(after) * 1000;
  if (String(h['x-ratelimit-remaining']) === '0' && h['x-ratelimit-reset'] !== undefined) {
    return Math.max(1000, Number(h['x-ratelimit-reset']) * 1000 - Date.now());
  }
  return undefined;
}

/** The ApplicationFailure for an error of a GitHub call; `what` names the call. */
export function githubFailure(err: unknown, what: string): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const e = err as RequestErrorLike;
  const status = typeof e.status === 'number' ? e.status : undefined;
  if (status === undefined) {
    return ApplicationFailure.create({ type: 'GithubUnavailable', message: `${what}: ${(err as Error).message}`, nonRetryable: false });
  }
  const message = `${what}: HTTP ${status}: ${serverMessage(e)}`;
  const delay = retryDelayMs(e);
  if (status >= 500 || status === 429 || (status === 403 && delay !== undefined)) {
    return ApplicationFailure.create({ type: status === 429 || status === 403 ? 'GithubRateLimited' : 'GithubUnavailable', message, nonRetryable: false, ...(delay !== undefined ? { nextRetryDelay: delay } : {}) });
  }
  const type = { 401: 'GithubUnauthorized', 403: 'GithubForbidden', 404: 'GithubNotFound', 409: 'GithubConflict', 422: 'GithubInvalid' }[status] ?? `GithubHttp${status}`;
  return ApplicationFailure.create({ type, message, nonRetryable: true, details: [{ status }] });
}

/** Runs a GitHub call, turning its errors into classified failures. */
export async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw githubFailure(err, what);
  }
}

/** The hidden marker that makes a comment idempotent: a retried call finds it and does not post twice. */
export function commentMarker(key: string): string {
  return `<!-- cedille-workflows:${key} -->`;
}

/** Posts `body` on issue/PR `number` once per `key` (a retry finds the marker); returns the comment. */
export async function commentOnce(repository: string, number: number, body: string, key: string): Promise<{ id: number; url: string; created: boolean }> {
  const gh = github();
  const { owner, repo } = repoOf(repository);
  const marker = commentMarker(key);
  const existing = await call(`list comments of ${repository}#${number}`, () =>
    gh.paginate(gh.rest.issues.listComments, { owner, repo, issue_number: number, per_page: 100 }),
  );
  const found = existing.find((c) => c.body?.includes(marker));
  if (found) return { id: found.id, url: found.html_url, created: false };
  const res = await call(`comment on ${repository}#${number}`, () => gh.rest.issues.createComment({ owner, repo, issue_number: number, body: `${body}\n\n${marker}` }));
  return { id: res.data.id, url: res.data.html_url, created: true };
}

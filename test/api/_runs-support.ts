// Shared by the run and approval route tests: an API test environment whose registry knows the
// given fixtures (registered in its database), and small request helpers.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { apiTestEnv, registerDefinitions, type ApiTestEnv, type Who } from '../support/api.ts';
import { eventually } from '../support/temporal.ts';
import { FIXTURES } from '../interpreter/_defs.ts';

export async function runsTestEnv(fixtures: string[]): Promise<ApiTestEnv> {
  const env = await apiTestEnv();
  await registerDefinitions(env, fixtures.map((name) => join(FIXTURES, `${name}.yaml`)).map((file) => ({ file, text: readFileSync(file, 'utf8') })));
  return env;
}

/** POST /v1/runs as `who`; asserts 201 and returns the run id. */
export async function startRun(env: ApiTestEnv, who: Who, definition: string, input?: unknown): Promise<string> {
  const res = await env.as(who, { method: 'POST', url: '/v1/runs', payload: { definition, ...(input !== undefined ? { input } : {}) } });
  assert.equal(res.statusCode, 201, res.body);
  return res.json().run.id as string;
}

/** GET /v1/runs/:id as admin until `check` accepts the body. */
export function runWhen(env: ApiTestEnv, id: string, check: (body: RunBody) => boolean, what = 'run condition'): Promise<RunBody> {
  return eventually(async () => {
    const res = await env.as('admin', { method: 'GET', url: `/v1/runs/${id}` });
    const body = res.json() as RunBody;
    return res.statusCode === 200 && check(body) ? body : undefined;
  }, 20_000, what);
}

export interface RunBody {
  run: { id: string; status: string; temporalStatus: string; initiator?: string; definition: string; hash: string };
  graph: { nodes: { id: string; status: string; approval?: { outcome?: string; decisions: { approver: string }[] } }[] } | null;
}

export function node(body: RunBody, id: string) {
  const n = body.graph?.nodes.find((x) => x.id === id);
  assert.ok(n, `no node ${id}`);
  return n;
}

/** Whether a 403 came from the route's access level (not from the run refusing the answer). */
export function authRefusal(res: LightMyRequestResponse): boolean {
  return (res.statusCode === 401 || res.statusCode === 403) && res.json().type === 'about:blank';
}

export const WHO: (Who | 'anonymous')[] = ['admin', 'operator', 'etsIt', 'sre', 'sre2', 'nobody', 'anonymous'];

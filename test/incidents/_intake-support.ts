// Incident intake tests: an API with an incidents config (bearer + HMAC secrets), the `incident`
// definition (the built-in when it exists, else a stand-in registered through the API), recorded
// webhook payloads with a per-test groupKey (workflow ids are shared by every test file of a run),
// signed deliveries, and the events a run received (read back from its Temporal history).
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { apiTestEnv, type ApiTestEnv } from '../support/api.ts';
import type { Database } from '../../db/index.ts';
import { payloadValue } from '../support/temporal.ts';
import { hmacHex } from '../../api/incidents/signature.ts';
import { incidentIdOf } from '../../api/incidents/intake.ts';
import { BUILTIN_DIR } from '../../workflows/registry/index.ts';

export const FIXTURES = new URL('../fixtures/alertmanager/', import.meta.url);

export const SECRETS = {
  bearer: `am_${randomBytes(24).toString('base64url')}`,
  hmac: `hmac_${randomBytes(24).toString('base64url')}`,
  grafana: `grafana_${randomBytes(24).toString('base64url')}`,
};

/** Opening rules of the tests: critical alerts of club-* namespaces, except club-sandbox. */
export function incidentsConfigYaml(): string {
  return `# incident intake config used by the tests
webhooks:
  alertmanager:
    auth:
      bearerTokens: ["${SECRETS.bearer}"]
      hmac:
        - secret: "${SECRETS.hmac}"
          header: X-Signature-256
  grafana:
    auth:
      hmac:
        - secret: { env: TEST_GRAFANA_SECRET }
          header: X-Grafana-Alerting-Signature
          timestampHeader: X-Grafana-Alerting-Signature-Timestamp
  maxBodyBytes: 65536
  ratePerMinute: 100000
open:
  severities: [critical]
  namespaces:
    include: ["club-*"]
    exclude: [club-sandbox]
clubs:
  label: club
  namespaces:
    club-capra: capra
    club-dronolab: dronolab
owners:
  default: ada-sre
  byClub:
    capra: olivier-operator
`;
}

/** The stand-in `incident` used until the real definition is built in: the contract's events, nothing else. */
export const STAND_IN_INCIDENT = `apiVersion: workflows.cedille.etsmtl.ca/v1alpha1
kind: WorkflowDefinition
metadata:
  name: incident
  description: Test stand-in of the incident workflow (intake tests only).
spec:
  workflowType: incident
  input:
    type: object
    required: [source, groupKey, title, severity, commonLabels, commonAnnotations, alerts]
  steps:
    - id: resolved
      waitFor:
        signal: resolved
        schema: { type: object, required: [resolvedAt, alerts], properties: { alerts: { type: array, minItems: 1 } } }
    - id: report
      waitFor:
        signal: report
        schema:
          type: object
          required: [submittedBy, summary, rootCauses, trigger, resolution, detection, actionItems, lessons]
    - id: later
      if: "\${{ size(inputs.groupKey) < 0 }}"
      then:
        - id: alerts
          waitFor: { signal: alerts, schema: { type: object, required: [status, alerts, receivedAt] } }
        - id: note
          waitFor: { signal: note, schema: { type: object, required: [author, text, at] } }
`;

export const builtinIncident = () => existsSync(join(BUILTIN_DIR, 'incident.yaml'));

export interface IntakeEnv extends ApiTestEnv {
  configDir: string;
}

/** `database`: another instance's, making this one a second replica of it. */
export async function intakeEnv(extraEnv: Record<string, string> = {}, configYaml = incidentsConfigYaml(), database?: Database): Promise<IntakeEnv> {
  const configDir = mkdtempSync(join(tmpdir(), 'cedille-incidents-'));
  const configPath = join(configDir, 'incidents.yaml');
  writeFileSync(configPath, configYaml);
  process.env.TEST_GRAFANA_SECRET = SECRETS.grafana;
  const env = await apiTestEnv({ env: { CEDILLE_INCIDENTS_CONFIG: configPath, ...extraEnv }, ...(database ? { database } : {}) });
  if (!builtinIncident()) {
    const res = await env.as('admin', { method: 'POST', url: '/v1/definitions', payload: { source: STAND_IN_INCIDENT } });
    if (res.statusCode >= 300) throw new Error(`registering the stand-in incident failed: ${res.statusCode} ${res.body}`);
  }
  return { ...env, configDir };
}

/** A recorded payload whose groupKey is unique to this test (and its fingerprints, when `fresh`). */
export function fixture(name: string, groupKey: string): Record<string, unknown> & { groupKey: string; alerts: Record<string, unknown>[] } {
  const doc = JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8'));
  return { ...doc, groupKey };
}

export const uniqueGroupKey = (label: string) => `{}/{severity="critical"}:{test="${label}", run="${randomUUID()}"}`;

export type Auth = 'bearer' | 'hmac' | 'grafana-hmac' | 'none' | 'bad-bearer' | 'bad-hmac' | 'stale-grafana';

/** POSTs a webhook body (an object is JSON-encoded; a string/Buffer goes as is) with the chosen credentials. */
export function deliver(env: ApiTestEnv, source: 'alertmanager' | 'grafana', body: unknown, auth: Auth = source === 'grafana' ? 'grafana-hmac' : 'bearer'): Promise<LightMyRequestResponse> {
  const raw = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const now = String(Math.floor(Date.now() / 1000));
  switch (auth) {
    case 'bearer':
      headers.authorization = `Bearer ${SECRETS.bearer}`;
      break;
    case 'bad-bearer':
      headers.authorization = `Bearer ${SECRETS.bearer}x`;
      break;
    case 'hmac':
      headers['x-signature-256'] = `sha256=${hmacHex(SECRETS.hmac, raw)}`;
      break;
    case 'bad-hmac':
      headers['x-signature-256'] = `sha256=${hmacHex(SECRETS.hmac, Buffer.concat([raw, Buffer.from(' ')]))}`;
      break;
    case 'grafana-hmac':
      headers['x-grafana-alerting-signature'] = hmacHex(SECRETS.grafana, raw, now);
      headers['x-grafana-alerting-signature-timestamp'] = now;
      break;
    case 'stale-grafana': {
      const old = String(Number(now) - 3600);
      headers['x-grafana-alerting-signature'] = hmacHex(SECRETS.grafana, raw, old);
      headers['x-grafana-alerting-signature-timestamp'] = old;
      break;
    }
    case 'none':
      break;
  }
  return env.app.inject({ method: 'POST', url: `/v1/incidents/webhooks/${source}`, headers, payload: raw });
}

export { incidentIdOf };

/** Events delivered to a run through `sendEvent` (accepted updates), in order. */
export async function deliveredEvents(env: ApiTestEnv, workflowId: string, runId?: string): Promise<{ name: string; payload: Record<string, unknown> }[]> {
  const history = await env.temporal.client.workflow.getHandle(workflowId, runId).fetchHistory();
  const out: { name: string; payload: Record<string, unknown> }[] = [];
  for (const e of history.events ?? []) {
    const req = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest;
    if (!req || req.input?.name !== 'sendEvent') continue;
    const [arg] = (req.input.args?.payloads ?? []).map((p) => payloadValue(p as never)) as { name: string; payload: Record<string, unknown> }[];
    if (arg) out.push(arg);
  }
  return out;
}

/** How many runs (executions) Temporal has for a workflow id. */
export async function executionCount(env: ApiTestEnv, workflowId: string): Promise<number> {
  let n = 0;
  for await (const _ of env.temporal.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) n++;
  return n;
}

// Scans recorded Temporal histories for known secret values (root tokens, unseal/recovery keys,
// private keys, webhook URLs, approval links...): every byte of every event, fetched raw from the
// server (GetWorkflowExecutionHistory: payloads as stored, not decoded), in two renderings:
//   - the protobuf encoding of each event (what the server stores: payload bytes appear as is);
//   - its JSON form (what `temporal workflow show --output json` and the UI's raw view show: bytes
//     in base64).
// Each secret is looked for raw (UTF-8), JSON-escaped, URL-encoded and in base64 / base64url at the
// three byte alignments (a secret inside a base64-encoded blob shows at one of them). Encrypted
// payloads are random bytes to this search, so a codec-encrypted secret is not found, as intended.
import type { Client } from '@temporalio/client';
import proto, { type temporal } from '@temporalio/proto';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const EventType = proto.temporal.api.enums.v1.EventType;
const HistoryEventProto = proto.temporal.api.history.v1.HistoryEvent;

export interface KnownSecret {
  /** What it is (reported, never the value): "root token", "unseal key 2", ... */
  label: string;
  value: string | Uint8Array;
}

export interface SecretFinding {
  label: string;
  /** How it appeared: raw, json-escaped, url-encoded, base64@0..2, base64url@0..2 */
  form: string;
  workflowId: string;
  runId: string;
  eventId: number;
  eventType: string;
}

export interface ScanReport {
  executions: number;
  events: number;
  /** Bytes scanned (protobuf + JSON renderings). */
  bytes: number;
  findings: SecretFinding[];
}

/** Shorter values match by chance and prove nothing: refused. */
export const MIN_SECRET_BYTES = 8;

/** Every rendering of a secret the scanner looks for. */
export function secretForms(value: string | Uint8Array): { form: string; needle: Buffer }[] {
  const bytes = Buffer.from(value);
  if (bytes.length < MIN_SECRET_BYTES) throw new Error(`a known secret must be at least ${MIN_SECRET_BYTES} bytes to scan for`);
  const forms: { form: string; needle: Buffer }[] = [{ form: 'raw', needle: bytes }];
  const text = bytes.toString('utf8');
  const escaped = JSON.stringify(text).slice(1, -1);
  if (escaped !== text) forms.push({ form: 'json-escaped', needle: Buffer.from(escaped) });
  const url = encodeURIComponent(text);
  if (url !== text) forms.push({ form: 'url-encoded', needle: Buffer.from(url) });
  for (let k = 0; k < 3; k++) {
    // With k bytes before it, the characters fully determined by the secret's own bytes.
    const b64 = Buffer.concat([Buffer.alloc(k), bytes]).toString('base64');
    const core = b64.slice(Math.ceil((k * 8) / 6), Math.floor(((k + bytes.length) * 8) / 6));
    forms.push({ form: `base64@${k}`, needle: Buffer.from(core) });
    const urlSafe = core.replace(/\+/g, '-').replace(/\//g, '_');
    if (urlSafe !== core) forms.push({ form: `base64url@${k}`, needle: Buffer.from(urlSafe) });
  }
  return forms;
}

/** The secrets found in one event (both renderings). */
export function scanEvent(event: HistoryEvent, secrets: readonly KnownSecret[]): { label: string; form: string }[] {
  const binary = Buffer.from(HistoryEventProto.encode(event).finish());
  const json = Buffer.from(historyToJSON({ events: [event] }));
  const out: { label: string; form: string }[] = [];
  for (const s of secrets) {
    for (const { form, needle } of secretForms(s.value)) {
      if (binary.includes(needle) || json.includes(needle)) {
        out.push({ label: s.label, form });
        break; // one finding per secret and event is enough to fail
      }
    }
  }
  return out;
}

/** Every event of one execution, raw, page by page. */
export async function rawHistory(client: Client, workflowId: string, runId?: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await client.workflowService.getWorkflowExecutionHistory({
      namespace: client.options.namespace,
      execution: { workflowId, ...(runId ? { runId } : {}) },
      ...(nextPageToken?.length ? { nextPageToken } : {}),
    });
    events.push(...(page.history?.events ?? []));
    nextPageToken = page.nextPageToken ?? undefined;
  } while (nextPageToken?.length);
  return events;
}

/** Scans one execution's raw history. */
export async function scanExecution(client: Client, workflowId: string, runId: string | undefined, secrets: readonly KnownSecret[]): Promise<ScanReport> {
  const events = await rawHistory(client, workflowId, runId);
  const started = events[0]?.workflowExecutionStartedEventAttributes;
  const id = runId ?? started?.originalExecutionRunId ?? '';
  const report: ScanReport = { executions: 1, events: events.length, bytes: 0, findings: [] };
  for (const e of events) {
    report.bytes += HistoryEventProto.encode(e).finish().length;
    for (const f of scanEvent(e, secrets)) {
      report.findings.push({ ...f, workflowId, runId: id, eventId: Number(e.eventId), eventType: EventType[e.eventType ?? 0] ?? String(e.eventType) });
    }
  }
  return report;
}

/**
 * Scans every execution visibility lists for `query` (default: all of the namespace), or the given
 * executions. Visibility lags a little: callers listing what they just ran should pass executions.
 */
export async function scanHistories(client: Client, secrets: readonly KnownSecret[], opts: { query?: string; executions?: { workflowId: string; runId?: string }[] } = {}): Promise<ScanReport> {
  for (const s of secrets) secretForms(s.value); // refuses short secrets up front
  const executions = opts.executions ?? [];
  if (!opts.executions) {
    for await (const w of client.workflow.list(opts.query ? { query: opts.query } : {})) executions.push({ workflowId: w.workflowId, runId: w.runId });
  }
  const total: ScanReport = { executions: 0, events: 0, bytes: 0, findings: [] };
  for (const x of executions) {
    const r = await scanExecution(client, x.workflowId, x.runId, secrets);
    total.executions += r.executions;
    total.events += r.events;
    total.bytes += r.bytes;
    total.findings.push(...r.findings);
  }
  return total;
}

/** A readable list of findings for assertion messages (labels and places, never values). */
export function describeFindings(findings: readonly SecretFinding[]): string {
  return findings.map((f) => `${f.label} (${f.form}) in ${f.workflowId}/${f.runId} event ${f.eventId} ${f.eventType}`).join('\n');
}

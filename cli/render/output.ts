// What a run produced, for `cedille get`: the built-in definitions' reports laid out for a person
// (class-workspaces: counts, rejected rows, skipped enrolments, workspace URLs; backups: per volume
// bytes and duration; onboarding: pull request, merge, URLs; incidents; Vault bootstrap), any other
// output as indented `key: value` lines and tables; and why a failed run failed.
import type { RunDetail } from '../types.ts';
import { bytes, oneLine, time } from './format.ts';
import { table } from './table.ts';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const objs = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);
const str = (v: unknown): string => (v === undefined || v === null ? '' : typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v));
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const cell = (v: unknown) => oneLine(str(v), 120);
const indent = (text: string, by = '  ') => text.split('\n').map((l) => (l ? by + l : l)).join('\n');

// ---- generic -----------------------------------------------------------------------------------

const isScalar = (v: unknown) => v === null || ['string', 'number', 'boolean'].includes(typeof v);

/** Objects with the same few scalar fields: a table reads best. */
function tabular(rows: unknown[]): string[] | undefined {
  if (rows.length < 2 || !rows.every(isObj)) return undefined;
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  if (keys.length > 8 || !rows.every((r) => Object.values(r).every((v) => isScalar(v) || (Array.isArray(v) && v.every(isScalar))))) return undefined;
  return keys;
}

/** Any JSON value as readable lines: `key: value`, nested objects indented, uniform lists as tables. */
export function readable(value: unknown): string {
  if (isScalar(value)) {
    const s = str(value);
    return s.includes('\n') ? s : s || '""';
  }
  if (Array.isArray(value)) {
    if (!value.length) return '(none)';
    if (value.every(isScalar) && value.map(str).join(', ').length <= 100) return value.map(str).join(', ');
    const keys = tabular(value);
    if (keys) return table(keys, (value as Obj[]).map((r) => keys.map((k) => cell(Array.isArray(r[k]) ? (r[k] as unknown[]).join(', ') : r[k]))));
    return value.map((v) => `- ${readable(v).split('\n').join('\n  ')}`).join('\n');
  }
  if (isObj(value)) {
    const entries = Object.entries(value);
    if (!entries.length) return '{}';
    return entries
      .map(([k, v]) => {
        const text = readable(v);
        return text.includes('\n') ? `${k}:\n${indent(text)}` : `${k}: ${text}`;
      })
      .join('\n');
  }
  return str(value);
}

// ---- built-in reports --------------------------------------------------------------------------

function classWorkspaces(o: Obj): string | undefined {
  const counts = isObj(o.counts) ? o.counts : undefined;
  if (!counts && num(o.ready) === undefined) return undefined;
  const c = counts ?? {};
  const course = isObj(o.course) ? [o.course.code, o.course.term].filter(Boolean).map(str).join(' ') : str(o.course);
  const n = (k: string, fallback?: unknown) => num(c[k]) ?? num(fallback) ?? 0;
  const skipped = objs(o.skipped);
  const lines = [`course ${course || '?'}${o.termEnd ? ` (term ends ${str(o.termEnd)})` : ''}`];
  const skippedText = skipped.length
    ? `, ${skipped.length} skipped (${n('skippedSuspended')} suspended, ${n('skippedNotStudent')} not a student)`
    : '';
  lines.push(`roster: ${n('roster', skipped.length + n('accepted', o.accepted) + n('rejected'))} rows: ${n('accepted', o.accepted)} accepted, ${n('rejected', objs(o.rejected).length)} rejected${skippedText}`);
  lines.push(`workspaces: ${n('ready', o.ready)} ready, ${n('failed', o.failed)} failed`);
  const rejected = objs(o.rejected);
  if (rejected.length) lines.push('rejected rows:', indent(table(['row', 'field', 'problem'], rejected.map((r) => [str(r.row), str(r.field), cell(r.message)]))));
  if (skipped.length) lines.push('skipped enrolments:', indent(table(['id', 'username', 'reason', 'why'], skipped.map((s) => [str(s.id), str(s.username), str(s.reason), cell(s.message)]))));
  const students = objs(o.students);
  if (students.length)
    lines.push(
      'workspaces:',
      indent(table(['student', 'status', 'url / error'], students.map((s) => (s.url ? [str(s.studentId), 'ready', str(s.url)] : [str(s.studentId || `item ${str(s.index)}`), str(s.status || 'failed'), cell(s.error)])))),
    );
  const suspended = Array.isArray(o.suspended) ? o.suspended.map(str) : [];
  if (suspended.length) lines.push(`suspended (left the roster, files kept): ${suspended.join(', ')}`);
  return lines.join('\n');
}

function backupReport(r: Obj): string | undefined {
  const volumes = objs(r.volumes);
  if (num(r.total) === undefined || !Array.isArray(r.volumes)) return undefined;
  const lines = [`${str(r.succeeded)}/${str(r.total)} volumes backed up, ${bytes(num(r.storedBytes) ?? 0)} stored${num(r.failed) ? `, ${str(r.failed)} FAILED` : ''}`];
  if (volumes.length)
    lines.push(
      table(
        ['volume', 'outcome', 'stored', 'size', 'duration', 'pruned', 'error'],
        volumes.map((v) => [
          `${str(v.namespace)}/${str(v.pvc)}`,
          str(v.outcome),
          v.outcome === 'failed' ? '' : bytes(num(v.storedBytes) ?? 0),
          v.outcome === 'failed' ? '' : bytes(num(v.size) ?? 0),
          v.outcome === 'failed' ? '' : `${str(v.durationSeconds)}s`,
          str(v.retentionDeleted),
          cell(v.error),
        ]),
      ),
    );
  return lines.join('\n');
}

function backupRestore(o: Obj): string | undefined {
  if (o.restored === undefined || !o.pvc) return undefined;
  return [
    `restored ${str(o.namespace)}/${str(o.pvc)} from ${str(o.manifest)}`,
    `snapshot of ${time(str(o.snapshotTime))}: ${str(o.fileCount)} files, ${bytes(num(o.size) ?? 0)}, sha256 ${str(o.sha256)}`,
    `restore: ${str(o.restored)} in ${str(o.seconds)}s`,
  ].join('\n');
}

function restoreTest(o: Obj): string | undefined {
  if (!Array.isArray(o.restores)) return undefined;
  const report = isObj(o.report) ? o.report : {};
  const restores = objs(o.restores);
  const lines = [`scratch namespace ${str(o.namespace)}: ${restores.filter((r) => r.status !== 'failed').length}/${restores.length} restores verified`];
  if (report.text) lines.push(indent(str(report.text)));
  else lines.push(indent(readable(o.restores)));
  return lines.join('\n');
}

function appOnboarding(o: Obj): string | undefined {
  if (!('pullRequest' in o) && !('mergeCommit' in o)) return undefined;
  const urls = isObj(o.urls) ? o.urls : {};
  const list = (v: unknown) => (Array.isArray(v) && v.length ? v.map(str).join(', ') : '-');
  const lines = [
    `app ${str(o.app)} of club ${str(o.club)}`,
    `pull request: ${str(o.pullRequest) || '-'}`,
    `merged as: ${str(o.mergeCommit) || '-'}`,
    `approved by: ${list(o.approvedBy)}`,
    `staging: ${list(urls.staging)}`,
    `prod: ${list(urls.prod)}`,
  ];
  const apps = objs(o.applications);
  if (apps.length) lines.push('ArgoCD applications:', indent(table(['application', 'sync', 'health', 'revision'], apps.map((a) => [str(a.name), str(a.sync), str(a.health), str(a.revision).slice(0, 12)]))));
  return lines.join('\n');
}

function incident(o: Obj): string | undefined {
  if (!('kind' in o) || !('severity' in o)) return undefined;
  const report = isObj(o.report) ? o.report : undefined;
  const lines = [
    `kind: ${str(o.kind) || '-'}   severity: ${str(o.severity) || '-'}   clubs: ${Array.isArray(o.clubs) && o.clubs.length ? o.clubs.map(str).join(', ') : '-'}`,
    `resolved at: ${time(str(o.resolvedAt)) || '-'}   review due: ${str(o.reviewDue) || '-'}`,
  ];
  if (report) lines.push(`report published: ${str(report.path)} at ${str(report.commit).slice(0, 12)}${isObj(report.notified) ? ` (notified ${str(report.notified.audience)} audience, ${str(report.notified.admins)} admin targets)` : ''}`);
  return lines.join('\n');
}

function vaultBootstrap(o: Obj): string | undefined {
  if (!isObj(o.init) || !isObj(o.tls)) return undefined;
  const { tls, init } = o;
  const values = isObj(o.values) ? o.values : {};
  const login = isObj(o.login) ? o.login : {};
  return [
    `TLS certificate: ${str(tls.action)} (serial ${str(tls.serial)}, valid until ${time(str(tls.notAfter))})`,
    `seal key: ${str(o.sealKey) || 'Shamir (no KMS key)'}`,
    `Helm values: ${str(values.path)} at ${str(values.commit).slice(0, 12)}${values.changed ? '' : ' (unchanged)'}`,
    `init: ${init.alreadyInitialized ? 'already initialised (not re-initialised)' : `initialised, ${str(init.shares)} shares, threshold ${str(init.threshold)}`}; keys in Secret ${str(init.keysSecret)}`,
    `configured: ${Array.isArray(o.configured) && o.configured.length ? o.configured.map(str).join(', ') : 'nothing new'}`,
    `proof: login as ${str(login.serviceAccount)} with policies ${Array.isArray(login.policies) ? login.policies.map(str).join(', ') : str(login.policies)}`,
    `root token revoked: ${str(o.rootRevoked)}; sealed: ${str(o.sealed)}; version ${str(o.version)}`,
  ].join('\n');
}

function teardown(o: Obj): string | undefined {
  if (!Array.isArray(o.deleted) || Object.keys(o).length !== 1) return undefined;
  return o.deleted.length ? `deleted ${o.deleted.length} workspace namespace(s): ${o.deleted.map(str).join(', ')}` : 'no workspace namespace to delete';
}

/** Built-in definitions whose output has a layout of its own; undefined when the shape is not the expected one. */
const REPORTS: Record<string, (o: Obj) => string | undefined> = {
  'class-workspaces': classWorkspaces,
  'class-workspaces-teardown': teardown,
  'backup-nightly': backupReport,
  'backup-restore': backupRestore,
  'backup-restore-test': restoreTest,
  'app-onboarding': appOnboarding,
  'vault-bootstrap': vaultBootstrap,
  incident,
};

/** The `result:` section of `cedille get`: the output (or the failure), and what the API left out of it. */
export function outcomeView(detail: RunDetail): string | undefined {
  const lines: string[] = [];
  if (detail.failure) {
    lines.push(`failure${detail.failure.type ? ` (${detail.failure.type})` : ''}:`, indent(detail.failure.message));
    if (detail.failure.cause) lines.push(indent(`cause: ${detail.failure.cause}`));
  }
  if (detail.output !== undefined) {
    let text: string | undefined;
    const render = REPORTS[detail.run.definition];
    if (render && isObj(detail.output)) {
      try {
        text = render(detail.output);
      } catch {
        text = undefined; // an unexpected shape: the generic layout below
      }
    }
    lines.push('output:', indent(text ?? readable(detail.output)));
  }
  const info = detail.outputInfo;
  for (const t of info?.truncated ?? []) lines.push(`  (shortened: ${t.path || 'the whole output'} keeps ${t.kept} of ${t.total} ${t.unit}; --output json shows the same; the full output is in Temporal)`);
  if (info?.redacted) lines.push(`  (${info.redacted} secret value(s) shown as [redacted])`);
  if (detail.outputError) lines.push(`output unavailable: ${oneLine(detail.outputError)}`);
  return lines.length ? lines.join('\n') : undefined;
}

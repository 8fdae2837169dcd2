// How `cedille get` lays out the reports of the built-in definitions (issue 13 item 7), from outputs
// shaped as their definitions' `spec.output` and activities' output schemas, and the generic layout of
// any other output.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { outcomeView } from '../../cli/render/output.ts';
import { oneLine } from '../../cli/render/format.ts';
import type { RunDetail } from '../../cli/types.ts';

const detail = (definition: string, output: unknown): RunDetail => ({
  run: { id: `${definition}-1`, runId: 'r', definition, hash: 'h', status: 'completed', temporalStatus: 'COMPLETED', startTime: '2026-09-01T12:00:00Z' },
  graph: null,
  output,
});

describe('cedille get: reports of the built-ins', () => {
  it('class-workspaces: counts, rejected rows, skipped enrolments, workspace URLs', () => {
    const text = outcomeView(
      detail('class-workspaces', {
        course: { code: 'LOG680', term: 'A2026' },
        termEnd: '2026-12-20',
        accepted: 2,
        rejected: [{ row: 4, field: 'username', message: "'ak-../../etc' may only contain letters, digits and -" }],
        skipped: [{ id: '77', username: 'prof', reason: 'not-a-student', roles: ['editingteacher'], message: 'role editingteacher is not a student role' }],
        counts: { roster: 4, skippedSuspended: 0, skippedNotStudent: 1, rejected: 1, accepted: 2, ready: 1, failed: 1 },
        ready: 1,
        failed: 1,
        students: [
          { studentId: 'ada', namespace: 'ws-log680-ada', url: 'https://ada.log680.example/', created: 9, objects: 9 },
          { index: 1, status: 'failed', error: 'quota refused\nby admission' },
        ],
        suspended: ['ws-log680-old'],
      }),
    )!;
    assert.match(text, /course LOG680 A2026 \(term ends 2026-12-20\)/);
    assert.match(text, /roster: 4 rows: 2 accepted, 1 rejected, 1 skipped \(0 suspended, 1 not a student\)/);
    assert.match(text, /workspaces: 1 ready, 1 failed/);
    assert.match(text, /^ {4}4 +username +'ak-\.\.\/\.\.\/etc' may only/m);
    assert.match(text, /^ {4}77 +prof +not-a-student/m);
    assert.match(text, /^ {4}ada +ready +https:\/\/ada\.log680\.example\/$/m);
    assert.match(text, /^ {4}item 1 +failed +quota refused; by admission$/m);
    assert.match(text, /suspended \(left the roster, files kept\): ws-log680-old/);
  });

  it('backup-nightly: per volume bytes and duration, and the failures', () => {
    const text = outcomeView(
      detail('backup-nightly', {
        total: 2,
        succeeded: 1,
        failed: 1,
        storedBytes: 3 * 1024 * 1024,
        volumes: [
          { namespace: 'club-capra', pvc: 'data', outcome: 'succeeded', storedBytes: 3 * 1024 * 1024, size: 10 * 1024 * 1024, durationSeconds: 12.5, retentionDeleted: 1 },
          { namespace: 'club-dronolab', pvc: 'db', outcome: 'failed', storedBytes: 0, size: 0, durationSeconds: 0, retentionDeleted: 0, error: 'snapshot not ready' },
        ],
        text: 'ignored',
      }),
    )!;
    assert.match(text, /1\/2 volumes backed up, 3\.0 MiB stored, 1 FAILED/);
    assert.match(text, /club-capra\/data +succeeded +3\.0 MiB +10\.0 MiB +12\.5s +1/);
    assert.match(text, /club-dronolab\/db +failed .*snapshot not ready/);
  });

  it('app-onboarding and incident', () => {
    const onboarding = outcomeView(
      detail('app-onboarding', {
        app: 'site',
        club: 'capra',
        pullRequest: 'https://github.com/x/gitops/pull/7',
        mergeCommit: 'abc123',
        urls: { staging: ['https://staging.capra.example'], prod: ['https://capra.example'] },
        applications: [{ name: 'capra-site-prod', sync: 'Synced', health: 'Healthy', revision: 'abc123def4567890' }],
        approvedBy: ['edith-ets', 'ada-sre'],
      }),
    )!;
    assert.match(onboarding, /pull request: https:\/\/github\.com\/x\/gitops\/pull\/7/);
    assert.match(onboarding, /approved by: edith-ets, ada-sre/);
    assert.match(onboarding, /prod: https:\/\/capra\.example/);
    assert.match(onboarding, /capra-site-prod +Synced +Healthy +abc123def456/);
    const incident = outcomeView(detail('incident', { kind: 'security', severity: 'critical', clubs: [], resolvedAt: '2026-11-21T14:46:16Z', reviewDue: '2026-11-28', report: { commit: 'c0ffee00aa', changed: true, path: 'incidents/x.md', notified: { audience: 1, admins: 1 } } }))!;
    assert.match(incident, /kind: security {3}severity: critical/);
    assert.match(incident, /report published: incidents\/x\.md at c0ffee00aa/);
  });

  it('any other output: key: value lines, nested indented, uniform lists as tables; a shape a report does not expect falls back to it', () => {
    const text = outcomeView(detail('my-own', { version: '1.2.0', deployed: [{ env: 'staging', ok: true }, { env: 'prod', ok: false }], notes: { by: 'ada' } }))!;
    assert.match(text, /^ {2}version: 1\.2\.0$/m);
    assert.match(text, /^ {4}ENV +OK$/m);
    assert.match(text, /^ {4}prod +false$/m);
    assert.match(text, /^ {2}notes: by: ada$/m);
    assert.match(outcomeView(detail('backup-nightly', { unexpected: 1 }))!, /^ {2}unexpected: 1$/m);
    assert.match(outcomeView(detail('hello-world', 'Hello, Ada!'))!, /^ {2}Hello, Ada!$/m);
  });

  it('oneLine: line breaks and control characters out, long text cut', () => {
    assert.equal(oneLine('a\nb\r\nc.\n\nd'), 'a; b; c. d');
    assert.equal(oneLine('red\u001b[31m alert'), 'red[31m alert');
    assert.equal(oneLine('x'.repeat(500), 10), `${'x'.repeat(9)}…`);
  });
});

// The audit trail survives restarts (it is a file in the data dir) and filters by actor, action,
// target and time, newest first.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../../api/audit/log.ts';

describe('audit log', () => {
  it('keeps entries across instances and filters them', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cedille-audit-')), 'nested', 'audit.jsonl');
    const first = new AuditLog(file);
    first.record({ actor: 'ada', action: 'run.start', target: 'onboarding-1', details: { definition: 'onboarding' } });
    first.record({ actor: 'edith', action: 'approval.approve', target: 'onboarding-1', details: { stepId: 'ets', comment: 'ok' } });
    first.record({ actor: 'ada', action: 'run.cancel', target: 'backup-7' });

    const restarted = new AuditLog(file);
    const all = restarted.query({ limit: 100 });
    assert.deepEqual(all.map((e) => e.action), ['run.cancel', 'approval.approve', 'run.start']);
    assert.deepEqual(restarted.query({ actor: 'ada', limit: 100 }).map((e) => e.target), ['backup-7', 'onboarding-1']);
    assert.deepEqual(restarted.query({ target: 'onboarding-1', action: 'approval.approve', limit: 100 })[0]?.details, { stepId: 'ets', comment: 'ok' });
    assert.equal(restarted.query({ limit: 1 }).length, 1);
    assert.equal(restarted.query({ since: new Date(Date.now() + 60_000).toISOString(), limit: 100 }).length, 0);
    assert.equal(restarted.query({ until: new Date(Date.now() - 60_000).toISOString(), limit: 100 }).length, 0);
  });
});

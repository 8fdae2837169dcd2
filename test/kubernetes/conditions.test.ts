// kubernetes.waitFor's conditions as pure functions of an observed object.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { condition, observedText, parseFieldTest, satisfied } from '../../activities/kubernetes/_conditions.ts';
import type { KObject } from '../../activities/kubernetes/_client.ts';

const deploy = (status: Record<string, unknown>): KObject => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'w', resourceVersion: '7' }, status });

describe('waitFor conditions', () => {
  it('status.conditions entries', () => {
    const cond = condition.parse({ type: 'Available' });
    assert.deepEqual(cond, { type: 'Available', status: 'True' });
    assert.equal(satisfied(cond, deploy({ conditions: [{ type: 'Available', status: 'True' }] })), true);
    assert.equal(satisfied(cond, deploy({ conditions: [{ type: 'Available', status: 'False' }] })), false);
    assert.equal(satisfied(cond, deploy({})), false);
    assert.equal(satisfied(cond, undefined), false);
    assert.equal(satisfied(condition.parse({ type: 'Ready', status: 'False' }), deploy({ conditions: [{ type: 'Ready', status: 'False' }] })), true);
  });

  it('field comparisons', () => {
    const t = (field: string, status: Record<string, unknown>) => satisfied(condition.parse({ field }), deploy(status));
    assert.equal(t('status.phase == Running', { phase: 'Running' }), true);
    assert.equal(t('status.phase == "Running"', { phase: 'Pending' }), false);
    assert.equal(t('status.phase != Running', {}), true);
    assert.equal(t('status.readyReplicas >= 1', {}), false, 'missing counts as 0');
    assert.equal(t('status.readyReplicas >= 1', { readyReplicas: 1 }), true);
    assert.equal(t('status.readyReplicas > 1', { readyReplicas: 1 }), false);
    assert.equal(t('status.conditions[0].status == True', { conditions: [{ status: 'True' }] }), true);
    assert.equal(satisfied(condition.parse({ field: 'metadata.labels["a.b/c"] == x' }), { ...deploy({}), metadata: { name: 'w', labels: { 'a.b/c': 'x' } } }), true);
    assert.deepEqual(parseFieldTest('status.phase=Running'), { path: ['status', 'phase'], op: '==', value: 'Running' });
  });

  it('deletion', () => {
    const cond = condition.parse({ deleted: true });
    assert.equal(satisfied(cond, undefined), true);
    assert.equal(satisfied(cond, deploy({})), false);
  });

  it('refuses malformed conditions at input validation', () => {
    for (const bad of [{ field: 'status.phase' }, { field: 'status.readyReplicas >= many' }, { field: '..x == 1' }, { deleted: false }, { type: '' }, {}]) {
      assert.equal(condition.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });

  it('describes the last observed state for timeout messages', () => {
    assert.equal(observedText(undefined), 'object absent');
    assert.equal(observedText(deploy({ conditions: [{ type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable' }] })), 'Available=False (MinimumReplicasUnavailable)');
    assert.equal(observedText(deploy({ phase: 'Pending' })), 'phase Pending');
  });
});

// incidents.classify, the first step of the incident workflow: kind, severity, affected clubs, apps
// and namespaces from labels and the club registry, and who is told. Pure: no server.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { callActivity } from '../activities/_support.ts';
import classify from '../../activities/incidents/classify.ts';
import { useClubsConfig } from './_clubs.ts';

useClubsConfig({
  clubs: [
    { id: 'radio', name: 'Radio Piranha', namespaces: ['club-radio'], apps: ['radio-prod', 'radio-staging'] },
    { id: 'capra', name: 'Capra', namespaces: ['club-capra'], apps: ['capra-web'] },
    { id: 'dronolab', name: 'Dronolab', namespaces: ['club-dronolab'] },
  ],
  admins: ['sre'],
  etsIt: ['ets-it'],
  defaults: { owner: 'ada', maxUpdates: 3 },
});

type Out = { kind: string; severity: string; clubs: { id: string }[]; apps: string[]; namespaces: string[]; owner: string; notify: { admins: string[]; clubs: string[]; etsIt: string[] }; audience: string[]; updateSlots: number[]; startedAt?: string };
const run = (input: Record<string, unknown>) => callActivity(classify, { title: 't', ...input }) as Promise<Out>;
const alert = (labels: Record<string, string>, startsAt = '2026-11-18T14:01:10Z') => ({ fingerprint: JSON.stringify(labels), status: 'firing', labels, annotations: {}, startsAt });

describe('incidents.classify', () => {
  it('availability: clubs from namespaces and app labels, told with the admins; ÉTS IT not told', async () => {
    const out = await run({
      severity: 'warning',
      alerts: [alert({ alertname: 'KubePodCrashLooping', namespace: 'club-radio', severity: 'critical' }, '2026-11-18T14:05:00Z'), alert({ alertname: 'ArgoAppDegraded', name: 'capra-web' })],
    });
    assert.equal(out.kind, 'availability');
    assert.equal(out.severity, 'critical', 'the most severe of the declared and the labels');
    assert.deepEqual(out.clubs.map((c) => c.id), ['radio', 'capra']);
    assert.deepEqual(out.apps, ['capra-web', 'radio-prod', 'radio-staging']);
    assert.deepEqual(out.namespaces, ['club-capra', 'club-radio']);
    assert.deepEqual(out.notify, { admins: ['sre'], clubs: ['club:radio', 'club:capra'], etsIt: [] });
    assert.deepEqual(out.audience, ['club:radio', 'club:capra']);
    assert.deepEqual([out.owner, out.updateSlots, out.startedAt], ['ada', [0, 1, 2], '2026-11-18T14:01:10.000Z']);
  });

  it('security from a category label, an annotation or an alert name: ÉTS IT, never the clubs', async () => {
    for (const input of [
      { commonLabels: { category: 'security', namespace: 'club-radio' } },
      { alerts: [{ ...alert({ alertname: 'Oddity', namespace: 'club-radio' }), annotations: { type: 'Security' } }] },
      { alerts: [alert({ alertname: 'FalcoShellInContainer', namespace: 'club-radio' })] },
    ]) {
      const out = await run({ severity: 'page', ...input });
      assert.equal(out.kind, 'security', JSON.stringify(input));
      assert.equal(out.severity, 'critical');
      assert.deepEqual(out.notify, { admins: ['sre'], clubs: [], etsIt: ['ets-it'] });
      assert.deepEqual(out.audience, ['ets-it']);
      assert.deepEqual(out.clubs.map((c) => c.id), ['radio'], 'the club is still recorded as affected');
    }
  });

  it('declared: the given kind, clubs and owner win; unknown severities pass through', async () => {
    const out = await run({ kind: 'availability', clubs: ['dronolab'], owner: 'grace', severity: 'SEV2', commonLabels: { category: 'security' } });
    assert.deepEqual([out.kind, out.severity, out.owner, out.clubs.map((c) => c.id), out.namespaces], ['availability', 'sev2', 'grace', ['dronolab'], ['club-dronolab']]);
  });
});

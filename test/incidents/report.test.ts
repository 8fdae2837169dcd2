// incidents.draftReport and incidents.publish: the report renders from the template exactly as the
// golden files say (UPDATE_GOLDEN=1 rewrites them), in the wiki, clubs and ÉTS versions, without
// personal data but the responders'; publishing commits it to a real bare git repository, once.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { callActivity } from '../activities/_support.ts';
import { scratchDir, seedRemote } from '../support/git.ts';
import draftReport from '../../activities/incidents/draftReport.ts';
import publish from '../../activities/incidents/publish.ts';
import { useClubsConfig } from './_clubs.ts';

useClubsConfig({
  clubs: [{ id: 'radio', name: 'Radio Piranha', namespaces: ['radio'], apps: ['radio-prod'], members: [{ name: 'Jeanne Roy', email: 'jeanne.roy@etsmtl.ca' }] }],
  people: [{ name: 'Marc Gagnon', email: 'marc.gagnon@etsmtl.ca' }],
});
delete process.env.CEDILLE_NOTIFY_CONFIG; // notify.send logs: this file checks what is committed
process.env.CEDILLE_GIT_WORKDIR = scratchDir('workdir');

type Draft = { path: string; title: string; markdown: string; audience: 'clubs' | 'ets'; audienceMarkdown: string };

const golden = (name: string, actual: string) => {
  const file = new URL(`./golden/${name}`, import.meta.url);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, actual);
  assert.equal(actual, readFileSync(file, 'utf8'), `${name} differs from the golden file (UPDATE_GOLDEN=1 to accept)`);
};

const timeline = [
  { at: '2026-11-18T14:02:00Z', source: 'incident', text: 'Incident opened: Radio Piranha is down' },
  { at: '2026-11-18T14:01:10Z', source: 'alert', text: 'KubePodCrashLooping firing (radio): web-0 restarts', ref: 'f1' },
  { at: '2026-11-18T14:03:00Z', source: 'kubernetes', text: 'Warning OOMKilled Pod/web-0: Container web was OOM killed (×3)' },
  { at: '2026-11-18T14:05:00Z', source: 'argocd', text: 'ArgoCD synced radio-prod to fedcba987654 (automated)' },
  { at: '2026-11-18T14:20:00Z', source: 'note', text: 'Marc Gagnon: called Jeanne Roy (jeanne.roy@etsmtl.ca); raised the memory limit | 512Mi' },
  { at: '2026-11-18T14:31:00Z', source: 'workflow', text: 'nightly-backup run nightly-1 completed' },
  { at: '2026-11-18T14:40:00Z', source: 'incident', text: 'Incident resolved' },
].sort((a, b) => a.at.localeCompare(b.at));

const incident = {
  id: 'incident-0123456789abcdef0123',
  title: 'Radio Piranha is down',
  kind: 'availability' as const,
  severity: 'critical',
  source: 'alertmanager',
  clubs: [{ id: 'radio', name: 'Radio Piranha' }],
  apps: ['radio-prod'],
  namespaces: ['radio'],
  startedAt: '2026-11-18T14:01:10Z',
  resolvedAt: '2026-11-18T14:40:00Z',
};

const report = {
  submittedBy: 'Marc Gagnon',
  summary: 'The Radio Piranha site answered 503 for 39 minutes after a memory regression.',
  impact: 'Listeners could not reach the stream page; Jeanne Roy reported it by e-mail (jeanne.roy@etsmtl.ca).',
  rootCauses: 'A new image doubled the memory use of the web container; the limit stayed at 256Mi.',
  trigger: 'The automated ArgoCD sync of radio-prod to fedcba987654.',
  resolution: 'Raised the memory limit to 512Mi and synced again.',
  detection: 'KubePodCrashLooping paged the SRE channel 50 s after the first restart.',
  actionItems: [
    { title: 'Alert on memory above 80 % of the limit', owner: 'Marc Gagnon', due: '2026-12-04' },
    { title: 'Load-test images before promotion', owner: 'sre', due: '2026-12-18' },
  ],
  lessons: 'Limits must follow the image, not the other way around.',
};

describe('incidents.draftReport', () => {
  it('drafts placeholders before the owner submits', async () => {
    const out = (await callActivity(draftReport, { incident, owner: 'Marc Gagnon', reviewDue: '2026-11-25T22:00:00Z', timeline })) as Draft;
    golden('report-draft.md', out.markdown);
    assert.equal(out.path, 'incidents/2026/2026-11-18-radio-piranha-is-down-ef0123.md'.replace('ef0123', incident.id.slice(-8)));
  });

  it('renders the submitted report for the wiki and for the clubs, without personal data but the responders', async () => {
    const out = (await callActivity(draftReport, { incident, owner: 'Marc Gagnon', reviewDue: '2026-11-25T22:00:00Z', report, approved: true, timeline })) as Draft;
    golden('report-availability.md', out.markdown);
    golden('report-availability-clubs.md', out.audienceMarkdown);
    assert.equal(out.audience, 'clubs');
    for (const md of [out.markdown, out.audienceMarkdown]) {
      assert.ok(!/jeanne/i.test(md), 'a non-responder is never named');
      assert.match(md, /Marc Gagnon/);
    }
    // The clubs' version leaves out detection, lessons and the platform's internals.
    assert.ok(!out.audienceMarkdown.includes('## Lessons learned') && !out.audienceMarkdown.includes('OOMKilled') && !out.audienceMarkdown.includes('nightly-backup'));
    assert.ok(out.markdown.includes('## Lessons learned') && out.markdown.includes('OOMKilled'));
  });

  it('addresses a security report to ÉTS IT', async () => {
    const out = (await callActivity(draftReport, { incident: { ...incident, kind: 'security', title: 'Leaked token in radio-prod' }, owner: 'sre', report, timeline })) as Draft;
    assert.equal(out.audience, 'ets');
    golden('report-security-ets.md', out.audienceMarkdown);
    assert.match(out.audienceMarkdown, /version of the report for ÉTS IT/);
  });
});

describe('incidents.publish', () => {
  it('commits the report to a bare git repository once, and sends the audience version', async () => {
    const wiki = await seedRemote({ files: { 'README.md': '# Wiki\n' } });
    const draft = (await callActivity(draftReport, { incident, owner: 'Marc Gagnon', report, approved: true, timeline })) as Draft;
    const input = { repository: wiki.path, path: draft.path, markdown: draft.markdown, title: draft.title, audience: ['club:radio'], audienceMarkdown: draft.audienceMarkdown, admins: ['sre'] };
    const first = (await callActivity(publish, input)) as { commit: string; changed: boolean; notified: { audience: number; admins: number } };
    assert.equal(first.changed, true);
    assert.equal(await wiki.head(), first.commit);
    assert.equal(await wiki.readFile(draft.path), draft.markdown);
    assert.match((await wiki.log())[0]!.subject, /^Post-incident report: Radio Piranha is down$/);
    assert.deepEqual(first.notified, { audience: 1, admins: 1 }); // logged: no notify config here
    // A retry (or a second run publishing the same report) changes nothing.
    const again = (await callActivity(publish, input)) as { commit: string; changed: boolean };
    assert.deepEqual([again.changed, again.commit], [false, first.commit]);
    assert.equal((await wiki.log()).length, 2);
  });
});

// `cedille incidents` as a child process against a real API (with an incidents config) and worker:
// declare, list, show, note, submit-report (file and --set), in text and JSON, and the exit codes
// of refusals (2 bad fields, 3 not allowed, 4 unknown incident, 5 closed).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Who } from '../support/api.ts';
import { runCli, show, type CliResult } from './_support.ts';
import { deliver, deliveredEvents, fixture, incidentIdOf, intakeEnv, uniqueGroupKey, type IntakeEnv } from '../incidents/_intake-support.ts';

let env: IntakeEnv;
let url: string;
let scratch: string;
before(async () => {
  env = await intakeEnv();
  await env.app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(env.app.server.address() as { port: number }).port}`;
  scratch = mkdtempSync(join(tmpdir(), 'cedille-cli-incidents-'));
});
after(() => env?.close());

const cli = (args: string[], as: Who = 'admin', stdin?: string): Promise<CliResult> =>
  runCli(args, { XDG_CONFIG_HOME: scratch, CEDILLE_API_URL: url, CEDILLE_TOKEN: env.tokens[as] }, stdin);

describe('cedille incidents', { concurrency: true }, () => {
  it('declare, list, show, note and submit-report', async () => {
    const declared = await cli(['incidents', 'declare', '-t', 'Capra site down', '--severity', 'critical', '--kind', 'availability', '--club', 'capra', '-l', 'namespace=club-capra', '-o', 'json'], 'operator');
    assert.equal(declared.code, 0, show(declared));
    const { incident } = JSON.parse(declared.stdout) as { incident: { id: string; owner: string } };
    assert.equal(incident.owner, 'olivier-operator');

    let list = '';
    for (let i = 0; i < 40 && !list.includes(incident.id); i++) {
      list = (await cli(['incidents', 'list'], 'etsIt')).stdout;
      if (!list.includes(incident.id)) await new Promise((r) => setTimeout(r, 250));
    }
    assert.match(list, new RegExp(`^${incident.id}\\s+critical\\s+\\w+\\s+Capra site down\\s+capra\\s+olivier-operator\\s+\\d{4}-`, 'm'), list);

    const shown = await cli(['incidents', 'show', incident.id], 'etsIt');
    assert.equal(shown.code, 0, show(shown));
    assert.match(shown.stdout, /^incident incident-manual-\S+ {2}\w+$/m);
    assert.match(shown.stdout, /^ {2}severity {4}critical \(availability\)$/m);
    assert.match(shown.stdout, /^ {2}source {6}manual, by olivier-operator$/m);
    assert.match(shown.stdout, /^steps:$/m);

    const noted = await cli(['incidents', 'note', incident.id, 'Drained', 'node-3'], 'sre');
    assert.equal(noted.code, 0, show(noted));
    assert.equal(noted.stdout, `noted on ${incident.id}\n`);

    const file = join(scratch, 'report.yaml');
    writeFileSync(
      file,
      [
        'summary: site-web was down 40 minutes',
        'rootCauses: a drain without PodDisruptionBudget',
        'trigger: node maintenance',
        'resolution: PDB added',
        'detection: replicas mismatch alert',
        'actionItems:',
        '  - { title: PDB everywhere, owner: olivier-operator, due: "2026-12-05" }',
        'lessons: drain one node at a time',
      ].join('\n'),
    );
    const notOwner = await cli(['incidents', 'submit-report', incident.id, '-f', file], 'sre');
    assert.equal(notOwner.code, 3, show(notOwner));
    const badField = await cli(['incidents', 'submit-report', incident.id, '-f', file, '-s', 'actionItems=[{"title":"x","owner":"y","due":"soon"}]'], 'operator');
    assert.equal(badField.code, 2, show(badField));
    assert.match(badField.stderr, /body\.actionItems\.0\.due/);
    const submitted = await cli(['incidents', 'submit-report', incident.id, '-f', file, '-s', 'impact=Capra members'], 'operator');
    assert.equal(submitted.code, 0, show(submitted));
    assert.match(submitted.stdout, /report submitted/);

    const events = await deliveredEvents(env, incident.id);
    assert.deepEqual(events.map((e) => e.name), ['note', 'report']);
    assert.equal(events[0]!.payload.text, 'Drained node-3');
    assert.equal(events[1]!.payload.impact, 'Capra members');
  });

  it('shows a webhook incident; json output; exit codes 2, 3, 4, 5', async () => {
    const key = uniqueGroupKey('cli');
    assert.equal((await deliver(env, 'alertmanager', fixture('firing-two-alerts.json', key))).statusCode, 202);
    const id = incidentIdOf(key);
    const shown = await cli(['incidents', 'show', id, '-o', 'json'], 'etsIt');
    assert.equal(shown.code, 0, show(shown));
    assert.equal(JSON.parse(shown.stdout).incident.source, 'alertmanager');

    const missing = await cli(['incidents', 'declare', '--severity', 'critical']);
    assert.equal(missing.code, 2, show(missing));
    const forbidden = await cli(['incidents', 'declare', '-t', 'x', '--severity', 'critical'], 'etsIt');
    assert.equal(forbidden.code, 3, show(forbidden));
    const unknown = await cli(['incidents', 'show', 'incident-nope']);
    assert.equal(unknown.code, 4, show(unknown));
    await env.temporal.client.workflow.getHandle(id).terminate('test');
    const closed = await cli(['incidents', 'note', id, 'late']);
    assert.equal(closed.code, 5, show(closed));
  });
});

// Alert storms at the incident webhook (issue 13 item 8): a 3,000-alert Alertmanager notification
// opens its incident with the first maxAlerts alerts and records how many were cut (truncatedAlerts,
// as Alertmanager does), instead of a 413 or 400 that Alertmanager never retries; the limits come from
// the config file or the environment, and a body over the limit gets a 413 naming that limit. Grafana's
// `[FIRING:n]` prefix is not part of an incident's title.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Payload } from '@temporalio/common';
import { payloadValue } from '../support/temporal.ts';
import { deliver, fixture, incidentIdOf, incidentsConfigYaml, intakeEnv, uniqueGroupKey, type IntakeEnv } from '../incidents/_intake-support.ts';
import { incidentsConfigFrom, IncidentsConfigError } from '../../api/incidents/config.ts';
import { withoutStatePrefix } from '../../api/incidents/normalize.ts';

const BODY_LIMIT = 8 * 1024 * 1024;
let env: IntakeEnv;
before(async () => {
  // The alert cap from the environment (it overrides the file), the body limit from the file.
  process.env.CEDILLE_WEBHOOK_MAX_ALERTS = '1000';
  try {
    env = await intakeEnv({}, incidentsConfigYaml().replace('maxBodyBytes: 65536', `maxBodyBytes: ${BODY_LIMIT}\n  maxAlerts: 50`));
  } finally {
    delete process.env.CEDILLE_WEBHOOK_MAX_ALERTS;
  }
});
after(() => env?.close());

/** A firing notification of `n` distinct alerts, each padded with `pad` characters of annotation. */
function storm(key: string, n: number, pad = 0) {
  const body = fixture('firing-two-alerts.json', key);
  const template = body.alerts[0]!;
  body.alerts = Array.from({ length: n }, (_, i) => ({
    ...template,
    labels: { ...(template.labels as Record<string, string>), pod: `site-web-${i}` },
    ...(pad ? { annotations: { ...(template.annotations as Record<string, string>), description: 'x'.repeat(pad) } } : {}),
    fingerprint: `storm${i.toString(16).padStart(8, '0')}`,
  }));
  return body;
}

describe('alert storms at the Alertmanager webhook', () => {
  it('opens the incident with the first maxAlerts alerts and records how many were cut', async () => {
    const key = uniqueGroupKey('storm');
    const body = storm(key, 3000);
    assert.ok(JSON.stringify(body).length > 1024 * 1024, 'over the former 1 MiB default');
    const res = await deliver(env, 'alertmanager', body);
    assert.equal(res.statusCode, 202, res.body.slice(0, 500));
    const result = res.json();
    assert.equal(result.action, 'opened');
    assert.equal(result.alerts.selected, 1000);
    assert.equal(result.alerts.truncated, 2000);

    const id = incidentIdOf(key);
    const shown = await env.as('sre', { method: 'GET', url: `/v1/incidents/${id}` });
    assert.equal(shown.statusCode, 200, shown.body);
    assert.equal(shown.json().incident.truncatedAlerts, 2000);

    const history = await env.temporal.client.workflow.getHandle(id).fetchHistory();
    const start = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    const input = (payloadValue(start?.input?.payloads?.[0] as Payload) as { input: { alerts: { fingerprint: string }[]; truncatedAlerts: number } }).input;
    assert.equal(input.alerts.length, 1000);
    assert.equal(input.alerts[0]!.fingerprint, 'storm00000000', 'the first alerts are kept');
    assert.equal(input.truncatedAlerts, 2000);
  });

  it('a body over the body limit: 413 naming the limit and how to raise it', async () => {
    const key = uniqueGroupKey('storm-big');
    const res = await deliver(env, 'alertmanager', storm(key, 3000, 3000));
    assert.equal(res.statusCode, 413, res.body);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    assert.match(res.json().detail, new RegExp(`webhook body limit of ${BODY_LIMIT} bytes`));
    assert.match(res.json().detail, /CEDILLE_WEBHOOK_BODY_LIMIT/);
  });
});

describe('webhook limits configuration', () => {
  it('defaults let a storm in; the environment overrides the file; bad values name the variable', () => {
    const defaults = incidentsConfigFrom({}, {});
    assert.equal(defaults.maxBodyBytes, 16 * 1024 * 1024);
    assert.equal(defaults.maxAlerts, 500, "~500 KB of alerts in the run's input: under Temporal's payload warning limit");
    const file = { webhooks: { auth: { bearerTokens: ['a-bearer-token-of-the-test'] }, maxBodyBytes: 2_000_000, maxAlerts: 10 } };
    assert.deepEqual(
      (({ maxBodyBytes, maxAlerts }) => ({ maxBodyBytes, maxAlerts }))(incidentsConfigFrom(file, {})),
      { maxBodyBytes: 2_000_000, maxAlerts: 10 },
    );
    const env = { CEDILLE_WEBHOOK_BODY_LIMIT: '4194304', CEDILLE_WEBHOOK_MAX_ALERTS: '2000' };
    assert.equal(incidentsConfigFrom(file, env).maxBodyBytes, 4_194_304);
    assert.equal(incidentsConfigFrom(file, env).maxAlerts, 2000);
    for (const [name, value] of [['CEDILLE_WEBHOOK_MAX_ALERTS', 'lots'], ['CEDILLE_WEBHOOK_MAX_ALERTS', '0'], ['CEDILLE_WEBHOOK_BODY_LIMIT', '1.5']] as const) {
      assert.throws(() => incidentsConfigFrom({}, { [name]: value }), (err: Error) => err instanceof IncidentsConfigError && err.message.includes(`${name}=${value}`));
    }
  });

  it("Grafana's [FIRING:n] / [RESOLVED] prefix is not part of the title", () => {
    assert.equal(withoutStatePrefix('[FIRING:1] HighErrorRate Clubs (club-dronolab)'), 'HighErrorRate Clubs (club-dronolab)');
    assert.equal(withoutStatePrefix('[RESOLVED] HighErrorRate'), 'HighErrorRate');
    assert.equal(withoutStatePrefix('[FIRING:12]  [RESOLVED:2] Disk full'), 'Disk full');
    assert.equal(withoutStatePrefix('Disk [FIRING] full'), 'Disk [FIRING] full');
  });
});

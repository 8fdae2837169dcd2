// The pieces of incident intake that need no server: the config file (errors name the field, secrets
// by env/file), opening rules and club mapping, webhook signatures, the per-alert dedupe verdicts,
// and an API that refuses to start on a bad config.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { incidentsConfigFrom, loadIncidentsConfig, IncidentsConfigError } from '../../api/incidents/config.ts';
import { clubsOf, ruleMiss } from '../../api/incidents/normalize.ts';
import { checkWebhookAuth, hmacHex } from '../../api/incidents/signature.ts';
import { compareAlert, incidentIdOf } from '../../api/incidents/intake.ts';
import { buildApi } from '../../api/app.ts';
import { apiConfigFromEnv } from '../../api/config.ts';

const secret = 'a-secret-of-sixteen-chars';

describe('incidents config', () => {
  it('names the offending field', () => {
    for (const [doc, field] of [
      [{ webhooks: { auth: { bearerTokens: ['short'] } } }, /webhooks\.auth\.bearerTokens\.0/],
      [{ webhooks: { auth: {} } }, /webhooks\.auth: configure at least one/],
      [{ webhooks: { grafana: {} } }, /webhooks\.grafana\.auth: grafana: no auth configured/],
      [{ open: { severities: 'critical' } }, /open\.severities/],
      [{ open: { matchers: [{ label: 'x', op: '=~', value: '(' }] } }, /open\.matchers\.0\.value/],
      [{ open: { matchers: [{ label: 'x', op: '~', value: 'y' }] } }, /open\.matchers\.0\.op/],
      [{ surprise: true }, /surprise|Unrecognized/],
    ] as const) {
      assert.throws(() => incidentsConfigFrom(doc), (err: Error) => err instanceof IncidentsConfigError && field.test(err.message), JSON.stringify(doc));
    }
  });

  it('resolves secrets from env and files; a missing one is an error naming where', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cedille-incidents-config-'));
    writeFileSync(join(dir, 'token'), `${secret}\n`);
    const c = incidentsConfigFrom({ webhooks: { auth: { bearerTokens: [{ env: 'T1' }, { file: join(dir, 'token') }] }, grafana: { enabled: false } } }, { T1: 'from-env-123456789' });
    assert.deepEqual(c.webhooks.alertmanager?.bearerTokens, ['from-env-123456789', secret]);
    assert.equal(c.webhooks.grafana, undefined, 'disabled');
    assert.throws(() => incidentsConfigFrom({ webhooks: { auth: { bearerTokens: [{ env: 'NOPE' }] } } }, {}), /webhooks\.auth\.bearerTokens\.0: environment variable NOPE/);
    assert.throws(() => loadIncidentsConfig(join(dir, 'missing.yaml')), /CEDILLE_INCIDENTS_CONFIG=.*missing\.yaml/);
    writeFileSync(join(dir, 'bad.yaml'), 'open: [');
    assert.throws(() => loadIncidentsConfig(join(dir, 'bad.yaml')), /not valid YAML/);
    const none = loadIncidentsConfig(undefined);
    assert.deepEqual(none.webhooks, {}, 'no file: webhooks off');
    assert.deepEqual(none.open.severities, ['critical']);
  });

  it('an API with a bad incidents config does not start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cedille-incidents-config-'));
    writeFileSync(join(dir, 'incidents.json'), JSON.stringify({ open: { namespaces: { include: 'club-*' } } }));
    await assert.rejects(
      buildApi({ config: apiConfigFromEnv({ CEDILLE_DATA_DIR: dir, CEDILLE_INCIDENTS_CONFIG: join(dir, 'incidents.json'), API_PORT: '0' }) }).then((app) => app.ready()),
      /open\.namespaces\.include/,
    );
  });
});

describe('opening rules and clubs', () => {
  const c = incidentsConfigFrom({
    open: {
      severities: ['critical', 'page'],
      namespaces: { include: ['club-*', 'platform'], exclude: ['club-sandbox'] },
      matchers: [
        { label: 'team', op: '!=', value: 'test' },
        { label: 'alertname', op: '!~', value: 'Watchdog|InfoInhibitor' },
        { label: 'cluster', op: '=~', value: 'prod-.*' },
      ],
    },
    clubs: { label: 'club', namespaces: { 'club-capra': 'capra', platform: 'cedille' } },
  });
  const ok = { severity: 'critical', namespace: 'club-capra', alertname: 'Down', cluster: 'prod-ets' };
  it('selects by severity, namespace include/exclude and matchers', () => {
    assert.equal(ruleMiss(c, ok), undefined);
    assert.equal(ruleMiss(c, { ...ok, severity: 'page', namespace: 'platform' }), undefined);
    assert.match(ruleMiss(c, { ...ok, severity: 'info' })!, /severity=info/);
    assert.match(ruleMiss(c, { ...ok, namespace: 'club-sandbox' })!, /excluded/);
    assert.match(ruleMiss(c, { ...ok, namespace: 'default' })!, /not included/);
    assert.match(ruleMiss(c, { severity: 'critical', alertname: 'x', cluster: 'prod-a' })!, /namespace=\(none\) is not included/);
    assert.match(ruleMiss(c, { ...ok, team: 'test' })!, /team!="test"/);
    assert.match(ruleMiss(c, { ...ok, alertname: 'Watchdog' })!, /alertname!~/);
    assert.match(ruleMiss(c, { ...ok, cluster: 'staging-prod-x' })!, /cluster=~/, 'regexes are anchored');
  });
  it('maps clubs: the club label first, else the namespace', () => {
    assert.deepEqual(clubsOf(c, [], { namespace: 'club-capra' }), ['capra']);
    assert.deepEqual(clubsOf(c, [{ labels: { club: 'dronolab', namespace: 'club-capra' } } as never], {}), ['dronolab']);
    assert.deepEqual(clubsOf(c, [{ labels: { namespace: 'platform' } } as never, { labels: { namespace: 'club-capra' } } as never], {}), ['capra', 'cedille']);
    assert.deepEqual(clubsOf(c, [], { namespace: 'elsewhere' }), []);
  });
});

describe('webhook signatures', () => {
  const body = Buffer.from('{"version":"4"}');
  const auth = { bearerTokens: [secret], hmac: [{ secret, header: 'x-signature-256', maxSkewSeconds: 300 }, { secret, header: 'x-grafana-alerting-signature', timestampHeader: 'x-ts', maxSkewSeconds: 300 }] };
  it('accepts a bearer token, a sha256=-prefixed or bare hex signature, a fresh Grafana timestamp', () => {
    assert.deepEqual(checkWebhookAuth(auth, { authorization: `Bearer ${secret}` }, body), { via: 'bearer' });
    assert.deepEqual(checkWebhookAuth(auth, { 'x-signature-256': `sha256=${hmacHex(secret, body)}` }, body), { via: 'hmac:x-signature-256' });
    assert.deepEqual(checkWebhookAuth(auth, { 'x-signature-256': hmacHex(secret, body).toUpperCase() }, body), { via: 'hmac:x-signature-256' });
    const now = 1_800_000_000_000;
    const ts = String(now / 1000 - 10);
    assert.deepEqual(checkWebhookAuth(auth, { 'x-grafana-alerting-signature': hmacHex(secret, body, ts), 'x-ts': ts }, body, now), { via: 'hmac:x-grafana-alerting-signature' });
  });
  it('refuses with the reasons', () => {
    const r = checkWebhookAuth(auth, { 'x-signature-256': 'sha256=zz', 'x-grafana-alerting-signature': hmacHex(secret, body) }, body);
    assert.deepEqual(r, { refused: 'no bearer token; bad x-signature-256 signature; no x-ts timestamp' });
    const other = checkWebhookAuth(auth, { 'x-signature-256': hmacHex('another-secret-of-16', body) }, body);
    assert.match((other as { refused: string }).refused, /bad x-signature-256 signature/);
  });
});

describe('dedupe verdicts and ids', () => {
  const at = (startsAt: string, status: 'firing' | 'resolved') => ({ fingerprint: 'f', status, labels: {}, annotations: {}, startsAt });
  const rec = (startsAt: string, status: 'firing' | 'resolved') => ({ status, startsAt, seenAt: startsAt });
  it('compares an incoming alert with what was recorded', () => {
    const t = '2026-11-21T14:00:00.123456789Z';
    assert.equal(compareAlert(undefined, at(t, 'firing')), 'new');
    assert.equal(compareAlert(rec(t, 'firing'), at(t, 'firing')), 'same');
    assert.equal(compareAlert(rec(t, 'firing'), at(t, 'resolved')), 'changed');
    assert.equal(compareAlert(rec(t, 'resolved'), at(t, 'firing')), 'stale');
    assert.equal(compareAlert(rec(t, 'resolved'), at('2026-11-21T15:00:00Z', 'firing')), 'changed');
    assert.equal(compareAlert(rec(t, 'firing'), at('2026-11-21T13:00:00+00:00', 'firing')), 'stale');
    assert.equal(compareAlert(rec('2026-11-21T10:00:00-04:00', 'firing'), at('2026-11-21T14:00:00Z', 'resolved')), 'changed', 'offsets compare as instants');
  });
  it('incident ids are deterministic per groupKey', () => {
    assert.equal(incidentIdOf('{}:{alertname="A"}'), incidentIdOf('{}:{alertname="A"}'));
    assert.notEqual(incidentIdOf('{}:{alertname="A"}'), incidentIdOf('{}:{alertname="B"}'));
    assert.match(incidentIdOf('x'), /^incident-[0-9a-f]{20}$/);
  });
});

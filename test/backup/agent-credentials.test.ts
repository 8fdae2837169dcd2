// The backup agent's Google credentials on a bare-metal cluster: the worker's CEDILLE_BACKUP_AGENT_GCP_CREDENTIALS
// (an `external_account` file naming the Job's projected token) becomes a ConfigMap of the volume's namespace,
// mounted in the agent Job with a projected ServiceAccount token for the provider's audience; the agent
// exchanges that token at the local STS peer, impersonates the backup service account at the local IAM
// credentials peer, and its GCS requests carry that account's token (fake-gcs-server behind a gate that refuses
// requests without one). A refused impersonation fails the volume at once, the agent's error naming its
// credential file.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_GCP_CONFIGMAP, AGENT_GCP_TOKEN_PATH } from '../../activities/kubernetes/builders/backup.ts';
import { runFailure } from '../activities/_support.ts';
import { externalAccount, workloadCredentialFile } from '../support/gcp-credential-file.ts';
import { PROVIDER_NAME, TOKEN_AUDIENCE, principalSetByServiceAccountName, startGcpTokenPeers, type GcpTokenPeers } from '../support/gcp-token-peers.ts';
import { gcsTokenGate, type GcsTokenGate } from '../support/gcs-token-gate.ts';
import { backupArgs as agentBackupArgs, gcsUrl, runAgent } from './_agent-support.ts';
import { recordingProxy } from './_recording-proxy.ts';
import { backupHarness, noLeftovers, type BackupHarness } from './_workflow-support.ts';

const BACKUP_SA = 'cedille-backup@cedille-test.iam.gserviceaccount.com';

describe("the backup agent's Google credentials (Workload Identity Federation in the Job)", { concurrency: false }, () => {
  let h: BackupHarness;
  let peers: GcpTokenPeers;
  let gate: GcsTokenGate;
  let dir: string;
  before(async () => {
    h = await backupHarness();
    peers = await startGcpTokenPeers(h.k);
    gate = await gcsTokenGate(gcsUrl(), (t) => peers.ownerOf(t));
    dir = mkdtempSync(join(process.env.CEDILLE_TEST_SCRATCH ?? tmpdir(), 'agent-wif-'));
    const file = join(dir, 'agent-credentials.json');
    writeFileSync(file, JSON.stringify(externalAccount(peers, { audience: PROVIDER_NAME, email: BACKUP_SA, tokenFile: AGENT_GCP_TOKEN_PATH })));
    process.env.CEDILLE_BACKUP_AGENT_GCS_ENDPOINT = gate.url;
    process.env.CEDILLE_BACKUP_AGENT_GCP_CREDENTIALS = file;
  });
  after(async () => {
    delete process.env.CEDILLE_BACKUP_AGENT_GCS_ENDPOINT;
    delete process.env.CEDILLE_BACKUP_AGENT_GCP_CREDENTIALS;
    await Promise.all([gate?.close(), peers?.close()]);
    await h?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const nightly = async (ns: string) => {
    const handle = await h.start('nightlyBackup', h.nightlyInput([ns]));
    return (await handle.result().catch(async (err) => {
      throw new Error((await runFailure(handle)).text, { cause: err });
    })) as { succeeded: number; failed: number; text: string };
  };

  it("the agent's uploads carry the impersonated account's token, got with the Job's projected token", { timeout: 180_000 }, async () => {
    peers.bindings.set(BACKUP_SA, new Set([principalSetByServiceAccountName('cedille-backup')]));
    const ns = await h.namespace('bk-wif');
    await h.volume(ns, 'data', { 'a.txt': 'club data\n' });
    const seen = gate.seen.length;
    const report = await nightly(ns);
    assert.equal(report.succeeded, 1, report.text);
    const calls = gate.seen.slice(seen);
    assert.ok(calls.some((c) => c.request.includes('/upload/')), JSON.stringify(calls));
    assert.deepEqual(calls.filter((c) => c.owner !== BACKUP_SA), [], "every request carried the backup account's token");
    // The subject token was the pod's own projected token: the Job's service account, the provider's audience, bound to the pod.
    const exchange = new URLSearchParams(peers.sts.requests.at(-1)!.body);
    const claims = JSON.parse(Buffer.from((exchange.get('subject_token') ?? '').split('.')[1] ?? '', 'base64url').toString()) as { sub: string; aud: string[]; 'kubernetes.io': { pod?: { name: string } } };
    assert.equal(claims.sub, `system:serviceaccount:${ns}:cedille-backup`);
    assert.deepEqual(claims.aud, [TOKEN_AUDIENCE]);
    assert.match(claims['kubernetes.io'].pod?.name ?? '', /^backup-data-/);
    const configMap = await h.client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: AGENT_GCP_CONFIGMAP });
    assert.equal(JSON.parse((configMap as unknown as { data: Record<string, string> }).data['credentials.json']!).credential_source.file, AGENT_GCP_TOKEN_PATH);
    await noLeftovers(h, [ns]);
  });

  it('the agent sends its token to its endpoint only: not to a session URI on another host', { timeout: 120_000 }, async () => {
    peers.bindings.set(BACKUP_SA, new Set([principalSetByServiceAccountName('cedille-backup')]));
    const ns = await h.namespace('bk-wif-origin');
    const cred = await workloadCredentialFile(h.k, peers, { dir, namespace: ns, serviceAccount: 'cedille-backup', email: BACKUP_SA, bind: false });
    // The configured endpoint answers with resumable-upload sessions on another host.
    const elsewhere = await recordingProxy(gcsUrl());
    const endpoint = await recordingProxy(gate.url, { locationOrigin: elsewhere.url });
    const source = join(dir, 'source');
    mkdirSync(source, { recursive: true });
    writeFileSync(join(source, 'a.txt'), 'club data\n');
    try {
      const run = await runAgent(agentBackupArgs({ source, bucket: h.bucket, prefix: `origin/${ns}`, transitKey: h.transitKey }).map((a) => (a === gcsUrl() ? endpoint.url : a)), { env: { GOOGLE_APPLICATION_CREDENTIALS: cred.file } });
      assert.equal(run.code, 0, run.stderr);
      assert.ok(elsewhere.seen.some((r) => r.startsWith('PUT ')), `the session was used: ${elsewhere.seen.join(', ')}`);
      assert.deepEqual(elsewhere.authorization.filter(Boolean), [], 'no token went to the other host');
      assert.ok(endpoint.authorization.length > 0 && endpoint.authorization.every((a) => a && peers.ownerOf(a.slice('Bearer '.length)) === BACKUP_SA), 'every request to the endpoint carried the token');
    } finally {
      await Promise.all([elsewhere.close(), endpoint.close()]);
    }
  });

  it('a refused impersonation fails the volume at once, the error naming the credential file', { timeout: 180_000 }, async () => {
    peers.bindings.set(BACKUP_SA, new Set());
    const ns = await h.namespace('bk-wif-refused');
    await h.volume(ns, 'data', { 'a.txt': 'club data\n' });
    const { text } = await runFailure(await h.start('nightlyBackup', h.nightlyInput([ns])));
    assert.match(text, /1 of 1 volumes were not backed up/);
    assert.match(text, /GCP credentials \S+credentials\.json: impersonation refused by http:\/\/127\.0\.0\.1:\d+\/v1\/projects\/-\/serviceAccounts\/cedille-backup@[^ ]+:generateAccessToken \(HTTP 403\)/);
    const runs = h.sim.agentRuns.filter((r) => r.namespace === ns);
    assert.deepEqual(runs.map((r) => r.exitCode), [3], 'one attempt: the same identity would be refused again');
    await noLeftovers(h, [ns]);
  });
});

// The pure parts of the backup workflows: deterministic names and labels, the agent Job, the agent's
// command lines, and the report.
import { after, describe, it } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import type { z } from 'zod';
import { AGENT_GCP_CONFIGMAP, AGENT_GCP_CREDENTIALS_PATH, AGENT_GCP_TOKEN_PATH, agentJob, backupNames, claimFromSnapshot, LABEL_BACKUP_ITEM, LABEL_BACKUP_RUN, volumeSnapshot } from '../../activities/kubernetes/builders/backup.ts';
import { isDnsLabel } from '../../activities/kubernetes/builders/index.ts';
import { backupArgs, compactTime, restoreArgs, Agent, VaultRef } from '../../activities/backup/_params.ts';
import { agentConfig } from '../../activities/backup/_agent-config.ts';
import { callActivity } from '../activities/_support.ts';
import report from '../../activities/backup/report.ts';
import upload from '../../activities/backup/upload.ts';
import restore from '../../activities/backup/restore.ts';
import preflight from '../../activities/backup/preflight.ts';

const dir = mkdtempSync(join(tmpdir(), 'builders-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const AUDIENCE = '//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/cluster/providers/apiserver';
let files = 0;
/** An agent credential file as create-cred-config writes it, with `extra` over it. */
function credentialFile(extra: Record<string, unknown>): string {
  const file = join(dir, `credentials-${++files}.json`);
  writeFileSync(file, JSON.stringify({
    type: 'external_account', audience: AUDIENCE, subject_token_type: 'urn:ietf:params:oauth:token-type:jwt', token_url: 'https://sts.googleapis.com/v1/token',
    service_account_impersonation_url: 'https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/backup@p.iam.gserviceaccount.com:generateAccessToken',
    credential_source: { file: AGENT_GCP_TOKEN_PATH }, ...extra,
  }));
  return file;
}

describe('backup builders', () => {
  it('names derive from the run and the volume only, are DNS labels, and differ per volume and run', () => {
    const a = backupNames('nightly-backup-2026-11-21T07:30:00Z', 'club-x', 'data');
    assert.deepEqual(a, backupNames('nightly-backup-2026-11-21T07:30:00Z', 'club-x', 'data'));
    assert.notEqual(a.snapshot, backupNames('nightly-backup-2026-11-22T07:30:00Z', 'club-x', 'data').snapshot);
    assert.notEqual(a.snapshot, backupNames('nightly-backup-2026-11-21T07:30:00Z', 'club-y', 'data').snapshot);
    assert.match(a.snapshot, /^backup-data-[0-9a-z]{10}$/);
    const long = backupNames('r', 'ns', `${'very-long-claim-name-'.repeat(10)}x`);
    assert.ok(isDnsLabel(long.snapshot) && isDnsLabel(`${long.jobPrefix}-99`), long.snapshot);
    assert.ok(`${long.jobPrefix}-99`.length <= 57, 'room for the pod suffix under 63');
    for (const v of Object.values(a.labels)) assert.ok(v.length <= 63);
    assert.equal(a.labels[LABEL_BACKUP_RUN], backupNames('nightly-backup-2026-11-21T07:30:00Z', 'other', 'x').labels[LABEL_BACKUP_RUN]);
    assert.equal(a.labels[LABEL_BACKUP_ITEM], a.itemKey);
  });

  it('snapshot, claim from snapshot, and the agent Job', () => {
    const n = backupNames('run', 'club-x', 'data');
    assert.deepEqual((volumeSnapshot({ namespace: 'club-x', name: n.snapshot, pvc: 'data', snapshotClass: 'mayastor-snapshots', labels: n.labels }) as unknown as { spec: unknown }).spec, { volumeSnapshotClassName: 'mayastor-snapshots', source: { persistentVolumeClaimName: 'data' } });
    const claim = claimFromSnapshot({ namespace: 'club-x', name: n.temporaryClaim, snapshot: n.snapshot, size: '5Gi', storageClassName: 'mayastor', labels: n.labels }) as unknown as { spec: { dataSource: unknown } };
    assert.deepEqual(claim.spec.dataSource, { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: n.snapshot });
    const agent = Agent.parse({ podAnnotations: { 'sidecar.istio.io/inject': 'false' } });
    const vault = VaultRef.parse({ transitKey: 'backups' });
    const config = agentConfig({ VAULT_ADDR: 'https://vault.example', CEDILLE_BACKUP_AGENT_IMAGE: 'ghcr.io/cedille/backup-agent:1', CEDILLE_BACKUP_AGENT_GCP_CREDENTIALS: credentialFile({}) });
    const args = backupArgs({ bucket: 'b', prefix: 'mayastor/club-x/data/t-k/', namespace: 'club-x', pvc: 'data', snapshot: n.snapshot, snapshotTime: '2026-11-21T07:30:00.000Z', agent, vault, config });
    assert.deepEqual(args.slice(0, 6), ['backup', '--source', '/data', '--bucket', 'b', '--prefix']);
    assert.equal(args[6], 'mayastor/club-x/data/t-k');
    assert.deepEqual(args.slice(-8), ['--vault-addr', 'https://vault.example', '--vault-role', 'cedille-backup', '--vault-jwt-file', '/var/run/secrets/kubernetes.io/serviceaccount/token', '--transit-key', 'backups']);
    assert.ok(!args.includes('--gcs-endpoint'), 'no endpoint configured: Google\'s GCS');
    assert.deepEqual(restoreArgs({ bucket: 'b', manifest: 'm.json', agent, vault, config }).slice(0, 7), ['restore', '--bucket', 'b', '--manifest', 'm.json', '--target', '/data']);
    const job = agentJob({ namespace: 'club-x', name: `${n.jobPrefix}-1`, labels: n.labels, image: config.image, args, claim: n.temporaryClaim, readOnly: true, serviceAccount: agent.serviceAccount, podAnnotations: agent.podAnnotations, activeDeadlineSeconds: 3600 }) as unknown as {
      spec: { backoffLimit: number; template: { metadata: { annotations: Record<string, string> }; spec: { serviceAccountName: string; restartPolicy: string; containers: { volumeMounts: { readOnly: boolean }[] }[]; volumes: { persistentVolumeClaim: { readOnly: boolean; claimName: string } }[] } } };
    };
    assert.equal(job.spec.backoffLimit, 0);
    assert.equal(job.spec.template.spec.restartPolicy, 'Never');
    assert.equal(job.spec.template.spec.serviceAccountName, 'cedille-backup');
    assert.deepEqual(job.spec.template.metadata.annotations, { 'sidecar.istio.io/inject': 'false' });
    assert.equal(job.spec.template.spec.containers[0]!.volumeMounts[0]!.readOnly, true);
    assert.deepEqual(job.spec.template.spec.volumes[0]!.persistentVolumeClaim, { claimName: n.temporaryClaim, readOnly: true });
    assert.equal(compactTime('2026-11-21T07:30:05.123Z'), '20261121T073005Z');
  });

  it("the agent's Vault address, GCS endpoint and image come from the worker's configuration only", () => {
    const worker = { VAULT_ADDR: 'http://vault.worker:8200', CEDILLE_GCS_ENDPOINT: 'http://gcs.worker:4443', CEDILLE_BACKUP_AGENT_IMAGE: 'registry.cedille/backup-agent:2' };
    assert.deepEqual(agentConfig(worker), { vaultAddress: 'http://vault.worker:8200', gcsEndpoint: 'http://gcs.worker:4443', image: 'registry.cedille/backup-agent:2' });
    // The in-cluster addresses of the agent, when they differ from the worker's.
    assert.deepEqual(agentConfig({ ...worker, CEDILLE_BACKUP_AGENT_VAULT_ADDR: 'http://vault.vault.svc:8200/', CEDILLE_BACKUP_AGENT_GCS_ENDPOINT: 'http://gcs.svc:4443' }), { vaultAddress: 'http://vault.vault.svc:8200', gcsEndpoint: 'http://gcs.svc:4443', image: 'registry.cedille/backup-agent:2' });
    const args = restoreArgs({ bucket: 'b', manifest: 'm.json', agent: Agent.parse({}), vault: VaultRef.parse({ transitKey: 'k' }), config: agentConfig(worker) });
    assert.equal(args[args.indexOf('--vault-addr') + 1], 'http://vault.worker:8200');
    assert.equal(args[args.indexOf('--gcs-endpoint') + 1], 'http://gcs.worker:4443');
    assert.throws(() => agentConfig({ CEDILLE_BACKUP_AGENT_IMAGE: 'i' }), /no Vault address for the agent \(CEDILLE_BACKUP_AGENT_VAULT_ADDR or VAULT_ADDR\)/);
    assert.throws(() => agentConfig({ VAULT_ADDR: 'http://v' }), /no agent image \(CEDILLE_BACKUP_AGENT_IMAGE\)/);
    assert.throws(() => agentConfig({ ...worker, CEDILLE_BACKUP_AGENT_GCS_ENDPOINT: 'file:///etc/passwd' }), /CEDILLE_BACKUP_AGENT_GCS_ENDPOINT is not an http\(s\) URL/);
  });

  it("the agent's Google credentials: a Workload Identity Federation file mounted with a projected token", () => {
    const worker = { VAULT_ADDR: 'http://vault.worker:8200', CEDILLE_BACKUP_AGENT_IMAGE: 'registry.cedille/backup-agent:2' };
    const file = credentialFile({});
    const config = agentConfig({ ...worker, CEDILLE_BACKUP_AGENT_GCP_CREDENTIALS: file });
    assert.equal(config.gcpCredentials?.audience, `https:${AUDIENCE}`, "the provider's default allowed audience");
    assert.equal(JSON.parse(config.gcpCredentials!.content).credential_source.file, AGENT_GCP_TOKEN_PATH);
    const n = backupNames('run', 'club-x', 'data');
    const job = agentJob({ namespace: 'club-x', name: 'j', labels: n.labels, image: config.image, args: [], claim: 'c', readOnly: true, serviceAccount: 'cedille-backup', activeDeadlineSeconds: 60, gcpCredentials: { configMap: AGENT_GCP_CONFIGMAP, audience: config.gcpCredentials!.audience } }) as unknown as {
      spec: { template: { spec: { containers: { env: { name: string; value: string }[]; volumeMounts: { name: string; mountPath: string; readOnly: boolean }[] }[]; volumes: { name: string; projected?: unknown }[] } } };
    };
    const pod = job.spec.template.spec;
    assert.deepEqual(pod.containers[0]!.env, [{ name: 'GOOGLE_APPLICATION_CREDENTIALS', value: AGENT_GCP_CREDENTIALS_PATH }]);
    assert.deepEqual(pod.containers[0]!.volumeMounts[1], { name: 'gcp-credentials', mountPath: '/var/run/secrets/cedille.etsmtl.ca/gcp', readOnly: true });
    assert.deepEqual(pod.volumes[1], {
      name: 'gcp-credentials',
      projected: {
        defaultMode: 0o444,
        sources: [
          { serviceAccountToken: { audience: `https:${AUDIENCE}`, expirationSeconds: 3600, path: 'token' } },
          { configMap: { name: AGENT_GCP_CONFIGMAP, items: [{ key: 'credentials.json', path: 'credentials.json' }] } },
        ],
      },
    });
    assert.throws(() => agentConfig(worker), /no GCP credentials for the agent \(CEDILLE_BACKUP_AGENT_GCP_CREDENTIALS\)/, "Google's GCS without credentials");
    assert.throws(() => agentConfig({ ...worker, CEDILLE_BACKUP_AGENT_GCP_CREDENTIALS: credentialFile({ credential_source: { file: '/var/run/secrets/kubernetes.io/serviceaccount/token' } }) }), /credential_source\.file must be \/var\/run\/secrets\/cedille\.etsmtl\.ca\/gcp\/token/);
    assert.throws(() => agentConfig({ ...worker, CEDILLE_BACKUP_AGENT_GCP_CREDENTIALS: credentialFile({ type: 'service_account', client_email: 'a@b', private_key: 'k' }) }), /not a key file/);
    assert.throws(() => agentConfig({ ...worker, CEDILLE_BACKUP_AGENT_GCP_CREDENTIALS: join(dir, 'missing.json') }), /CEDILLE_BACKUP_AGENT_GCP_CREDENTIALS=\S+missing\.json: GCP credentials \S+missing\.json: cannot read the file/);
  });

  it('an activity input naming a destination, an image or an entrypoint of the agent is refused, naming the field', () => {
    const evil = 'http://attacker.example:8080';
    const volume = { run: 'r', namespace: 'club-x', pvc: 'data', bucket: 'bucket' };
    const cases: [string, z.ZodType, unknown, string][] = [
      ['upload agent.gcsEndpoint', upload.input, { ...volume, agent: { gcsEndpoint: evil }, vault: { transitKey: 'k' } }, 'gcsEndpoint'],
      ['upload agent.image', upload.input, { ...volume, agent: { image: 'evil/image' }, vault: { transitKey: 'k' } }, 'image'],
      ['upload agent.command', upload.input, { ...volume, agent: { command: ['sh', '-c', 'curl …'] }, vault: { transitKey: 'k' } }, 'command'],
      ['upload vault.address', upload.input, { ...volume, agent: {}, vault: { address: evil, transitKey: 'k' } }, 'address'],
      ['upload vault.jwtFile', upload.input, { ...volume, agent: {}, vault: { jwtFile: '/etc/gcs/key.json', transitKey: 'k' } }, 'jwtFile'],
      ['restore vault.address', restore.input, { run: 'r', bucket: 'bucket', manifest: 'm.json', namespace: 'club-x', pvc: 'data', agent: {}, vault: { address: evil, transitKey: 'k' } }, 'address'],
      ['preflight vault.address', preflight.input, { bucket: 'bucket', vault: { address: evil, transitKey: 'k' } }, 'address'],
    ];
    for (const [what, schema, input, field] of cases) {
      const parsed = schema.safeParse(input);
      assert.equal(parsed.success, false, what);
      assert.ok(parsed.error!.issues.some((i) => i.code === 'unrecognized_keys' && i.keys.includes(field)), `${what}: ${parsed.error!.message}`);
    }
  });

  it('the report: per volume outcome, bytes, duration; failures with their error; skipped ones', async () => {
    const out = (await callActivity(report, {
      volumes: [{ namespace: 'a', pvc: 'one' }, { namespace: 'a', pvc: 'two' }, { namespace: 'b', pvc: 'three' }],
      results: [
        { index: 0, status: 'completed', output: { storedBytes: 2048, size: 4096, startedAt: '2026-11-21T07:30:00Z', finishedAt: '2026-11-21T07:30:12.5Z', deleted: ['p/'], object: 'x/data.tar.gz.aes' } },
        { index: 1, status: 'failed', error: "step 'upload' failed: boom" },
      ],
      skipped: [{ namespace: 'b', pvc: 'cache', reason: 'labelled cedille.etsmtl.ca/backup=skip' }],
    })) as { total: number; succeeded: number; failed: number; storedBytes: number; volumes: { outcome: string; durationSeconds: number; retentionDeleted: number; error?: string }[]; text: string };
    assert.deepEqual([out.total, out.succeeded, out.failed, out.storedBytes], [3, 1, 2, 2048]);
    assert.deepEqual(out.volumes.map((v) => v.outcome), ['succeeded', 'failed', 'failed']);
    assert.equal(out.volumes[0]!.durationSeconds, 12.5);
    assert.equal(out.volumes[0]!.retentionDeleted, 1);
    assert.equal(out.volumes[2]!.error, 'not run');
    assert.match(out.text, /^1\/3 volumes backed up, 2\.0 KiB stored, 1 skipped\./);
    assert.match(out.text, /FAILED {2}a\/two: step 'upload' failed: boom/);
  });
});

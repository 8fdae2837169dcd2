// The deployment files cannot run here (no Docker engine, no cluster), so these tests hold them to
// the code: services and entry points exist, every environment variable they set is one the code
// reads, and the search attributes they register are workflows/search-attributes.ts. The shared
// setup script itself runs against the real test server.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { parse, parseAllDocuments } from 'yaml';
import { ensureTemporalCli } from '../../infra/tools/temporal.ts';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.ts';
import { workspaceEgressExcept } from '../../worker/config.ts';
import { loadGitOpsConfig } from '../../activities/gitops/_config.ts';
import { AGENT_GCP_TOKEN_PATH } from '../../activities/kubernetes/builders/backup.ts';
import { NotifyConfig } from '../../activities/notify/config.ts';
import { IncidentsConfigFile } from '../../api/incidents/config.ts';

// CommonJS: under ESM its namespace is the default export.
const { IndexedValueType } = proto.temporal.api.enums.v1;
const repo = join(import.meta.dirname, '..', '..');
const read = (path: string) => readFileSync(join(repo, path), 'utf8');

/**
 * Every `env.NAME` / `process.env.NAME` the application code reads, and the quoted names of files
 * that read `env[name]` from a list of them (the backup agent's `['CEDILLE_BACKUP_AGENT_VAULT_ADDR', 'VAULT_ADDR']`).
 */
function envNamesReadByCode(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(repo, dir))) {
      const path = join(dir, entry);
      if (statSync(join(repo, path)).isDirectory()) walk(path);
      else if (path.endsWith('.ts')) {
        const text = read(path);
        for (const m of text.matchAll(/\benv\.([A-Z][A-Z0-9_]*)/g)) names.add(m[1]!);
        if (/\benv\[[a-z]\w*\]/.test(text)) for (const m of text.matchAll(/'([A-Z][A-Z0-9]*_[A-Z0-9_]+)'/g)) names.add(m[1]!);
      }
    }
  };
  for (const dir of ['activities', 'api', 'codec', 'infra', 'trust', 'worker', 'workflows']) walk(dir);
  return names;
}

/**
 * What the worker must be told (README, "Configuration"): where its credentials may go and what it
 * runs. A workflow needing a missing one fails "not configured", so the deployment sets them all.
 */
const WORKER_SETTINGS = [
  'CEDILLE_MOODLE_URL',
  'CEDILLE_GITOPS_CONFIG',
  'VAULT_ADDR',
  'CEDILLE_BACKUP_AGENT_IMAGE',
  'CEDILLE_GCP_KMS_ENDPOINT',
  'CEDILLE_WORKSPACE_EGRESS_EXCEPT',
  'CEDILLE_HTTP_ALLOW',
];
/** The worker's credential files: from Secrets in the manifests; compose leaves them to the operator (its header says how). */
const WORKER_CREDENTIAL_FILES = ['CEDILLE_MOODLE_TOKEN_FILE', 'VAULT_TOKEN_FILE', 'GOOGLE_APPLICATION_CREDENTIALS', 'CEDILLE_BACKUP_AGENT_GCP_CREDENTIALS', 'CEDILLE_GIT_TOKEN_FILE', 'CEDILLE_GITHUB_TOKEN_FILE'];
/** Set on purpose to an empty value: no built-in definition calls core.http, so it calls nothing until an admin lists hosts. */
const EMPTY_ON_PURPOSE = ['CEDILLE_HTTP_ALLOW'];
/** Left unset on purpose (the agent's pods reach Vault and GCS at the worker's own addresses); the manifests say so. */
const UNSET_ON_PURPOSE = ['CEDILLE_BACKUP_AGENT_VAULT_ADDR', 'CEDILLE_BACKUP_AGENT_GCS_ENDPOINT'];

/** `Name:Type` pairs of the setup script's search attribute loop. */
function scriptSearchAttributes(): Record<string, string> {
  const loop = /for attribute in ([^;]+);/.exec(read('infra/k8s/temporal-setup.sh'));
  assert.ok(loop, 'no search attribute loop in infra/k8s/temporal-setup.sh');
  return Object.fromEntries(loop[1]!.trim().split(/\s+/).map((pair) => pair.split(':') as [string, string]));
}

interface ComposeService {
  image?: string;
  build?: string;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  secrets?: string[];
  depends_on?: Record<string, { condition: string }>;
}

describe('docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, ComposeService> };
  const services = compose.services;

  it('has PostgreSQL, Temporal with its UI and setup jobs, the worker and the API', () => {
    for (const name of ['postgresql', 'temporal-schema', 'temporal', 'temporal-setup', 'temporal-ui', 'worker', 'api']) {
      assert.ok(services[name], `service ${name} missing`);
    }
    assert.match(services.temporal!.image!, /^temporalio\/server:/);
    assert.equal(services.temporal!.environment!.DB, 'postgres12');
    assert.equal(services.temporal!.environment!.POSTGRES_SEEDS, 'postgresql');
    assert.ok(services.temporal!.ports!.includes('127.0.0.1:7233:7233'));
  });

  it('publishes every port on 127.0.0.1 only (Temporal, its UI and the API are not for the network)', () => {
    const published = Object.entries(services).flatMap(([name, service]) => (service.ports ?? []).map((port) => ({ name, port: String(port) })));
    assert.deepEqual(published.map((p) => p.name).sort(), ['api', 'temporal', 'temporal-ui']);
    for (const { name, port } of published) assert.match(port, /^127\.0\.0\.1:\d+:\d+$/, `${name} publishes ${port}`);
  });

  it('depends only on services it defines, and mounts scripts that exist', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const dep of Object.keys(service.depends_on ?? {})) assert.ok(services[dep], `${name} depends on unknown ${dep}`);
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!;
        if (source.startsWith('./')) assert.ok(existsSync(join(repo, source)), `${name} mounts missing ${source}`);
      }
    }
    assert.ok(services['temporal-setup']!.volumes!.some((v) => v.startsWith('./infra/k8s/temporal-setup.sh:')));
  });

  it('builds the worker and the API from the root Dockerfile and runs entry points that exist', () => {
    assert.ok(existsSync(join(repo, 'Dockerfile')));
    assert.match(read('Dockerfile'), /npm ci/);
    for (const name of ['worker', 'api']) {
      const service = services[name]!;
      assert.equal(service.build, '.');
      const entry = service.command!.at(-1)!;
      assert.ok(existsSync(join(repo, entry)), `${name} runs missing ${entry}`);
      assert.deepEqual(service.command!.slice(0, 3), ['node', '--import', 'tsx']);
    }
  });

  it('gives the worker and the API only environment the code reads, pointing at the temporal service', () => {
    const readByCode = envNamesReadByCode();
    for (const name of ['worker', 'api']) {
      const env = services[name]!.environment!;
      for (const key of Object.keys(env)) assert.ok(readByCode.has(key), `${name} sets ${key}, which no code reads`);
      const [host, port] = env.TEMPORAL_ADDRESS!.split(':');
      assert.ok(services[host!], `TEMPORAL_ADDRESS names no service: ${env.TEMPORAL_ADDRESS}`);
      assert.equal(port, '7233');
    }
    const api = services.api!;
    assert.equal(api.environment!.API_HOST, '0.0.0.0');
    assert.ok(api.ports!.includes(`127.0.0.1:${api.environment!.API_PORT}:${api.environment!.API_PORT}`));
  });

  it('gives the worker and the API the same codec keys, from the cedille-codec-keys secret file', () => {
    const secrets = (parse(read('docker-compose.yml')) as { secrets?: Record<string, { file?: string }> }).secrets ?? {};
    assert.ok(secrets['cedille-codec-keys']?.file, 'a top-level cedille-codec-keys secret read from a file');
    for (const name of ['worker', 'api']) {
      // Both also mount the signing key, the API its bearer tokens (next tests).
      assert.deepEqual(services[name]!.secrets, name === 'api' ? ['cedille-codec-keys', 'cedille-api-tokens', 'cedille-signing-key'] : ['cedille-codec-keys', 'cedille-signing-key'], name);
      assert.equal(services[name]!.environment!.CEDILLE_CODEC_KEYS, '/run/secrets/cedille-codec-keys', name);
    }
  });

  it('gives the worker and the API the same signing key, from the cedille-signing-key secret file', () => {
    const secrets = (parse(read('docker-compose.yml')) as { secrets?: Record<string, { file?: string }> }).secrets ?? {};
    assert.equal(secrets['cedille-signing-key']?.file, './.data/signing-key', 'a top-level cedille-signing-key secret read from .data/signing-key');
    for (const name of ['worker', 'api']) {
      assert.ok(services[name]!.secrets!.includes('cedille-signing-key'), `${name} mounts the signing key`);
      assert.equal(services[name]!.environment!.CEDILLE_LINK_SECRET_FILE, '/run/secrets/cedille-signing-key', name);
      assert.equal(services[name]!.environment!.CEDILLE_LINK_SECRET, undefined, `${name}: never the key itself in the environment`);
    }
    assert.match(read('docker-compose.yml'), /openssl rand -base64 32 > \.data\/signing-key/, 'the file header says how to make it');
    assert.match(read('README.md'), /openssl rand -base64 32 > \.data\/signing-key/, 'README, Deploying, says how to make it');
  });

  it('gives the worker every setting it requires; its credentials are left to the operator, as the header says', () => {
    const worker = services.worker!;
    for (const key of WORKER_SETTINGS) assert.ok(key in worker.environment!, `the worker has no ${key}`);
    for (const key of UNSET_ON_PURPOSE) assert.ok(!(key in worker.environment!), `${key} is meant to default to the worker's own address`);
    // The GitOps settings are the manifests' own file, mounted where CEDILLE_GITOPS_CONFIG points.
    assert.ok(worker.volumes!.includes(`./infra/k8s/gitops.yaml:${worker.environment!.CEDILLE_GITOPS_CONFIG}:ro`));
    assert.match(read('docker-compose.yml'), /credentials \(Moodle, Vault, GCP tokens\) are not wired here/);
  });

  it("wires the Temporal UI's codec endpoint to the API, which admits the UI's origin", () => {
    const ui = services['temporal-ui']!;
    const api = services.api!;
    const endpoint = new URL(ui.environment!.TEMPORAL_CODEC_ENDPOINT!);
    // The browser calls it: the API's published address, and the path of the codec routes (api/routes/codec.ts under /v1).
    assert.ok(api.ports!.includes(`${endpoint.hostname}:${endpoint.port}:${api.environment!.API_PORT}`), `${endpoint} is the API's published port`);
    assert.equal(endpoint.pathname, '/v1/codec');
    assert.match(read('api/app.ts'), /register\(codecRoutes, \{ prefix: '\/v1'/);
    assert.match(read('api/routes/codec.ts'), /`\/codec\/\$\{direction\}`/);
    // Without a login in the UI, the codec session cookie authenticates: sent cross-origin, same host name.
    assert.equal(ui.environment!.TEMPORAL_CODEC_INCLUDE_CREDENTIALS, 'true');
    const [host, port] = ui.ports![0]!.split(':');
    const origin = `http://${host}:${port}`;
    assert.deepEqual(api.environment!.CEDILLE_CODEC_CORS_ORIGINS!.split(','), [origin]);
    assert.equal(endpoint.hostname, host, 'the UI and the API under the same host name (the cookie is same-site)');
  });

  it('gives the API (on 0.0.0.0, so without dev tokens) its bearer tokens from the cedille-api-tokens secret file', () => {
    const secrets = (parse(read('docker-compose.yml')) as { secrets?: Record<string, { file?: string }> }).secrets ?? {};
    assert.ok(secrets['cedille-api-tokens']?.file, 'a top-level cedille-api-tokens secret read from a file');
    const api = services.api!;
    assert.equal(api.environment!.CEDILLE_API_TOKENS_FILE, '/run/secrets/cedille-api-tokens');
    assert.equal(api.environment!.CEDILLE_DEV_TOKENS, undefined);
  });
});

describe('infra/k8s (Kustomize)', () => {
  const kustomization = parse(read('infra/k8s/kustomization.yaml')) as {
    resources: string[];
    configMapGenerator: { name: string; literals?: string[]; files?: string[] }[];
  };
  const docs = kustomization.resources.flatMap((file) => parseAllDocuments(read(join('infra/k8s', file))).map((d) => d.toJS()));
  const byKind = (kind: string) => docs.filter((d) => d.kind === kind);
  const generated = (name: string) => kustomization.configMapGenerator.find((g) => g.name === name);

  it('has the namespace, worker and API Deployments, the API Service and the setup Job', () => {
    assert.deepEqual(byKind('Namespace').map((d) => d.metadata.name), ['cedille-workflows']);
    assert.deepEqual(byKind('Deployment').map((d) => d.metadata.name).sort(), ['api', 'worker']);
    const service = byKind('Service')[0];
    const api = byKind('Deployment').find((d) => d.metadata.name === 'api');
    assert.deepEqual(service.spec.selector, api.spec.selector.matchLabels);
    assert.equal(byKind('Job')[0].metadata.name, 'temporal-setup');
  });

  it('configures the containers with environment the code reads, and probes the API health routes', () => {
    const config = generated('cedille-workflows-config')!;
    const workerConfig = generated('cedille-workflows-worker-config')!;
    const readByCode = envNamesReadByCode();
    const keys = config.literals!.map((l) => l.split('=')[0]!);
    for (const key of [...keys, ...workerConfig.literals!.map((l) => l.split('=')[0]!)]) assert.ok(readByCode.has(key), `a ConfigMap sets ${key}, which no code reads`);
    assert.ok(keys.includes('TEMPORAL_ADDRESS'));
    for (const workload of [...byKind('Deployment'), ...byKind('Job')]) {
      // The worker also gets its own settings.
      const expected = [{ configMapRef: { name: config.name } }, ...(workload.metadata.name === 'worker' ? [{ configMapRef: { name: workerConfig.name } }] : [])];
      for (const container of workload.spec.template.spec.containers) {
        assert.deepEqual(container.envFrom, expected, `${workload.metadata.name}`);
        for (const e of container.env ?? []) assert.ok(readByCode.has(e.name), `${workload.metadata.name} sets ${e.name}, which no code reads`);
      }
    }
    const api = byKind('Deployment').find((d) => d.metadata.name === 'api').spec.template.spec.containers[0];
    assert.equal(api.livenessProbe.httpGet.path, '/healthz');
    assert.equal(api.readinessProbe.httpGet.path, '/readyz');
    assert.equal(String(api.ports[0].containerPort), config.literals!.find((l) => l.startsWith('API_PORT='))!.split('=')[1]);
  });

  it('probes the worker on its health port, and gives every container requests and a memory limit', () => {
    const worker = byKind('Deployment').find((d) => d.metadata.name === 'worker').spec.template.spec.containers[0];
    const port = worker.ports.find((p: { name: string }) => p.name === 'health');
    assert.equal(String(port.containerPort), worker.env.find((e: { name: string }) => e.name === 'CEDILLE_WORKER_HEALTH_PORT').value);
    assert.deepEqual([worker.livenessProbe.httpGet, worker.readinessProbe.httpGet, worker.startupProbe.httpGet], [
      { path: '/healthz', port: 'health' },
      { path: '/readyz', port: 'health' },
      { path: '/healthz', port: 'health' },
    ]);
    assert.match(read('worker/health-server.ts'), /path === '\/healthz'[\s\S]*path === '\/readyz'[\s\S]*path === '\/metrics'/);
    for (const d of byKind('Deployment')) {
      for (const c of d.spec.template.spec.containers) {
        assert.ok(c.resources?.requests?.cpu && c.resources.requests.memory && c.resources.limits?.memory, `${d.metadata.name}/${c.name}: requests and a memory limit`);
      }
    }
  });

  it('gives the API and the worker the database URL from the cedille-database Secret', () => {
    for (const name of ['api', 'worker']) {
      const env = byKind('Deployment').find((d) => d.metadata.name === name).spec.template.spec.containers[0].env;
      assert.deepEqual(env.find((e: { name: string }) => e.name === 'DATABASE_URL').valueFrom, { secretKeyRef: { name: 'cedille-database', key: 'url' } }, name);
    }
  });

  it('mounts the same codec Secret into the worker and the API, CEDILLE_CODEC_KEYS pointing at its file', () => {
    const mounted = ['worker', 'api'].map((name) => {
      const pod = byKind('Deployment').find((d) => d.metadata.name === name).spec.template.spec;
      const container = pod.containers[0];
      const volume = pod.volumes.find((v: { secret?: { secretName: string } }) => v.secret?.secretName === 'cedille-codec-keys');
      assert.ok(volume, `${name} has no volume of the cedille-codec-keys Secret`);
      const mount = container.volumeMounts.find((m: { name: string }) => m.name === volume.name);
      assert.ok(mount?.readOnly, `${name} mounts the codec Secret read-only`);
      const keys = container.env?.find((e: { name: string }) => e.name === 'CEDILLE_CODEC_KEYS')?.value as string | undefined;
      assert.ok(keys?.startsWith(`${mount.mountPath}/`), `${name}: CEDILLE_CODEC_KEYS=${keys} is not a file of ${mount.mountPath}`);
      // The non-root user reads the file through the pod's fsGroup.
      assert.equal(pod.securityContext.fsGroup, pod.securityContext.runAsUser, name);
      return { secret: volume.secret.secretName, file: keys!.slice(mount.mountPath.length + 1) };
    });
    assert.deepEqual(mounted[0], mounted[1]);
    assert.equal(mounted[0]!.file, 'codec-keys');
    assert.ok(!byKind('Secret').length, 'the keys are never committed: the Secret is created out of band');
  });

  it('mounts the same signing-key Secret into the worker and the API, CEDILLE_LINK_SECRET_FILE pointing at its file', () => {
    const mounted = ['worker', 'api'].map((name) => {
      const pod = byKind('Deployment').find((d) => d.metadata.name === name).spec.template.spec;
      const container = pod.containers[0];
      const volume = pod.volumes.find((v: { secret?: { secretName: string } }) => v.secret?.secretName === 'cedille-signing-key');
      assert.ok(volume, `${name} has no volume of the cedille-signing-key Secret`);
      assert.ok(!volume.secret.optional, `${name}: without the key the pod must not start`);
      const mount = container.volumeMounts.find((m: { name: string }) => m.name === volume.name);
      assert.ok(mount?.readOnly, `${name} mounts the signing key read-only`);
      const env = (key: string) => container.env?.find((e: { name: string }) => e.name === key)?.value as string | undefined;
      const file = env('CEDILLE_LINK_SECRET_FILE');
      assert.ok(file?.startsWith(`${mount.mountPath}/`), `${name}: CEDILLE_LINK_SECRET_FILE=${file} is not a file of ${mount.mountPath}`);
      assert.equal(env('CEDILLE_LINK_SECRET'), undefined, `${name}: never the key itself in the environment`);
      // Not in the API's data dir (an emptyDir: one key per pod, a new one at every restart).
      const dataDir = generated('cedille-workflows-config')!.literals!.find((l) => l.startsWith('CEDILLE_DATA_DIR='))?.split('=')[1];
      assert.ok(!dataDir || !file!.startsWith(`${dataDir}/`), `${name} reads the key from the data dir`);
      return { secret: volume.secret.secretName, file: file!.slice(mount.mountPath.length + 1) };
    });
    assert.deepEqual(mounted[0], mounted[1]);
    assert.equal(mounted[0]!.file, 'signing-key');
    assert.ok(!byKind('Secret').length, 'the key is never committed: the Secret is created out of band');
    assert.match(read('infra/k8s/api.yaml'), /kubectl -n cedille-workflows create secret generic cedille-signing-key --from-literal=signing-key="\$\(openssl rand -base64 32\)"/);
  });

  it('gives the worker every setting it requires, its files from mounted ConfigMaps and Secrets, and says why the rest is unset', () => {
    const literals = Object.fromEntries(generated('cedille-workflows-worker-config')!.literals!.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    for (const key of [...WORKER_SETTINGS, ...WORKER_CREDENTIAL_FILES]) {
      assert.ok(key in literals, `the worker ConfigMap has no ${key}`);
      if (!EMPTY_ON_PURPOSE.includes(key)) assert.ok(literals[key], `${key} is empty`);
    }
    const kustomizationText = read('infra/k8s/kustomization.yaml');
    for (const key of UNSET_ON_PURPOSE) {
      assert.ok(!(key in literals), `${key} is meant to default to the worker's own address`);
      assert.ok(kustomizationText.includes(key), `the ConfigMap names ${key}`);
    }
    assert.match(kustomizationText, /left unset on purpose: the agent's pods run in this\s+# cluster/, 'and says why');
    // The values the code would refuse at start-up or at the first run are valid.
    assert.doesNotThrow(() => workspaceEgressExcept(literals));
    for (const key of ['CEDILLE_MOODLE_URL', 'VAULT_ADDR', 'CEDILLE_GCP_KMS_ENDPOINT']) assert.match(literals[key]!, /^https?:\/\/[^/]+/, key);
    // Each file setting is a file of a volume the worker mounts: the GitOps ConfigMap, the credential Secrets.
    const pod = byKind('Deployment').find((d) => d.metadata.name === 'worker').spec.template.spec;
    const fileOf = (key: string) => {
      const mount = pod.containers[0].volumeMounts.find((m: { mountPath: string }) => literals[key]!.startsWith(`${m.mountPath}/`));
      assert.ok(mount?.readOnly, `${key}=${literals[key]} is no file of a read-only mount`);
      return { volume: pod.volumes.find((v: { name: string }) => v.name === mount.name), file: literals[key]!.slice(mount.mountPath.length + 1) };
    };
    const gitops = fileOf('CEDILLE_GITOPS_CONFIG');
    assert.ok(generated(gitops.volume.configMap.name)!.files!.includes(gitops.file), 'the GitOps file is generated into that ConfigMap');
    assert.doesNotThrow(() => loadGitOpsConfig({ CEDILLE_GITOPS_CONFIG: join(repo, 'infra/k8s', gitops.file) }));
    for (const key of WORKER_CREDENTIAL_FILES) {
      const { volume } = fileOf(key);
      // Optional: without it only the workflows needing it fail, "not configured".
      assert.ok(volume.secret?.secretName && volume.secret.optional, `${key} comes from an optional Secret`);
      assert.match(read('infra/k8s/worker.yaml'), new RegExp(`create secret generic ${volume.secret.secretName} `), `worker.yaml says how to create ${volume.secret.secretName}`);
    }
  });

  it("gives the worker a projected ServiceAccount token where its Workload Identity Federation file (and the agent's) reads it", () => {
    const pod = byKind('Deployment').find((d) => d.metadata.name === 'worker').spec.template.spec;
    const mount = pod.containers[0].volumeMounts.find((m: { mountPath: string }) => AGENT_GCP_TOKEN_PATH.startsWith(`${m.mountPath}/`));
    assert.ok(mount?.readOnly, `no read-only mount holds ${AGENT_GCP_TOKEN_PATH}`);
    const volume = pod.volumes.find((v: { name: string }) => v.name === mount.name);
    const token = volume.projected?.sources?.find((src: { serviceAccountToken?: unknown }) => src.serviceAccountToken)?.serviceAccountToken;
    assert.equal(token?.path, AGENT_GCP_TOKEN_PATH.slice(mount.mountPath.length + 1));
    assert.match(token.audience, /^https:\/\/iam\.googleapis\.com\/projects\/[^/]+\/locations\/global\/workloadIdentityPools\/[^/]+\/providers\/[^/]+$/);
    assert.ok(token.expirationSeconds <= 3600);
  });

  it('gives the API (on 0.0.0.0, so without dev tokens) OIDC or static tokens from the cedille-api-tokens Secret', () => {
    const pod = byKind('Deployment').find((d) => d.metadata.name === 'api').spec.template.spec;
    const container = pod.containers[0];
    const env = (name: string) => container.env?.find((e: { name: string }) => e.name === name)?.value as string | undefined;
    const literals = generated('cedille-workflows-config')!.literals!;
    assert.ok(literals.includes('API_HOST=0.0.0.0'));
    assert.ok(!literals.some((l) => l.startsWith('CEDILLE_DEV_TOKENS=')) && env('CEDILLE_DEV_TOKENS') === undefined, 'no dev-token opt-in');
    const volume = pod.volumes.find((v: { secret?: { secretName: string } }) => v.secret?.secretName === 'cedille-api-tokens');
    const mount = container.volumeMounts.find((m: { name: string }) => m.name === volume?.name);
    assert.ok(mount?.readOnly, 'the tokens Secret is mounted read-only');
    assert.ok(env('CEDILLE_API_TOKENS_FILE')?.startsWith(`${mount.mountPath}/`), 'CEDILLE_API_TOKENS_FILE is a file of that Secret');
  });

  it('registers exactly the search attributes of workflows/search-attributes.ts, with the script compose uses too', () => {
    assert.deepEqual(scriptSearchAttributes(), { ...SEARCH_ATTRIBUTES });
    const job = byKind('Job')[0].spec.template.spec;
    assert.deepEqual(generated('temporal-setup')!.files, ['temporal-setup.sh']);
    assert.equal(job.volumes[0].configMap.name, 'temporal-setup');
    assert.deepEqual(job.containers[0].command, ['/bin/sh', '/scripts/temporal-setup.sh']);
    const composeSetup = (parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, ComposeService> })
      .services['temporal-setup']!;
    assert.equal(job.containers[0].image, composeSetup.image, 'compose and k8s should run the same admin-tools');
  });
});

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}
interface PolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: unknown;
}
interface NetworkPolicy {
  metadata: { name: string };
  spec: { podSelector: LabelSelector; policyTypes: string[]; ingress?: { from?: PolicyPeer[]; ports?: { port: number | string }[] }[] };
}
interface Pod {
  namespace: string;
  labels: Record<string, string>;
}

/** Whether a Kubernetes label selector selects these labels (the API server's semantics; {} selects all). */
function selects(selector: LabelSelector, labels: Record<string, string>): boolean {
  const labelsOk = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const expressionsOk = (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    if (operator === 'In') return key in labels && values.includes(labels[key]!);
    if (operator === 'NotIn') return !(key in labels) || !values.includes(labels[key]!);
    if (operator === 'Exists') return key in labels;
    return !(key in labels);
  });
  return labelsOk && expressionsOk;
}

/** Whether `policy`, living in `policyNamespace`, lets `from` connect to its pods on `port` (a peer without namespaceSelector is the policy's namespace). */
function admits(policy: NetworkPolicy, policyNamespace: string, from: Pod, port: number): boolean {
  return (policy.spec.ingress ?? []).some(
    (rule) =>
      (!rule.ports || rule.ports.some((p) => Number(p.port) === port)) &&
      (!rule.from ||
        rule.from.some(
          (peer) =>
            !peer.ipBlock &&
            (peer.namespaceSelector ? selects(peer.namespaceSelector, { 'kubernetes.io/metadata.name': from.namespace }) : from.namespace === policyNamespace) &&
            (!peer.podSelector || selects(peer.podSelector, from.labels)),
        )),
  );
}

describe('docs/DEPLOY.md', () => {
  const text = read('docs/DEPLOY.md');
  const example = (file: string, lang: string) => {
    const m = new RegExp(`For example \`${file.replace('.', '\\.')}\`:\\s*\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``).exec(text);
    assert.ok(m, `DEPLOY.md has an example ${file}`);
    return m[1]!;
  };

  it('shows configuration files the code accepts', () => {
    assert.doesNotThrow(() => NotifyConfig.parse(JSON.parse(example('notify.json', 'json'))));
    assert.doesNotThrow(() => IncidentsConfigFile.parse(parse(example('incidents.yaml', 'yaml'))));
  });
});

describe('infra/k8s NetworkPolicies', () => {
  const kustomizationOf = (dir: string) => parse(read(join(dir, 'kustomization.yaml'))) as { namespace: string; resources: string[]; configMapGenerator?: { name: string; literals?: string[] }[] };
  const load = (dir: string) => kustomizationOf(dir).resources.flatMap((file) => parseAllDocuments(read(join(dir, file))).map((d) => d.toJS()));
  const ours = kustomizationOf('infra/k8s');
  const ourDocs = load('infra/k8s');
  const temporalDocs = load('infra/k8s/temporal-network');
  const policy = (docs: { kind: string; metadata: { name: string } }[], name: string) => {
    const found = docs.find((d) => d.kind === 'NetworkPolicy' && d.metadata.name === name);
    assert.ok(found, `no NetworkPolicy ${name}`);
    return found as unknown as NetworkPolicy;
  };
  const literal = (name: string) => ours.configMapGenerator!.find((g) => g.name === 'cedille-workflows-config')!.literals!.find((l) => l.startsWith(`${name}=`))!.split('=')[1]!;
  const ns = ours.namespace;
  const workloads = ourDocs
    .filter((d) => d.kind === 'Deployment' || d.kind === 'Job')
    .map((d) => ({ name: d.metadata.name as string, pod: { namespace: ns, labels: (d.spec.template.metadata?.labels ?? {}) as Record<string, string> } }));
  const pod = (name: string) => workloads.find((w) => w.name === name)!.pod;
  // Pods of the Temporal Helm chart, in the namespace Temporal runs in.
  const temporalPod = (namespace: string, component: string): Pod => ({ namespace, labels: { 'app.kubernetes.io/name': 'temporal', 'app.kubernetes.io/instance': 'temporal', 'app.kubernetes.io/component': component } });
  const contour: Pod = { namespace: 'projectcontour', labels: { 'app.kubernetes.io/name': 'envoy' } };
  // A student's workspace namespace: the student has `edit` there and can label a pod as anything.
  const student = (labels: Record<string, string>): Pod => ({ namespace: 'log680-01-ab12345', labels });

  it('denies all ingress in the cedille-workflows namespace unless allowed', () => {
    const deny = policy(ourDocs, 'default-deny-ingress');
    assert.deepEqual(deny.spec, { podSelector: {}, policyTypes: ['Ingress'] });
    for (const w of workloads) assert.ok(selects(deny.spec.podSelector, w.pod.labels), w.name);
  });

  it('lets only Contour and the Temporal UI reach the API, on its port; nothing reaches the worker', () => {
    const api = policy(ourDocs, 'api-ingress');
    const port = Number(literal('API_PORT'));
    const deployment = ourDocs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'api');
    assert.equal(deployment.spec.template.spec.containers[0].ports[0].containerPort, port);
    assert.ok(selects(api.spec.podSelector, pod('api').labels), 'selects the API pods');
    assert.ok(admits(api, ns, contour, port), 'Contour');
    for (const where of ['temporal', ns]) assert.ok(admits(api, ns, temporalPod(where, 'web'), port), `the Temporal UI in ${where}`);
    assert.ok(!admits(api, ns, student(temporalPod('x', 'web').labels), port), 'a student pod labelled as the UI');
    assert.ok(!admits(api, ns, pod('worker'), port), 'the worker does not call the API');
    assert.ok(!admits(api, ns, contour, port + 1), 'another port');
    const allowing = ourDocs.filter((d) => d.kind === 'NetworkPolicy' && d.spec.ingress?.length) as unknown as NetworkPolicy[];
    assert.deepEqual(allowing.filter((p) => selects(p.spec.podSelector, pod('worker').labels)).map((p) => p.metadata.name), [], 'no ingress to the worker');
  });

  it('lets only the worker, the API, the setup Job and Temporal itself reach the Temporal frontend, in either layout', () => {
    const frontend = policy(temporalDocs, 'temporal-frontend');
    const [host, port] = literal('TEMPORAL_ADDRESS').split(':');
    const temporalNamespace = kustomizationOf('infra/k8s/temporal-network').namespace;
    assert.equal(host!.split('.')[1], temporalNamespace, 'the policies go where TEMPORAL_ADDRESS points');
    // Temporal in its own namespace, or sharing cedille-workflows (temporal-network/ applied there).
    for (const where of [temporalNamespace, ns]) {
      assert.ok(selects(frontend.spec.podSelector, temporalPod(where, 'frontend').labels));
      assert.ok(!selects(frontend.spec.podSelector, temporalPod(where, 'history').labels));
      for (const w of workloads) assert.ok(admits(frontend, where, w.pod, Number(port)), `${w.name} reaches the frontend (Temporal in ${where})`);
      assert.deepEqual(workloads.map((w) => w.name).sort(), ['api', 'temporal-setup', 'worker']);
      for (const c of ['history', 'matching', 'worker', 'web', 'admintools']) assert.ok(admits(frontend, where, temporalPod(where, c), 6933), `Temporal ${c}`);
      assert.ok(!admits(frontend, where, pod('worker'), 6933), 'the Cédille worker only on the gRPC port');
      assert.ok(!admits(frontend, where, { namespace: ns, labels: { 'app.kubernetes.io/name': 'something-else' } }, Number(port)), 'another pod of cedille-workflows');
      assert.ok(!admits(frontend, where, student(pod('worker').labels), Number(port)), 'a student pod labelled as the worker');
      assert.ok(!admits(frontend, where, student(temporalPod(where, 'history').labels), Number(port)), 'a student pod labelled as Temporal');
    }
  });

  it('keeps history and matching to Temporal, and the UI to Contour', () => {
    const services = policy(temporalDocs, 'temporal-services');
    const web = policy(temporalDocs, 'temporal-web');
    for (const c of ['history', 'matching', 'worker']) {
      assert.ok(selects(services.spec.podSelector, temporalPod('temporal', c).labels), c);
      assert.ok(admits(services, 'temporal', temporalPod('temporal', 'frontend'), 7234));
      assert.ok(!admits(services, 'temporal', pod('worker'), 7234), `the Cédille worker cannot call ${c} directly`);
    }
    assert.ok(!selects(services.spec.podSelector, temporalPod('temporal', 'frontend').labels));
    assert.ok(admits(web, 'temporal', contour, 8080));
    assert.ok(!admits(web, 'temporal', student({}), 8080));
  });
});

describe('infra/k8s/temporal-setup.sh', () => {
  it('creates a namespace with the search attributes on a real server, and is idempotent', async () => {
    const address = process.env.TEMPORAL_ADDRESS!;
    assert.ok(address, 'TEMPORAL_ADDRESS comes from test/run.ts');
    const namespace = `setup-${randomUUID().slice(0, 8)}`;
    const env = { ...process.env, PATH: `${dirname(await ensureTemporalCli())}${delimiter}${process.env.PATH}`, TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: namespace };
    const script = join(repo, 'infra/k8s/temporal-setup.sh');
    for (let run = 0; run < 2; run++) {
      const { stdout } = await promisify(execFile)('sh', [script], { env, timeout: 120_000 });
      assert.match(stdout, new RegExp(`namespace ${namespace} ready`));
    }
    const connection = await Connection.connect({ address });
    try {
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
      for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) {
        const expected = `INDEXED_VALUE_TYPE_${type.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()}`;
        assert.equal(customAttributes?.[name], IndexedValueType[expected as keyof typeof IndexedValueType], name);
      }
    } finally {
      await connection.close();
    }
  });
});

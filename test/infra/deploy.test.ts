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

// CommonJS: under ESM its namespace is the default export.
const { IndexedValueType } = proto.temporal.api.enums.v1;
const repo = join(import.meta.dirname, '..', '..');
const read = (path: string) => readFileSync(join(repo, path), 'utf8');

/** Every `env.NAME` / `process.env.NAME` the application code reads. */
function envNamesReadByCode(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(repo, dir))) {
      const path = join(dir, entry);
      if (statSync(join(repo, path)).isDirectory()) walk(path);
      else if (path.endsWith('.ts')) for (const m of read(path).matchAll(/\benv\.([A-Z][A-Z0-9_]*)/g)) names.add(m[1]!);
    }
  };
  for (const dir of ['activities', 'api', 'infra', 'worker', 'workflows']) walk(dir);
  return names;
}

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
    assert.ok(services.temporal!.ports!.includes('7233:7233'));
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
    assert.ok(api.ports!.includes(`${api.environment!.API_PORT}:${api.environment!.API_PORT}`));
  });

  it('gives the worker and the API the same codec keys, from the cedille-codec-keys secret file', () => {
    const secrets = (parse(read('docker-compose.yml')) as { secrets?: Record<string, { file?: string }> }).secrets ?? {};
    assert.ok(secrets['cedille-codec-keys']?.file, 'a top-level cedille-codec-keys secret read from a file');
    for (const name of ['worker', 'api']) {
      assert.deepEqual(services[name]!.secrets, ['cedille-codec-keys'], name);
      assert.equal(services[name]!.environment!.CEDILLE_CODEC_KEYS, '/run/secrets/cedille-codec-keys', name);
    }
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
    const readByCode = envNamesReadByCode();
    const keys = config.literals!.map((l) => l.split('=')[0]!);
    for (const key of keys) assert.ok(readByCode.has(key), `ConfigMap sets ${key}, which no code reads`);
    assert.ok(keys.includes('TEMPORAL_ADDRESS'));
    for (const workload of [...byKind('Deployment'), ...byKind('Job')]) {
      for (const container of workload.spec.template.spec.containers) {
        assert.deepEqual(container.envFrom, [{ configMapRef: { name: config.name } }], `${workload.metadata.name}`);
      }
    }
    const api = byKind('Deployment').find((d) => d.metadata.name === 'api').spec.template.spec.containers[0];
    assert.equal(api.livenessProbe.httpGet.path, '/healthz');
    assert.equal(api.readinessProbe.httpGet.path, '/readyz');
    assert.equal(String(api.ports[0].containerPort), config.literals!.find((l) => l.startsWith('API_PORT='))!.split('=')[1]);
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

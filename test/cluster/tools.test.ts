// Resolution of the local cluster's binaries (infra/tools/kubernetes/): env overrides win, a missing
// override is an error, the pinned builds are found by their marker without running Go, and go.mod
// agrees with versions.ts. No network, no build: fakes in temp dirs.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  ensureClusterTools,
  KUBE_TOOLS_MODULE_DIR,
  kubeVersionLdflags,
  pinnedKubeDir,
  pinnedKwokDir,
  TOOL_ENV,
} from '../../infra/tools/kubernetes/index.ts';
import { TOOL_VERSIONS } from '../../infra/tools/versions.ts';
import { needsCluster } from '../../infra/cluster/test-files.ts';

const tmp = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));

function fakeBinaries(): Record<string, string> {
  const dir = tmp('cedille-kube-fakes-');
  const env: Record<string, string> = {};
  for (const [name, variable] of Object.entries(TOOL_ENV)) {
    const file = join(dir, name);
    writeFileSync(file, '#!/bin/sh\n', { mode: 0o755 });
    env[variable] = file;
  }
  return env;
}

/** A cache where the pinned builds look complete (marker files), so nothing is built. */
function warmCache(): string {
  const cache = tmp('cedille-cache-');
  for (const dir of [pinnedKubeDir({ CEDILLE_CACHE_DIR: cache }), pinnedKwokDir({ CEDILLE_CACHE_DIR: cache })]) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, '.installed'), 'test\n');
  }
  return cache;
}

describe('ensureClusterTools', () => {
  it('every override wins; no Go needed', async () => {
    const overrides = fakeBinaries();
    const tools = await ensureClusterTools({ ...overrides, PATH: '', CEDILLE_CACHE_DIR: tmp('cedille-cache-') });
    for (const [name, variable] of Object.entries(TOOL_ENV)) assert.equal(tools[name as keyof typeof tools], overrides[variable]);
  });

  it('an override that does not exist is an error, not a fallback', async () => {
    const env = { ...fakeBinaries(), KUBE_APISERVER_PATH: join(tmpdir(), 'no-such-kube-apiserver'), CEDILLE_CACHE_DIR: warmCache() };
    await assert.rejects(ensureClusterTools(env), /KUBE_APISERVER_PATH=.*does not exist/);
  });

  it('uses the pinned builds once built, mixed with overrides, without running Go', async () => {
    const cache = warmCache();
    const { ETCD_PATH } = fakeBinaries();
    const tools = await ensureClusterTools({ PATH: '', ETCD_PATH, CEDILLE_CACHE_DIR: cache });
    const kube = pinnedKubeDir({ CEDILLE_CACHE_DIR: cache });
    assert.equal(tools.etcd, ETCD_PATH);
    assert.equal(tools['kube-apiserver'], join(kube, 'kube-apiserver'));
    assert.equal(tools['kube-scheduler'], join(kube, 'kube-scheduler'));
    assert.equal(tools.kwok, join(pinnedKwokDir({ CEDILLE_CACHE_DIR: cache }), 'kwok'));
  });

  it('names the pinned builds by version, under CEDILLE_CACHE_DIR', () => {
    const cache = tmp('cedille-cache-');
    assert.match(pinnedKubeDir({ CEDILLE_CACHE_DIR: cache }), new RegExp(`^${join(cache, 'tools')}/kubernetes-${TOOL_VERSIONS.kubernetes}-[0-9a-f]{10}$`));
    assert.equal(pinnedKwokDir({ CEDILLE_CACHE_DIR: cache }), join(cache, 'tools', `kwok-${TOOL_VERSIONS.kwok}`));
  });

  it('without Go or overrides, says what is missing', async () => {
    await assert.rejects(ensureClusterTools({ PATH: '', CEDILLE_CACHE_DIR: tmp('cedille-cache-') }), /needs Go >= 1\.25.*KUBE_APISERVER_PATH/);
  });
});

describe('infra/tools/kubernetes/go.mod', () => {
  const gomod = readFileSync(join(KUBE_TOOLS_MODULE_DIR, 'go.mod'), 'utf8');

  it('requires the Kubernetes and etcd versions of versions.ts', () => {
    assert.match(gomod, new RegExp(`\\n\\s*k8s\\.io/kubernetes v${TOOL_VERSIONS.kubernetes.replaceAll('.', '\\.')}\\n`));
    assert.match(gomod, new RegExp(`\\n\\s*go\\.etcd\\.io/etcd/server/v3 v${TOOL_VERSIONS.etcd.replaceAll('.', '\\.')}\\n`));
  });

  it('replaces every staging module with its published v0.<minor>.<patch>', () => {
    const staging = `v0.${TOOL_VERSIONS.kubernetes.split('.').slice(1).join('.')}`;
    const replaces = [...gomod.matchAll(/^\s*(k8s\.io\/[a-z-]+) => (\S+) (\S+)$/gm)];
    assert.ok(replaces.length >= 25, `only ${replaces.length} replace lines`);
    for (const [, from, to, version] of replaces) {
      assert.equal(to, from);
      assert.equal(version, staging, from);
    }
    for (const needed of ['k8s.io/api', 'k8s.io/apimachinery', 'k8s.io/apiserver', 'k8s.io/client-go', 'k8s.io/component-base', 'k8s.io/kube-aggregator']) {
      assert.ok(replaces.some(([, from]) => from === needed), needed);
    }
  });

  it('stamps the version the binaries report', () => {
    assert.match(kubeVersionLdflags('1.35.4'), /-X k8s\.io\/component-base\/version\.gitVersion=v1\.35\.4 /);
    assert.match(kubeVersionLdflags('1.35.4'), /gitMajor=1 .*gitMinor=35 /);
  });
});

describe('needsCluster', () => {
  it('selects the Kubernetes test files', () => {
    for (const f of ['test/cluster/a.test.ts', 'test/kubernetes/apply.test.ts', 'test/workspaces/x.test.ts', 'test/api/runs.k8s.test.ts']) {
      assert.ok(needsCluster(f), f);
    }
    for (const f of ['test/api/runs.test.ts', 'test/infra/tools.test.ts', 'test/k8s/x.test.ts']) assert.ok(!needsCluster(f), f);
  });
});

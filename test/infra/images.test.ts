// The images can do the work: each Dockerfile installs every binary its code spawns (derived from the
// source by infra/images/spawned-binaries.ts), kubectl at the tests' Kubernetes version with its checksum
// checked, on a pinned LTS Node base, with production dependencies only, and the app as a non-root user.
// No Docker engine here: the Dockerfiles are read, not built.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { activityFiles } from '../../activities/catalog.ts';
import { aptInstalls, nodeBaseProblem, npmInstalls, providedPrograms, runsAs, stages } from '../../infra/images/dockerfile.ts';
import { spawnedBinaries } from '../../infra/images/spawned-binaries.ts';
import { TOOL_VERSIONS } from '../../infra/tools/versions.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

interface Image {
  dockerfile: string;
  entries: string[];
  /** Why the image may run as root, when it does. */
  rootBecause?: string;
}

const IMAGES: Image[] = [
  { dockerfile: 'Dockerfile', entries: ['worker/main.ts', 'api/main.ts', ...activityFiles()] },
  {
    dockerfile: 'backup-agent/Dockerfile',
    entries: ['backup-agent/main.ts'],
    rootBecause: 'reads every file of the volume whatever its owner (docs/BACKUP-AGENT.md); read-only root filesystem',
  },
];

/** Every rule an image breaks; empty when it holds. */
function imageProblems(dockerfileText: string, entries: string[], scanRoot: string, rootBecause?: string): string[] {
  const scan = spawnedBinaries(scanRoot, entries);
  const all = stages(dockerfileText);
  const problems = [...scan.problems];
  const provided = providedPrograms(all);
  for (const [binary, modules] of scan.binaries) {
    const found = provided.filter((p) => p.program === binary);
    if (!found.length) problems.push(`${binary} (spawned by ${modules.join(', ')}) is not installed by the final stage`);
  }
  for (const p of provided.filter((x) => x.program === 'kubectl')) {
    if (p.version !== TOOL_VERSIONS.kubernetes) problems.push(`kubectl ${p.version} from ${p.source}: the tests use ${TOOL_VERSIONS.kubernetes}`);
    if (!p.checksumVerified) problems.push(`kubectl from ${p.source}: no sha256sum --check of the official kubectl.sha256`);
  }
  for (const stage of all) {
    const base = nodeBaseProblem(stage.from);
    if (base) problems.push(`FROM ${base}`);
    for (const pkg of aptInstalls(stage)) if (pkg.version === null) problems.push(`apt package ${pkg.name} is not pinned (name=version)`);
  }
  for (const cmd of npmInstalls(all)) {
    if (/(?:^|\s)npm\s+(\S+)/.exec(cmd)?.[1] !== 'ci' || !/--omit=dev\b/.test(cmd)) problems.push(`"${cmd}": not \`npm ci --omit=dev\` (production dependencies only)`);
  }
  if (!npmInstalls(all).length) problems.push('no `npm ci --omit=dev`');
  const user = runsAs(all);
  if ((user === 'root' || user === '0') && !rootBecause) problems.push('the final stage runs as root');
  return problems;
}

describe('image Dockerfiles', () => {
  for (const image of IMAGES) {
    it(`${image.dockerfile} installs what its code spawns, pinned, production-only`, () => {
      const text = readFileSync(join(root, image.dockerfile), 'utf8');
      assert.deepEqual(imageProblems(text, image.entries, root, image.rootBecause), []);
    });
  }

  it('the app image spawns git, ssh (through git) and kubectl, from the activities that declare them', () => {
    const scan = spawnedBinaries(root, IMAGES[0]!.entries);
    assert.deepEqual(Object.fromEntries(scan.binaries), {
      git: ['activities/git/_repo.ts'],
      ssh: ['activities/git/_repo.ts'],
      kubectl: ['activities/gitops/_kubectl.ts'],
    });
    assert.ok(scan.modules.includes('activities/gitops/checkRender.ts'), 'the catalog activities are scanned');
    assert.ok(!scan.modules.some((m) => m.startsWith('infra/tools/') && !/(paths|versions|atomic-file|kubernetes\/pinned)\.ts$/.test(m)), `no tool bootstrap in the image's code: ${scan.modules.filter((m) => m.startsWith('infra/tools/')).join(', ')}`);
  });

  it('the backup agent spawns nothing', () => {
    const scan = spawnedBinaries(root, IMAGES[1]!.entries);
    assert.deepEqual([...scan.binaries.keys()], []);
    assert.deepEqual(scan.problems, []);
  });
});

describe('spawned-binary scan', () => {
  function project(files: Record<string, string>): string {
    const dir = mkdtempSync(join(tmpdir(), 'cedille-spawn-scan-'));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  }

  it('refuses a spawn of a binary its module does not declare, reached through an import', () => {
    const dir = project({
      'main.ts': "import { render } from './helm.ts';\nrender();\n",
      'helm.ts': "import { execFile } from 'node:child_process';\nexport const SPAWNED_BINARIES = ['kubectl'] as const;\nexport function render() { execFile('helm', ['template']); return 'kubectl'; }\n",
    });
    const scan = spawnedBinaries(dir, ['main.ts']);
    assert.deepEqual(scan.problems, ['helm.ts:3: execFile runs "helm", not in its SPAWNED_BINARIES']);
  });

  it('refuses a module that spawns without declaring, shells, and declarations naming nothing', () => {
    const dir = project({
      'main.ts': "import './a.ts';\nimport './b.ts';\nimport './c.ts';\n",
      'a.ts': "import * as cp from 'node:child_process';\ncp.spawn('tar', ['-c']);\n",
      'b.ts': "import { exec, spawn } from 'node:child_process';\nexport const SPAWNED_BINARIES = ['git'] as const;\nexec('git status');\nspawn('git', [], { shell: true });\n",
      'c.ts': "import { spawn as run } from 'child_process';\nexport const SPAWNED_BINARIES = ['helm'] as const;\nexport const go = (bin: string) => run(bin, []);\n",
    });
    const problems = spawnedBinaries(dir, ['main.ts']).problems;
    assert.deepEqual(problems.sort(), [
      'a.ts: imports child_process but does not export SPAWNED_BINARIES',
      'b.ts:3: exec runs a shell; use execFile or spawn with a declared binary',
      'b.ts:4: spawn with a shell option; spawn the declared binary directly',
      'c.ts: declares "helm" in SPAWNED_BINARIES but never names it',
    ]);
  });
});

describe('Dockerfile rules', () => {
  const app = IMAGES[0]!;
  const good = readFileSync(join(root, app.dockerfile), 'utf8');

  it('catch a missing binary, another kubectl version, an unpinned or odd Node, dev dependencies and root', () => {
    const broken = good
      .replace(/^ARG KUBECTL_VERSION=.*$/m, 'ARG KUBECTL_VERSION=1.34.0')
      .replace(/git=\S+/, '')
      .replace(/^ARG NODE_IMAGE=.*$/m, 'ARG NODE_IMAGE=node:21.7.3-bookworm-slim')
      .replace(/--omit=dev/, '')
      .replace(/^USER .*$/m, '');
    const problems = imageProblems(broken, app.entries, root);
    for (const expected of [/^git \(spawned by activities\/git\/_repo.ts\) is not installed/, /^kubectl 1\.34\.0 .*the tests use 1\.35\.4/, /Node 21 is not a maintained LTS/, /not `npm ci --omit=dev`/, /runs as root/]) {
      assert.ok(problems.some((p) => expected.test(p)), `${expected} among ${JSON.stringify(problems, null, 1)}`);
    }
  });

  it('catch an unpinned apt package, a kubectl without checksum and a node base without a version', () => {
    const broken = good.replace(/openssh-client=\S+/, 'openssh-client').replace(/sha256sum --check/, 'true').replace(/^ARG NODE_IMAGE=.*$/m, 'ARG NODE_IMAGE=node:20-slim');
    const problems = imageProblems(broken, app.entries, root);
    for (const expected of [/apt package openssh-client is not pinned/, /no sha256sum --check/, /node:20-slim: not node:<major>/]) {
      assert.ok(problems.some((p) => expected.test(p)), `${expected} among ${JSON.stringify(problems, null, 1)}`);
    }
  });
});

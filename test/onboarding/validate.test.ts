// gitops.validateApp: every problem names its field; a name collision with the GitOps repository
// (folder or argo-apps entry) is refused before anything is written; the repository is one of the
// worker's configuration (CEDILLE_GITOPS_CONFIG), chosen by name, never a URL or path of the input.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ApplicationFailure } from '@temporalio/common';
import { GitOpsConfig, PLATFORM_REPO_URL } from '../../activities/gitops/_config.ts';
import { configuredRepositories } from '../../activities/gitops/_repositories.ts';
import { parseImage, parseQuantity, requestProblems, AppRequest, type Problem } from '../../activities/gitops/_request.ts';
import validateActivity from '../../activities/gitops/validateApp.ts';
import { callActivity } from '../activities/_support.ts';
import { gitSettings, scratchDir, seedRemote } from '../support/git.ts';
import { SAMPLE_REQUEST } from './_app-request.ts';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'gitops');
const config = GitOpsConfig.parse({});
process.env.CEDILLE_GIT_WORKDIR = gitSettings('validate').workdir;
const GITHUB = 'ClubCedille/Plateforme-Cedille';

/** The worker's GitOps configuration file (CEDILLE_GITOPS_CONFIG) with this content. */
function configure(content: Record<string, unknown>): void {
  const file = join(scratchDir('gitops-config'), 'gitops.json');
  writeFileSync(file, JSON.stringify(content));
  process.env.CEDILLE_GITOPS_CONFIG = file;
}

/** `path` configured as the default repository (owner/name on GitHub: GITHUB), `more` as named ones. */
function useRepository(path: string, more: Record<string, string> = {}): void {
  configure({ repository: path, github: GITHUB, repositories: Object.fromEntries(Object.entries(more).map(([name, p]) => [name, { repository: p, github: `ClubCedille/${name}` }])) });
}

function problems(over: Record<string, unknown>): Problem[] {
  return requestProblems(AppRequest.parse({ ...SAMPLE_REQUEST, ...over }), config);
}
function fields(over: Record<string, unknown>): string[] {
  return problems(over).map((p) => p.field);
}

async function refusal(input: unknown): Promise<ApplicationFailure & { problems: Problem[] }> {
  const err = await callActivity(validateActivity, input).then(
    (out) => assert.fail(`expected a refusal, got ${JSON.stringify(out)}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ApplicationFailure, String(err));
  assert.equal(err.type, 'InvalidAppRequest');
  assert.equal(err.nonRetryable, true);
  return Object.assign(err, { problems: (err.details?.[0] ?? []) as Problem[] });
}

describe('app request format', () => {
  it('accepts the sample request', () => assert.deepEqual(problems({}), []));

  it('names: DNS-1123 labels, app at most 50 characters, reserved names', () => {
    assert.deepEqual(fields({ app: 'Robotique' }), ['app']);
    assert.deepEqual(fields({ app: 'robotique_site' }), ['app']);
    assert.deepEqual(fields({ app: '-site' }), ['app']);
    assert.deepEqual(fields({ app: 'a'.repeat(51) }), ['app']);
    assert.deepEqual(fields({ app: 'argo-apps' }), ['app']);
    assert.deepEqual(fields({ club: 'Club Robotique' }), ['club']);
  });

  it('image: the reference grammar, with a pinned tag or digest', () => {
    for (const bad of ['ghcr.io/Upper/case:1', 'ghcr.io/x/y:', 'ghcr.io//y:1', 'nginx', 'nginx:latest', 'x:-tag', 'ghcr.io/x/y@sha256:short']) {
      assert.deepEqual(fields({ image: bad }), ['image'], bad);
    }
    for (const good of ['nginx:1.27', 'localhost:5000/a/b_c:v1.0-rc.1', 'ghcr.io/clubcedille/site@sha256:' + 'a'.repeat(64), 'nginx:latest@sha256:' + 'b'.repeat(64)]) {
      assert.deepEqual(fields({ image: good }), [], good);
    }
    assert.deepEqual(parseImage('ghcr.io/a/b:1.2'), { name: 'ghcr.io/a/b', tag: '1.2' });
  });

  it('hostnames: valid, under the allowed domains, not reused, per active environment', () => {
    assert.deepEqual(fields({ hostnames: { staging: ['staging.robotique.cedille.club'], prod: ['robotique.example.com'] } }), ['hostnames.prod[0]']);
    assert.deepEqual(fields({ hostnames: { staging: ['*.cedille.club'], prod: ['robotique.cedille.club'] } }), ['hostnames.staging[0]']);
    assert.deepEqual(fields({ hostnames: { staging: ['cedille.club'], prod: ['robotique.cedille.club'] } }), ['hostnames.staging[0]'], 'the apex itself is not an app hostname');
    assert.deepEqual(fields({ hostnames: { staging: ['evilcedille.club'], prod: ['robotique.cedille.club'] } }), ['hostnames.staging[0]']);
    assert.deepEqual(fields({ hostnames: { staging: ['a.cedille.club'], prod: ['a.cedille.club'] } }), ['hostnames.prod[0]']);
    assert.deepEqual(fields({ hostnames: { prod: ['robotique.cedille.club'] } }), ['hostnames.staging']);
    assert.deepEqual(fields({ environments: ['prod'] }), ['hostnames.staging'], 'hostnames for an environment not requested');
    assert.deepEqual(fields({ environments: ['prod', 'dev'] }), ['environments[1]', 'hostnames.staging']);
    assert.deepEqual(requestProblems(AppRequest.parse({ ...SAMPLE_REQUEST, hostnames: { staging: ['s.clubs.etsmtl.ca'], prod: ['p.clubs.etsmtl.ca'] } }), config, ['clubs.etsmtl.ca']), []);
  });

  it('port, replicas, resources (quantities, requests <= limits, maximums), contacts', () => {
    assert.deepEqual(fields({ port: 70000 }), ['port']);
    assert.deepEqual(fields({ replicas: { prod: 50 } }), ['replicas.prod']);
    const res = (r: unknown) => fields({ resources: { staging: r } });
    assert.deepEqual(res({ requests: { cpu: 'lots' } }), ['resources.staging.requests.cpu']);
    assert.deepEqual(res({ limits: { memory: '512MB' } }), ['resources.staging.limits.memory']);
    assert.deepEqual(res({ requests: { memory: '1Gi' }, limits: { memory: '512Mi' } }), ['resources.staging.requests.memory']);
    assert.deepEqual(res({ limits: { cpu: '64' } }), ['resources.staging.limits.cpu']);
    assert.deepEqual(res({ requests: { cpu: '0' } }), ['resources.staging.requests.cpu']);
    assert.deepEqual(res({ requests: { cpu: '250m', memory: '0.5Gi' }, limits: { cpu: '1', memory: '1Gi' } }), []);
    assert.equal(parseQuantity('1.5Gi'), 1.5 * 2 ** 30);
    assert.deepEqual(fields({ contacts: [] }), ['contacts']);
    assert.deepEqual(fields({ contacts: [{ name: 'A', email: 'not-an-email' }] }), ['contacts[0].email']);
  });

  it('reports every problem at once', () => {
    assert.deepEqual(fields({ app: 'Bad', image: 'nginx', port: 0 }), ['app', 'image', 'port']);
  });
});

describe('gitops.validateApp against the GitOps repository', () => {
  it('accepts a new app and returns the base to branch from', async () => {
    const remote = await seedRemote({ fromDir: FIXTURE });
    useRepository(remote.path);
    const out = (await callActivity(validateActivity, SAMPLE_REQUEST)) as { defaultBranch: string; baseCommit: string; repository: string; github: string; repoURL: string };
    assert.equal(out.defaultBranch, 'main');
    assert.equal(out.baseCommit, await remote.head('main'));
    assert.deepEqual([out.repository, out.github, out.repoURL], [remote.path, GITHUB, PLATFORM_REPO_URL], 'the configured repository');
  });

  it('refuses a name collision (existing folder, or an entry in argo-apps) naming the field, before anything is written', async () => {
    const remote = await seedRemote({ fromDir: FIXTURE });
    useRepository(remote.path);
    const before = { head: await remote.head('main'), branches: await remote.branches() };

    const folder = await refusal({ ...SAMPLE_REQUEST, app: 'cedille-site' });
    assert.deepEqual(folder.problems.map((p) => p.field), ['app', 'app']);
    assert.match(folder.message, /app: an app named "cedille-site" already exists \(apps\/cedille-site\//);
    const entry = await refusal({ ...SAMPLE_REQUEST, app: 'grafana-dashboards' });
    assert.deepEqual(entry.problems, [{ field: 'app', message: '"grafana-dashboards" is already listed in apps/argo-apps/kustomization.yaml' }]);
    // A prefix of an existing app is not a collision.
    await callActivity(validateActivity, { ...SAMPLE_REQUEST, app: 'cedille' });

    assert.deepEqual({ head: await remote.head('main'), branches: await remote.branches() }, before, 'nothing written');
  });

  it('refuses a hostname another app already serves', async () => {
    const remote = await seedRemote({ fromDir: FIXTURE });
    useRepository(remote.path);
    const taken = await refusal({ ...SAMPLE_REQUEST, hostnames: { staging: ['www.staging.cedille.club'], prod: ['robotique.cedille.club'] } });
    assert.deepEqual(taken.problems, [{ field: 'hostnames.staging[0]', message: '"www.staging.cedille.club" is already served by apps/cedille-site/staging/ingress.yaml' }]);
  });

  it('reports format problems and the collision together; refuses a repository without apps/argo-apps', async () => {
    const remote = await seedRemote({ fromDir: FIXTURE });
    useRepository(remote.path);
    const both = await refusal({ ...SAMPLE_REQUEST, app: 'cedille-site', image: 'nginx:latest' });
    assert.deepEqual(both.problems.map((p) => p.field).sort(), ['app', 'app', 'image']);
    const empty = await seedRemote({ files: { 'README.md': 'x\n' } });
    useRepository(empty.path);
    const notPlatform = await refusal(SAMPLE_REQUEST);
    assert.deepEqual(notPlatform.problems.map((p) => p.field), ['repository']);
  });

  it('the repository is a configured one chosen by name; a URL, a path or an unknown name is a problem of field repository', async () => {
    const platform = await seedRemote({ fromDir: FIXTURE });
    const sandbox = await seedRemote({ fromDir: FIXTURE });
    useRepository(platform.path, { sandbox: sandbox.path });
    const chosen = (await callActivity(validateActivity, { ...SAMPLE_REQUEST, repository: 'sandbox' })) as { repositoryName: string; repository: string; github: string; baseCommit: string };
    assert.deepEqual([chosen.repositoryName, chosen.repository, chosen.github, chosen.baseCommit], ['sandbox', sandbox.path, 'ClubCedille/sandbox', await sandbox.head('main')]);
    const byDefault = (await callActivity(validateActivity, { ...SAMPLE_REQUEST, repository: 'default' })) as { repository: string };
    assert.equal(byDefault.repository, platform.path);

    for (const repository of [sandbox.path, sandbox.url, 'https://github.com/mallory/Plateforme-Cedille.git', 'elsewhere']) {
      const refused = await refusal({ ...SAMPLE_REQUEST, repository });
      assert.deepEqual(refused.problems.map((p) => p.field), ['repository'], repository);
      assert.match(refused.message, /is not a configured GitOps repository: give the name of one \(default, sandbox\)/);
    }
    const both = await refusal({ ...SAMPLE_REQUEST, image: 'nginx', repository: 'elsewhere' });
    assert.deepEqual(both.problems.map((p) => p.field), ['image', 'repository'], 'reported with the other problems');
  });

  it('the worker configuration: none is GitOpsNotConfigured; the GitHub repository is configured or read from a github.com remote', async () => {
    const notConfigured = async (message: RegExp) => {
      const err = await callActivity(validateActivity, SAMPLE_REQUEST).then(
        (out) => assert.fail(`expected a failure, got ${JSON.stringify(out)}`),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ApplicationFailure && err.type === 'GitOpsNotConfigured' && err.nonRetryable, String(err));
      assert.match(err.message, message);
    };
    const saved = process.env.CEDILLE_GITOPS_REPOSITORY;
    delete process.env.CEDILLE_GITOPS_REPOSITORY;
    try {
      configure({});
      await notConfigured(/no GitOps repository configured on the worker: set `repository` in the file named by CEDILLE_GITOPS_CONFIG/);
      configure({ repository: (await seedRemote({ fromDir: FIXTURE })).path });
      await notConfigured(/has no GitHub repository for the pull request: set its `github: owner\/name`/);
    } finally {
      if (saved !== undefined) process.env.CEDILLE_GITOPS_REPOSITORY = saved;
    }
    const derived = configuredRepositories(GitOpsConfig.parse({ repository: 'https://github.com/ClubCedille/Plateforme-Cedille.git', repositories: { other: { repository: 'https://git.example.org/x/y.git' } } }));
    assert.deepEqual(derived.get('default'), { name: 'default', repository: 'https://github.com/ClubCedille/Plateforme-Cedille.git', repoURL: 'https://github.com/ClubCedille/Plateforme-Cedille', github: GITHUB });
    assert.equal(derived.get('other')?.github, undefined, 'not a github.com remote: github must be configured');
    assert.throws(() => GitOpsConfig.parse({ repositories: { 'Not A Name': { repository: '/x' } } }), /DNS-1123/);
    assert.throws(() => GitOpsConfig.parse({ repositories: { default: { repository: '/x' } } }), /top-level/);
  });
});

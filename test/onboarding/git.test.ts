// git.commitFiles / readFiles / diff against real bare repositories on disk (test/support/git.ts):
// branch creation, idempotent re-runs, deletions, structured edits that keep the rest of the file,
// concurrent writers (separate clones, so pushes really race and get rejected), an unreachable remote.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { commitFiles, CommitFilesInput } from '../../activities/git/_commit.ts';
import { applyEdit } from '../../activities/git/_edits.ts';
import commitFilesActivity from '../../activities/git/commitFiles.ts';
import diffActivity from '../../activities/git/diff.ts';
import readFilesActivity from '../../activities/git/readFiles.ts';
import { callActivity } from '../activities/_support.ts';
import { git, gitSettings, seedRemote, serveGitHttp } from '../support/git.ts';

const ARGO_APPS = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization

resources:
  # System
  - ../../system/crossplane/
  - ../../system/grafana/
  # Workload
  - ../samples/kustomize-example-app/ # Exemple
`;

const input = (over: Partial<CommitFilesInput> & Pick<CommitFilesInput, 'repository'>): CommitFilesInput =>
  CommitFilesInput.parse({ branch: 'main', message: 'test commit', ...over });

async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    (out) => assert.fail(`expected a failure, got ${JSON.stringify(out)}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
  return err;
}

describe('git.commitFiles', { timeout: 120_000 }, () => {
  it('creates a branch from the default branch, then re-running it makes no new commit', async () => {
    const remote = await seedRemote({ files: { 'README.md': 'hello\n', 'apps/argo-apps/kustomization.yaml': ARGO_APPS } });
    const settings = gitSettings('a');
    const req = input({ repository: remote.path, branch: 'onboard/app-1', files: { 'apps/app-1/kustomization.yaml': 'resources: []\n' }, message: 'Onboard app-1' });
    const first = await commitFiles(req, { settings });
    assert.equal(first.created, true);
    assert.equal(first.changed, true);
    assert.equal(await remote.head('onboard/app-1'), first.commit);
    assert.equal(await remote.readFile('apps/app-1/kustomization.yaml', 'onboard/app-1'), 'resources: []\n');
    assert.equal(await remote.readFile('README.md', 'onboard/app-1'), 'hello\n', 'the base content is kept');
    const [head] = await remote.log('onboard/app-1');
    assert.equal(head!.subject, 'Onboard app-1');
    assert.equal(head!.author, 'Cédille Workflows (test) <workflows@test.invalid>');
    assert.equal(await remote.head('main'), (await remote.log('main'))[0]!.commit, 'main untouched');
    assert.equal((await remote.log('main')).length, 1);

    const again = await commitFiles(req, { settings });
    assert.deepEqual({ ...again, attempts: 1 }, { commit: first.commit, branch: 'onboard/app-1', changed: false, created: false, attempts: 1 });
    // A fresh clone (another worker after a crash) sees the same thing.
    const other = await commitFiles(req, { settings: gitSettings('b') });
    assert.equal(other.changed, false);
    assert.equal((await remote.log('onboard/app-1')).length, 2);
  });

  it('deletes files (null), takes the given author, and commits through the activity with a file:// URL', async () => {
    const remote = await seedRemote({ files: { 'a.txt': 'a\n', 'b/c.txt': 'c\n' } });
    const out = (await callActivity(commitFilesActivity, {
      repository: remote.url,
      branch: 'main',
      files: { 'a.txt': null, 'b/d.txt': 'd\n', 'missing.txt': null },
      message: 'Delete a',
      author: { name: 'Édith', email: 'edith@example.test' },
    })) as { changed: boolean; created: boolean };
    assert.equal(out.changed, true);
    assert.equal(out.created, false);
    assert.deepEqual(Object.keys(await remote.files('main')).sort(), ['b/c.txt', 'b/d.txt']);
    assert.equal((await remote.log('main'))[0]!.author, 'Édith <edith@example.test>');
  });

  it('applies a kustomization edit on the tip, keeping the rest of the file byte for byte; idempotent', async () => {
    const remote = await seedRemote({ files: { 'apps/argo-apps/kustomization.yaml': ARGO_APPS } });
    const settings = gitSettings('edit');
    const edit = { kind: 'kustomizationAddResource', path: 'apps/argo-apps/kustomization.yaml', resource: '../club-site/' } as const;
    const first = await commitFiles(input({ repository: remote.path, edits: [edit] }), { settings });
    assert.equal(first.changed, true);
    const text = await remote.readFile('apps/argo-apps/kustomization.yaml');
    assert.equal(text, `${ARGO_APPS}  - ../club-site/\n`);
    const second = await commitFiles(input({ repository: remote.path, edits: [{ ...edit, resource: '../club-site' }] }), { settings });
    assert.equal(second.changed, false, 'an equivalent entry is already there');
    assert.equal(second.commit, first.commit);
  });

  for (const n of [2, 10]) {
    it(`${n} concurrent writers with edits on the same file, each with its own clone: every entry lands`, async () => {
      const remote = await seedRemote({ files: { 'apps/argo-apps/kustomization.yaml': ARGO_APPS } });
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          commitFiles(
            input({
              repository: remote.path,
              files: { [`apps/app-${i}/kustomization.yaml`]: `# app ${i}\n` },
              edits: [{ kind: 'kustomizationAddResource', path: 'apps/argo-apps/kustomization.yaml', resource: `../app-${i}/` }],
              message: `Onboard app-${i}`,
            }),
            { settings: gitSettings(`w${n}-${i}`) },
          ),
        ),
      );
      const text = (await remote.readFile('apps/argo-apps/kustomization.yaml'))!;
      assert.ok(text.startsWith(ARGO_APPS), 'the existing content is untouched');
      const added = text.slice(ARGO_APPS.length).split('\n').filter(Boolean).sort();
      assert.deepEqual(added, Array.from({ length: n }, (_, i) => `  - ../app-${i}/`).sort());
      const files = await remote.files('main', 'apps');
      for (let i = 0; i < n; i++) assert.equal(files[`apps/app-${i}/kustomization.yaml`], `# app ${i}\n`);
      assert.equal((await remote.log('main')).length, n + 1, 'one commit per writer');
      assert.ok(results.every((r) => r.changed));
      if (n === 10) assert.ok(results.some((r) => r.attempts > 1), 'some pushes were rejected and rebuilt on the new tip');
    });
  }

  it('two pull request branches adding their argo-apps line: the second, rebased after the first merged, merges cleanly', async () => {
    const remote = await seedRemote({ files: { 'apps/argo-apps/kustomization.yaml': ARGO_APPS } });
    const settings = gitSettings('rebase');
    const change = (app: string) =>
      input({
        repository: remote.path,
        branch: `onboard/${app}`,
        files: { [`apps/${app}/kustomization.yaml`]: `# ${app}\n` },
        edits: [{ kind: 'kustomizationAddResource', path: 'apps/argo-apps/kustomization.yaml', resource: `../${app}/` }],
        message: `Onboard ${app}`,
      });
    await Promise.all([commitFiles(change('a'), { settings }), commitFiles(change('b'), { settings })]);
    // Merge a (a fast-forward of main).
    await git(['update-ref', 'refs/heads/main', (await remote.head('onboard/a'))!], remote.path);
    // b, forked from the old main, now conflicts on the same line...
    await assert.rejects(git(['merge-tree', '--write-tree', 'main', 'onboard/b'], remote.path), /CONFLICT/);
    // ...until rebuilt on the new main: one commit on top of it, both lines present.
    const rebased = await commitFiles({ ...change('b'), rebase: true }, { settings });
    assert.equal(rebased.changed, true);
    const log = await remote.log('onboard/b');
    assert.deepEqual(log.map((c) => c.subject), ['Onboard b', 'Onboard a', 'Seed']);
    assert.equal(log[1]!.commit, await remote.head('main'));
    const text = (await remote.readFile('apps/argo-apps/kustomization.yaml', 'onboard/b'))!;
    assert.equal(text, `${ARGO_APPS}  - ../a/\n  - ../b/\n`);
    await git(['merge-tree', '--write-tree', 'main', 'onboard/b'], remote.path);
    const again = await commitFiles({ ...change('b'), rebase: true }, { settings });
    assert.deepEqual([again.changed, again.commit], [false, rebased.commit], 'already on the tip of main');
  });

  it('concurrent writers sharing one clone (one worker) are serialized and all land', async () => {
    const remote = await seedRemote({ files: { 'apps/argo-apps/kustomization.yaml': ARGO_APPS } });
    const settings = gitSettings('shared');
    await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        commitFiles(input({ repository: remote.path, edits: [{ kind: 'kustomizationAddResource', path: 'apps/argo-apps/kustomization.yaml', resource: `../s-${i}/` }] }), { settings }),
      ),
    );
    const text = (await remote.readFile('apps/argo-apps/kustomization.yaml'))!;
    for (let i = 0; i < 5; i++) assert.ok(text.includes(`  - ../s-${i}/\n`));
  });

  it('refuses what cannot work without retrying: unknown base branch, bad path, edit of a missing file', async () => {
    const remote = await seedRemote({ files: { 'a.txt': 'a\n' } });
    const settings = gitSettings('refuse');
    const noBase = await failure(commitFiles(input({ repository: remote.path, branch: 'x', base: 'nope', files: { 'b.txt': 'b' } }), { settings }));
    assert.equal(noBase.type, 'GitRefNotFound');
    assert.equal(noBase.nonRetryable, true);
    assert.match(noBase.message, /nope/);
    const badPath = await failure(Promise.resolve().then(() => commitFiles(input({ repository: remote.path, files: { '../escape': 'x' } }), { settings })));
    assert.equal(badPath.type, 'GitInvalidInput');
    const noFile = await failure(commitFiles(input({ repository: remote.path, edits: [{ kind: 'kustomizationAddResource', path: 'k.yaml', resource: 'x' }] }), { settings }));
    assert.equal(noFile.type, 'GitEditFailed');
    assert.match(noFile.message, /k\.yaml/);
    assert.equal((await remote.log('main')).length, 1, 'nothing was committed');
  });

  it('recovers from a worker killed mid-operation: stale clone lock (dead pid), stale ref lock inside the clone', async () => {
    const remote = await seedRemote({ files: { 'a.txt': 'a\n' } });
    const settings = gitSettings('stale');
    await commitFiles(input({ repository: remote.path, files: { 'b.txt': 'b\n' } }), { settings });
    const [clone] = readdirSync(settings.workdir).filter((f) => f.endsWith('.git'));
    writeFileSync(join(settings.workdir, `${clone}.lock`), '999999\n'); // no such process
    writeFileSync(join(settings.workdir, clone!, 'refs', 'remotes', 'origin', 'main.lock'), '');
    await commitFiles(input({ repository: remote.path, branch: 'other', files: { 'x.txt': 'x\n' } }), { settings: gitSettings('mover') });
    await commitFiles(input({ repository: remote.path, files: { 'c.txt': 'c\n' } }), { settings: gitSettings('mover2') });
    const out = await commitFiles(input({ repository: remote.path, files: { 'd.txt': 'd\n' } }), { settings });
    assert.equal(out.changed, true);
    assert.deepEqual(Object.keys(await remote.files('main')).sort(), ['a.txt', 'b.txt', 'c.txt', 'd.txt']);
  });

  it('a remote that is temporarily missing fails retryably, then the retry succeeds', async () => {
    const remote = await seedRemote({ files: { 'a.txt': 'a\n' } });
    const settings = gitSettings('missing');
    await commitFiles(input({ repository: remote.path, files: { 'b.txt': 'b\n' } }), { settings }); // the clone is cached
    renameSync(remote.path, `${remote.path}.away`);
    const err = await failure(commitFiles(input({ repository: remote.path, files: { 'c.txt': 'c\n' } }), { settings }));
    assert.equal(err.type, 'GitRemoteUnavailable');
    assert.equal(err.nonRetryable, false);
    renameSync(`${remote.path}.away`, remote.path);
    const ok = await commitFiles(input({ repository: remote.path, files: { 'c.txt': 'c\n' } }), { settings });
    assert.equal(ok.changed, true);
    assert.equal(await remote.readFile('c.txt'), 'c\n');
  });
});

describe('structured edits', { timeout: 120_000 }, () => {
  it('yamlSet keeps comments and creates files; appendLine is idempotent; removing from a missing file leaves it absent', () => {
    const values = '# Vault values\nserver:\n  ha:\n    enabled: false # single node\n';
    const set = applyEdit({ kind: 'yamlSet', path: 'v.yaml', key: ['server', 'ha', 'replicas'], value: 3 }, values)!;
    assert.equal(set, '# Vault values\nserver:\n  ha:\n    enabled: false # single node\n    replicas: 3\n');
    assert.equal(applyEdit({ kind: 'yamlSet', path: 'v.yaml', key: ['server', 'ha', 'replicas'], value: 3 }, set), set);
    assert.equal(applyEdit({ kind: 'yamlSet', path: 'n.yaml', key: ['a'], value: { b: [1] } }, undefined), 'a:\n  b:\n    - 1\n');
    assert.equal(applyEdit({ kind: 'appendLine', path: 'CODEOWNERS', line: '/apps/x/ @club' }, '* @sre'), '* @sre\n/apps/x/ @club\n');
    assert.equal(applyEdit({ kind: 'appendLine', path: 'CODEOWNERS', line: '* @sre' }, '* @sre\n'), '* @sre\n');
    assert.equal(applyEdit({ kind: 'kustomizationRemoveResource', path: 'k.yaml', resource: 'x' }, undefined), undefined);
    assert.throws(() => applyEdit({ kind: 'yamlSet', path: 'bad.yaml', key: ['a'], value: 1 }, 'a: [\n'), /bad\.yaml/);
  });
});

describe('git over HTTP with a token', { timeout: 120_000 }, () => {
  it('sends the worker-configured token as a header (never in the URL or the clone config); a wrong token is not retried', async () => {
    const remote = await seedRemote({ files: { 'apps/argo-apps/kustomization.yaml': ARGO_APPS } });
    const token = 'ghs_secretToken123';
    const server = await serveGitHttp(dirname(remote.path), { token });
    try {
      const url = server.url(basename(remote.path));
      const settings = { ...gitSettings('http'), token, tokenHosts: ['127.0.0.1'] };
      const out = await commitFiles(input({ repository: url, branch: 'onboard/x', files: { 'x.txt': 'x\n' } }), { settings });
      assert.equal(out.created, true);
      assert.equal(await remote.readFile('x.txt', 'onboard/x'), 'x\n');
      assert.ok(server.requests.some((r) => r.method === 'POST' && r.path.endsWith('/git-receive-pack') && r.authorized), 'pushed over HTTP');
      for (const clone of readdirSync(settings.workdir).filter((f) => f.endsWith('.git'))) {
        assert.ok(!readFileSync(join(settings.workdir, clone, 'config'), 'utf8').includes(token), 'no token in the clone');
      }

      const wrong = await failure(commitFiles(input({ repository: url, files: { 'y.txt': 'y' } }), { settings: { ...gitSettings('http-wrong'), token: 'nope', tokenHosts: ['127.0.0.1'] } }));
      assert.equal(wrong.type, 'GitAuthFailed');
      assert.equal(wrong.nonRetryable, true);
      assert.ok(!wrong.message.includes(token) && !wrong.message.includes('nope'), wrong.message);
      // A remote on a host the token is not for does not receive it (here: the request is unauthenticated).
      const before = server.requests.length;
      const elsewhere = await failure(commitFiles(input({ repository: url, files: { 'y.txt': 'y' } }), { settings: { ...gitSettings('http-other'), token, tokenHosts: ['github.com'] } }));
      assert.equal(elsewhere.type, 'GitAuthFailed');
      assert.ok(server.requests.slice(before).every((r) => !r.authorized), 'no request carried the token');
      const withCredentials = await failure(Promise.resolve().then(() => commitFiles(input({ repository: url.replace('http://', 'http://u:p@'), files: { 'y.txt': 'y' } }), { settings })));
      assert.equal(withCredentials.type, 'GitInvalidInput');
    } finally {
      await server.close();
    }
  });
});

describe('git.readFiles and git.diff', { timeout: 120_000 }, () => {
  it('reads paths and prefixes at a ref; diffs a branch against main like a pull request', async () => {
    const remote = await seedRemote({ files: { 'apps/argo-apps/kustomization.yaml': ARGO_APPS, 'apps/old/base/deployment.yaml': 'old\n', 'README.md': 'r\n' } });
    process.env.CEDILLE_GIT_WORKDIR = gitSettings('activities').workdir;
    await callActivity(commitFilesActivity, {
      repository: remote.path,
      branch: 'onboard/new',
      files: { 'apps/new/kustomization.yaml': 'resources:\n  - argo.yaml\n', 'apps/old/base/deployment.yaml': null },
      edits: [{ kind: 'kustomizationAddResource', path: 'apps/argo-apps/kustomization.yaml', resource: '../new/' }],
      message: 'Onboard new',
    });
    // main moves on after the branch forked: the diff still shows only the branch's changes
    await callActivity(commitFilesActivity, { repository: remote.path, branch: 'main', files: { 'README.md': 'r2\n' }, message: 'Readme' });

    const read = (await callActivity(readFilesActivity, { repository: remote.path, ref: 'onboard/new', prefix: 'apps/new', paths: ['README.md', 'nope.txt'] })) as {
      files: Record<string, string>;
      missing: string[];
      commit: string;
    };
    assert.deepEqual(read.files, { 'README.md': 'r\n', 'apps/new/kustomization.yaml': 'resources:\n  - argo.yaml\n' });
    assert.deepEqual(read.missing, ['nope.txt']);
    const main = (await callActivity(readFilesActivity, { repository: remote.path, paths: ['README.md'] })) as { files: Record<string, string> };
    assert.equal(main.files['README.md'], 'r2\n', 'default branch by default');

    const diff = (await callActivity(diffActivity, { repository: remote.path, base: 'main', head: 'onboard/new' })) as {
      diff: string;
      files: { path: string; status: string }[];
    };
    assert.deepEqual(diff.files, [
      { path: 'apps/argo-apps/kustomization.yaml', status: 'modified' },
      { path: 'apps/new/kustomization.yaml', status: 'added' },
      { path: 'apps/old/base/deployment.yaml', status: 'deleted' },
    ]);
    assert.match(diff.diff, /^\+ {2}- \.\.\/new\/$/m);
    assert.doesNotMatch(diff.diff, /README/);

    const missing = await failure(callActivity(readFilesActivity, { repository: remote.path, ref: 'nope' }));
    assert.equal(missing.type, 'GitRefNotFound');
    delete process.env.CEDILLE_GIT_WORKDIR;
  });
});

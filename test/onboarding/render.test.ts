// gitops.renderApp: the rendered tree against golden files (UPDATE_GOLDEN=1 rewrites them), and the
// apps/argo-apps/kustomization.yaml edit keeping every other byte of the platform's file.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ApplicationFailure } from '@temporalio/common';
import fc from 'fast-check';
import { parseAllDocuments } from 'yaml';
import { GitOpsConfig } from '../../activities/gitops/_config.ts';
import { addArgoAppEntry, addKustomizationResource, kustomizationResources, removeKustomizationResource } from '../../activities/gitops/_kustomization.ts';
import { renderApp } from '../../activities/gitops/_render.ts';
import { AppRequest } from '../../activities/gitops/_request.ts';
import renderActivity from '../../activities/gitops/renderApp.ts';
import { callActivity } from '../activities/_support.ts';
import { SAMPLE_REQUEST } from './_app-request.ts';

const here = dirname(fileURLToPath(import.meta.url));
const GOLDEN = join(here, 'golden');
const FIXTURE = join(here, '..', 'fixtures', 'gitops');

const CASES: Record<string, unknown> = {
  'robotique-site': SAMPLE_REQUEST,
  'prod-only': {
    club: 'photo',
    app: 'photo-gallery',
    image: 'registry.example.org:5000/photo/gallery@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    port: 80,
    environments: ['prod'],
    hostnames: { prod: ['photo.cedille.club'] },
    contacts: [{ name: 'Bob' }],
  },
};

function readTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p).split('\\').join('/')] = readFileSync(p, 'utf8');
    }
  };
  walk(dir);
  return out;
}

const config = GitOpsConfig.parse({});

describe('gitops.renderApp', () => {
  for (const [name, raw] of Object.entries(CASES)) {
    it(`renders the golden tree ${name}`, () => {
      const rendered = renderApp(AppRequest.parse(raw), config);
      const dir = join(GOLDEN, name);
      if (process.env.UPDATE_GOLDEN === '1') {
        rmSync(dir, { recursive: true, force: true });
        for (const [p, text] of Object.entries(rendered.files)) {
          mkdirSync(dirname(join(dir, p)), { recursive: true });
          writeFileSync(join(dir, p), text);
        }
      }
      assert.deepEqual(rendered.files, readTree(dir), `rendered tree differs from ${relative(process.cwd(), dir)} (UPDATE_GOLDEN=1 to rewrite)`);
      // Every file parses; every document is a Kubernetes object or a Kustomization.
      for (const [p, text] of Object.entries(rendered.files)) {
        for (const doc of parseAllDocuments(text) as { errors: unknown[]; toJS(): { apiVersion?: string; kind?: string } }[]) {
          assert.deepEqual(doc.errors, [], p);
          assert.ok(doc.toJS().apiVersion && doc.toJS().kind, `${p} has apiVersion and kind`);
        }
      }
      assert.deepEqual(renderApp(AppRequest.parse(raw), config), rendered, 'deterministic');
    });
  }

  it('describes the layout: app path, environments in rollout order, one Application per environment, the argo-apps edit', () => {
    const r = renderApp(AppRequest.parse({ ...SAMPLE_REQUEST, environments: ['prod', 'staging'] }), config);
    assert.equal(r.appPath, 'apps/robotique-site');
    assert.deepEqual(r.environments, ['staging', 'prod']);
    assert.deepEqual(r.applications, [
      { name: 'robotique-site-staging', environment: 'staging', path: 'apps/robotique-site/staging', namespace: 'robotique-site-staging' },
      { name: 'robotique-site-prod', environment: 'prod', path: 'apps/robotique-site/prod', namespace: 'robotique-site-prod' },
    ]);
    assert.deepEqual(r.edits, [{ kind: 'kustomizationAddResource', path: 'apps/argo-apps/kustomization.yaml', resource: '../robotique-site/' }]);
    assert.deepEqual(Object.keys(r.files), [
      'apps/robotique-site/argo.yaml',
      'apps/robotique-site/base/deployment.yaml',
      'apps/robotique-site/base/kustomization.yaml',
      'apps/robotique-site/base/network.yaml',
      'apps/robotique-site/kustomization.yaml',
      'apps/robotique-site/prod/ingress.yaml',
      'apps/robotique-site/prod/kustomization.yaml',
      'apps/robotique-site/prod/patch.yaml',
      'apps/robotique-site/staging/ingress.yaml',
      'apps/robotique-site/staging/kustomization.yaml',
      'apps/robotique-site/staging/patch.yaml',
    ]);
    const withRepo = renderApp(AppRequest.parse(SAMPLE_REQUEST), GitOpsConfig.parse({ repoURL: 'https://git.example.org/platform' }));
    assert.match(withRepo.files['apps/robotique-site/argo.yaml']!, /repoURL: https:\/\/git\.example\.org\/platform\n/);
  });

  it('the activity refuses an invalid request, naming the field', async () => {
    const err = await callActivity(renderActivity, { ...SAMPLE_REQUEST, app: 'Robotique_Site' }).then(
      () => assert.fail('expected a failure'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ApplicationFailure);
    assert.equal(err.type, 'InvalidAppRequest');
    assert.match(err.message, /app: "Robotique_Site" is not a DNS-1123 label/);
  });
});

describe('apps/argo-apps/kustomization.yaml entry', () => {
  const original = readFileSync(join(FIXTURE, 'apps/argo-apps/kustomization.yaml'), 'utf8');
  const last = '  - ../grafana-dashboards/\n';

  it('is added after the last entry; every other byte of the file is unchanged', () => {
    const out = addArgoAppEntry(original, 'robotique-site');
    const at = original.indexOf(last) + last.length;
    assert.equal(out.slice(0, at), original.slice(0, at), 'the part before the new line is byte-identical');
    assert.equal(out.slice(at, at + '  - ../robotique-site/\n'.length), '  - ../robotique-site/\n');
    assert.equal(out.slice(at + '  - ../robotique-site/\n'.length), original.slice(at), 'the part after (comments) is byte-identical');
    assert.deepEqual(kustomizationResources(out).at(-1), '../robotique-site/');
  });

  it('is idempotent (equivalent spellings included) and removable', () => {
    const once = addKustomizationResource(original, '../robotique-site/');
    assert.equal(addKustomizationResource(once, '../robotique-site'), once);
    assert.equal(addKustomizationResource(original, '../cedille-site'), original, 'already listed');
    assert.equal(addKustomizationResource(original, '../../system/vault'), original, 'quoted entries compare by value');
    assert.equal(removeKustomizationResource(once, '../robotique-site/'), original);
    assert.equal(removeKustomizationResource(original, '../nope/'), original);
  });

  it('keeps a trailing comment of the last entry and follows its indentation', () => {
    const text = 'kind: Kustomization\nresources:\n- a/ # first\n- b/ # second\nnamespace: x\n';
    assert.equal(addKustomizationResource(text, 'c/'), 'kind: Kustomization\nresources:\n- a/ # first\n- b/ # second\n- c/\nnamespace: x\n');
    assert.equal(addKustomizationResource('resources:\n  - a/', 'b/'), 'resources:\n  - a/\n  - b/\n', 'no final newline');
  });

  it('property: any block list layout keeps every other byte and ends with the new entry', () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/);
    const comment = fc.option(fc.stringMatching(/^[A-Za-z0-9 ]{1,20}$/), { nil: undefined });
    fc.assert(
      fc.property(
        fc.uniqueArray(name, { minLength: 1, maxLength: 8 }),
        fc.array(comment, { minLength: 8, maxLength: 8 }),
        fc.constantFrom('', '  ', '    '),
        fc.boolean(),
        fc.constantFrom('', '\n# trailing comment\n', 'namespace: x\n', '\npatches:\n  - path: p.yaml\n'),
        name,
        (items, comments, indent, quote, tail, added) => {
          fc.pre(!items.includes(added));
          const lines = items.map((it, i) => `${indent}- ${quote ? `"../${it}/"` : `../${it}/`}${comments[i] ? ` # ${comments[i]}` : ''}\n`);
          const head = `# head\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n${indent}# first\n`;
          const text = head + lines.join('') + tail;
          const out = addKustomizationResource(text, `../${added}/`);
          const inserted = `${indent}- ../${added}/\n`;
          const at = head.length + lines.join('').length;
          assert.equal(out, text.slice(0, at) + inserted + text.slice(at));
          assert.deepEqual(kustomizationResources(out), [...items.map((i) => `../${i}/`), `../${added}/`]);
          assert.equal(addKustomizationResource(out, `../${added}`), out);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('falls back to the Document API for flow or missing lists (comments kept)', () => {
    assert.deepEqual(kustomizationResources(addKustomizationResource('# top\nkind: Kustomization\nresources: [a/, b/]\n', 'c/')), ['a/', 'b/', 'c/']);
    const missing = addKustomizationResource('# top\nkind: Kustomization\n', 'a/');
    assert.match(missing, /^# top\n/);
    assert.deepEqual(kustomizationResources(missing), ['a/']);
    assert.throws(() => addKustomizationResource('resources: [a\n', 'b/'), /not valid YAML/);
  });
});

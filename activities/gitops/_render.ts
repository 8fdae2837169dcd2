// The Kustomize tree of an app, laid out like the platform's own (seeds/004, section 5.2, "Déployer
// des applications"):
//
//   apps/<app>/kustomization.yaml      resources: [argo.yaml]
//   apps/<app>/argo.yaml               one ArgoCD Application per environment (<app>-<env>, namespace argocd,
//                                      sync-wave 2, destination namespace <app>-<env>, path apps/<app>/<env>,
//                                      CreateNamespace=true)
//   apps/<app>/base/{kustomization,network,deployment}.yaml     Service (network.yaml) and Deployment, label app=<app>
//   apps/<app>/<env>/{kustomization,ingress,patch}.yaml         ../base + Ingress (Contour, cert-manager) + replicas/resources patch
//   apps/argo-apps/kustomization.yaml  + "- ../<app>/" (an edit applied at commit time, not a file)
//
// Pure and deterministic: same request and config, same bytes (golden files in test/onboarding/golden/).
// The platform's example also has a dns.yaml (Crossplane RecordSet) per environment; DNS is not
// rendered here (see docs/GITOPS.md).
import { stringify } from 'yaml';
import { type Environment, type GitOpsConfig } from './_config.ts';
import { defaultRepoURL } from './_repositories.ts';
import { argoAppEntry } from './_kustomization.ts';
import { environmentsOf, type AppRequest, type ResourcesSpec } from './_request.ts';

export const ARGO_APPS_PATH = 'apps/argo-apps/kustomization.yaml';

export interface RenderedApp {
  files: Record<string, string>;
  appPath: string;
  environments: Environment[];
  applications: { name: string; environment: Environment; path: string; namespace: string }[];
  argoAppsPath: string;
  edits: { kind: 'kustomizationAddResource'; path: string; resource: string }[];
}

type Obj = Record<string, unknown>;

function yaml(...docs: Obj[]): string {
  return docs.map((d) => stringify(d, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}

/** A kustomization in the platform's style: blank lines between sections. */
function kustomization(resources: string[], patches: string[] = []): string {
  const lines = ['apiVersion: kustomize.config.k8s.io/v1beta1', 'kind: Kustomization', '', 'resources:', ...resources.map((r) => `  - ${r}`)];
  if (patches.length) lines.push('', 'patches:', ...patches.map((p) => `  - path: ${p}`));
  return `${lines.join('\n')}\n`;
}

/** A container's resources block from a spec (only the quantities given). */
function resources(spec: ResourcesSpec): Obj {
  const out: Obj = {};
  for (const kind of ['requests', 'limits'] as const) {
    const q = spec[kind];
    const block = { ...(q?.cpu !== undefined ? { cpu: q.cpu } : {}), ...(q?.memory !== undefined ? { memory: q.memory } : {}) };
    if (Object.keys(block).length) out[kind] = block;
  }
  return out;
}

function contactsText(req: AppRequest): string {
  return req.contacts.map((c) => [c.name, c.email ? `<${c.email}>` : '', c.github ? `(@${c.github})` : ''].filter(Boolean).join(' ')).join(', ');
}

export function renderApp(req: AppRequest, config: GitOpsConfig, repoURL = config.repoURL ?? defaultRepoURL(config.repository)): RenderedApp {
  const app = req.app;
  const appPath = `apps/${app}`;
  const environments = environmentsOf(req);
  const selector = { app };
  const files: Record<string, string> = {};

  files[`${appPath}/base/kustomization.yaml`] = kustomization(['network.yaml', 'deployment.yaml']);
  files[`${appPath}/base/network.yaml`] = yaml({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: app, labels: { app } },
    spec: { selector, ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] },
  });
  files[`${appPath}/base/deployment.yaml`] = yaml({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: app, labels: { app, 'cedille.club/club': req.club } },
    spec: {
      replicas: 1,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: { app, 'cedille.club/club': req.club } },
        spec: {
          containers: [
            {
              name: app,
              image: req.image,
              ports: [{ name: 'http', containerPort: req.port, protocol: 'TCP' }],
              resources: resources(config.defaults.resources),
            },
          ],
        },
      },
    },
  });

  const applications: RenderedApp['applications'] = [];
  const argo: Obj[] = [];
  for (const env of environments) {
    const dir = `${appPath}/${env}`;
    const hosts = req.hostnames[env] ?? [];
    files[`${dir}/kustomization.yaml`] = kustomization(['../base', 'ingress.yaml'], ['patch.yaml']);
    files[`${dir}/ingress.yaml`] = yaml({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: {
        name: app,
        labels: { app },
        annotations: { 'cert-manager.io/cluster-issuer': config.ingress.clusterIssuer, 'ingress.kubernetes.io/force-ssl-redirect': 'true' },
      },
      spec: {
        ingressClassName: config.ingress.className,
        tls: [{ hosts, secretName: `${app}-tls` }],
        rules: hosts.map((host) => ({ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: app, port: { name: 'http' } } } }] } })),
      },
    });
    files[`${dir}/patch.yaml`] = yaml({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: app },
      spec: {
        replicas: req.replicas[env] ?? config.defaults.replicas[env],
        template: { spec: { containers: [{ name: app, resources: resources(req.resources[env] ?? config.defaults.resources) }] } },
      },
    });
    const name = `${app}-${env}`;
    const namespace = `${app}-${env}`;
    applications.push({ name, environment: env, path: dir, namespace });
    argo.push({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: {
        name,
        namespace: config.argocd.namespace,
        labels: { 'cedille.club/club': req.club, 'cedille.club/app': app, 'cedille.club/environment': env },
        annotations: { 'argocd.argoproj.io/sync-wave': config.argocd.syncWave, 'cedille.club/contacts': contactsText(req) },
      },
      spec: {
        project: config.argocd.project,
        destination: { server: config.argocd.server, namespace },
        source: { repoURL, path: dir, targetRevision: 'HEAD' },
        syncPolicy: {
          ...(config.argocd.automated ? { automated: { prune: true, selfHeal: true } } : {}),
          syncOptions: ['CreateNamespace=true'],
        },
      },
    });
  }
  // The platform's argo.yaml lists prod first, then staging.
  files[`${appPath}/argo.yaml`] = yaml(...[...argo].reverse());
  files[`${appPath}/kustomization.yaml`] = kustomization(['argo.yaml']);

  const sorted = Object.fromEntries(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1)));
  return {
    files: sorted,
    appPath,
    environments,
    applications,
    argoAppsPath: ARGO_APPS_PATH,
    edits: [{ kind: 'kustomizationAddResource', path: ARGO_APPS_PATH, resource: argoAppEntry(app) }],
  };
}

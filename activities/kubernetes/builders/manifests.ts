// Typed builders of the manifests a student workspace needs. Pure functions returning plain
// objects ready for kubernetes.apply (server-side apply: only the fields we set are ours).
import { MANAGED_BY, ownerLabels, type Owner } from './labels.ts';

export type Labels = Record<string, string>;

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Labels; annotations?: Record<string, string> };
  [key: string]: unknown;
}

export interface Resources {
  requests: { cpu: string; memory: string };
  limits: { cpu: string; memory: string };
}

const withLabels = (labels?: Labels) => ({ ...MANAGED_BY, ...labels });

export function namespace(p: Owner & { name: string; labels?: Labels; annotations?: Record<string, string> }): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: p.name, labels: { ...ownerLabels(p), ...p.labels }, ...(p.annotations ? { annotations: p.annotations } : {}) },
  };
}

export function resourceQuota(p: { namespace: string; name?: string; hard: Record<string, string>; labels?: Labels }): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'ResourceQuota',
    metadata: { name: p.name ?? 'workspace-quota', namespace: p.namespace, labels: withLabels(p.labels) },
    spec: { hard: p.hard },
  };
}

/** Quota for one workspace: its limits, one PVC of `storage`, a few pods (rollouts need two). */
export function workspaceQuota(p: { namespace: string; resources: Resources; storage: string; labels?: Labels }): Manifest {
  return resourceQuota({
    namespace: p.namespace,
    labels: p.labels,
    hard: {
      'requests.cpu': p.resources.requests.cpu,
      'requests.memory': p.resources.requests.memory,
      'limits.cpu': p.resources.limits.cpu,
      'limits.memory': p.resources.limits.memory,
      'requests.storage': p.storage,
      persistentvolumeclaims: '1',
      pods: '4',
      'services.loadbalancers': '0',
      'services.nodeports': '0',
    },
  });
}

export function limitRange(p: { namespace: string; name?: string; defaults: Resources; max?: { cpu: string; memory: string }; labels?: Labels }): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'LimitRange',
    metadata: { name: p.name ?? 'workspace-limits', namespace: p.namespace, labels: withLabels(p.labels) },
    spec: {
      limits: [
        {
          type: 'Container',
          default: p.defaults.limits,
          defaultRequest: p.defaults.requests,
          ...(p.max ? { max: p.max } : {}),
        },
      ],
    },
  };
}

/**
 * Destinations a workspace never reaches, whatever the worker configuration adds: link-local
 * addresses, among them the cloud metadata service (169.254.169.254) that hands out node credentials.
 */
export const WORKSPACE_EGRESS_ALWAYS_EXCEPT = ['169.254.169.254/32', '169.254.0.0/16'] as const;

/**
 * The default cluster-internal ranges excluded from a workspace's Internet egress: the RFC 1918
 * private ranges, which hold the Cédille cluster's pod and service CIDRs and its node addresses.
 */
export const WORKSPACE_EGRESS_DEFAULT_EXCEPT = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] as const;

/** Where a workspace resolves names: the cluster DNS pods (CoreDNS keeps the `k8s-app: kube-dns` label). */
export const KUBE_DNS_PEER = {
  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
  podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
} as const;

/**
 * Ingress only from the same namespace and from the ingress controller's namespace (so no other
 * student's namespace reaches the workspace). Egress: the namespace's own pods, DNS to kube-dns,
 * and the IPv4 Internet except `egressExcept` (cluster pod/service ranges, node addresses) and the
 * link-local range (cloud metadata), so a student's code cannot call the API server, the Temporal
 * frontend, Vault or any other in-cluster service. IPv6 egress is not allowed.
 */
export function networkPolicy(p: { namespace: string; name?: string; ingressControllerNamespace: string; egressExcept?: readonly string[]; labels?: Labels }): Manifest {
  const except = [...new Set([...(p.egressExcept ?? WORKSPACE_EGRESS_DEFAULT_EXCEPT), ...WORKSPACE_EGRESS_ALWAYS_EXCEPT])];
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: p.name ?? 'isolate-namespace', namespace: p.namespace, labels: withLabels(p.labels) },
    spec: {
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        {
          from: [{ podSelector: {} }, { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': p.ingressControllerNamespace } } }],
        },
      ],
      egress: [
        { to: [{ podSelector: {} }] },
        { to: [KUBE_DNS_PEER], ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] },
        { to: [{ ipBlock: { cidr: '0.0.0.0/0', except } }] },
      ],
    },
  };
}

export function persistentVolumeClaim(p: { namespace: string; name: string; size: string; storageClassName: string; accessModes?: string[]; labels?: Labels }): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: p.name, namespace: p.namespace, labels: withLabels(p.labels) },
    spec: { accessModes: p.accessModes ?? ['ReadWriteOnce'], storageClassName: p.storageClassName, resources: { requests: { storage: p.size } } },
  };
}

export interface WorkspaceDeployment {
  namespace: string;
  name: string;
  image: string;
  port: number;
  resources: Resources;
  /** PVC mounted at mountPath (default /home/coder). */
  pvcName: string;
  mountPath?: string;
  /** HTTP readiness probe path (default /). */
  readinessPath?: string;
  /** 1 (running) or 0 (suspended: the PVC stays). */
  replicas?: 0 | 1;
  env?: Record<string, string>;
  args?: string[];
  labels?: Labels;
}

/** Pod labels of a workspace: the Service selects on these. */
export const workspaceSelector = (name: string) => ({ 'app.kubernetes.io/name': 'workspace', 'app.kubernetes.io/instance': name });

export function deployment(p: WorkspaceDeployment): Manifest {
  const selector = workspaceSelector(p.name);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: p.name, namespace: p.namespace, labels: { ...withLabels(p.labels), ...selector } },
    spec: {
      replicas: p.replicas ?? 1,
      // One pod owns the ReadWriteOnce volume: stop the old pod before starting the new one.
      strategy: { type: 'Recreate' },
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: { ...p.labels, ...selector } },
        spec: {
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000 },
          containers: [
            {
              name: 'workspace',
              image: p.image,
              ...(p.args ? { args: p.args } : {}),
              ports: [{ name: 'http', containerPort: p.port, protocol: 'TCP' }],
              ...(p.env ? { env: Object.entries(p.env).map(([name, value]) => ({ name, value })) } : {}),
              resources: p.resources,
              readinessProbe: { httpGet: { path: p.readinessPath ?? '/', port: 'http' }, periodSeconds: 5, failureThreshold: 3 },
              volumeMounts: [{ name: 'home', mountPath: p.mountPath ?? '/home/coder' }],
              securityContext: { allowPrivilegeEscalation: false },
            },
          ],
          volumes: [{ name: 'home', persistentVolumeClaim: { claimName: p.pvcName } }],
        },
      },
    },
  };
}

/**
 * The workspace as a StatefulSet instead: one replica whose home volume comes from a volume claim
 * template (`home-<name>-0`, made by the StatefulSet controller and kept when it scales to zero).
 */
export function statefulSet(p: Omit<WorkspaceDeployment, 'pvcName'> & { serviceName: string; storage: { size: string; storageClassName: string } }): Manifest {
  const { spec, metadata } = deployment({ ...p, pvcName: 'home' }) as Manifest & { spec: { replicas: number; selector: unknown; template: { spec: { volumes?: unknown } & Record<string, unknown> } & Record<string, unknown> } };
  const { volumes: _fromPvc, ...podSpec } = spec.template.spec;
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata,
    spec: {
      replicas: spec.replicas,
      serviceName: p.serviceName,
      selector: spec.selector,
      template: { ...spec.template, spec: podSpec },
      volumeClaimTemplates: [
        {
          metadata: { name: 'home' },
          spec: { accessModes: ['ReadWriteOnce'], storageClassName: p.storage.storageClassName, resources: { requests: { storage: p.storage.size } } },
        },
      ],
      persistentVolumeClaimRetentionPolicy: { whenScaled: 'Retain', whenDeleted: 'Retain' },
    },
  };
}

export function service(p: { namespace: string; name: string; port: number; targetPort?: number | string; selector: Labels; labels?: Labels }): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: p.name, namespace: p.namespace, labels: withLabels(p.labels) },
    spec: { type: 'ClusterIP', selector: p.selector, ports: [{ name: 'http', port: p.port, targetPort: p.targetPort ?? 'http', protocol: 'TCP' }] },
  };
}

export interface IngressParams {
  namespace: string;
  name: string;
  host: string;
  serviceName: string;
  servicePort: number;
  /** cert-manager ClusterIssuer issuing the TLS certificate. */
  clusterIssuer: string;
  /** default `<name>-tls` */
  tlsSecretName?: string;
  /** default contour */
  ingressClassName?: string;
  /** Contour: upgrade these paths to websockets (code-server, Jupyter need it); default ['/']. */
  websocketRoutes?: string[];
  labels?: Labels;
}

export function ingress(p: IngressParams): Manifest {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name: p.name,
      namespace: p.namespace,
      labels: withLabels(p.labels),
      annotations: {
        'cert-manager.io/cluster-issuer': p.clusterIssuer,
        'ingress.kubernetes.io/force-ssl-redirect': 'true',
        'projectcontour.io/websocket-routes': (p.websocketRoutes ?? ['/']).join(','),
      },
    },
    spec: {
      ingressClassName: p.ingressClassName ?? 'contour',
      tls: [{ hosts: [p.host], secretName: p.tlsSecretName ?? `${p.name}-tls` }],
      rules: [
        {
          host: p.host,
          http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: p.serviceName, port: { number: p.servicePort } } } }] },
        },
      ],
    },
  };
}

export function roleBinding(p: {
  namespace: string;
  name?: string;
  subject: { kind: 'User' | 'Group' | 'ServiceAccount'; name: string; namespace?: string };
  clusterRole?: string;
  labels?: Labels;
}): Manifest {
  const subject =
    p.subject.kind === 'ServiceAccount'
      ? { kind: 'ServiceAccount', name: p.subject.name, namespace: p.subject.namespace ?? p.namespace }
      : { kind: p.subject.kind, name: p.subject.name, apiGroup: 'rbac.authorization.k8s.io' };
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: p.name ?? `${p.clusterRole ?? 'edit'}-owner`, namespace: p.namespace, labels: withLabels(p.labels) },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: p.clusterRole ?? 'edit' },
    subjects: [subject],
  };
}

// Every manifest of one student's workspace, in apply order (namespace first).
import { dnsLabel } from './dns-label.ts';
import { ownerLabels, workspaceNamespace, type Owner } from './labels.ts';
import {
  deployment,
  ingress,
  limitRange,
  namespace,
  networkPolicy,
  persistentVolumeClaim,
  roleBinding,
  service,
  workspaceQuota,
  workspaceSelector,
  type Manifest,
  type Resources,
} from './manifests.ts';

export interface WorkspaceParams extends Owner {
  image: string;
  port: number;
  resources: Resources;
  storage: { size: string; storageClassName: string };
  /** Workspaces are served at `<namespace>.<domain>`. */
  domain: string;
  clusterIssuer: string;
  ingressControllerNamespace: string;
  /** CIDRs excluded from the workspace's Internet egress (worker configuration; default: RFC 1918). */
  egressExcept?: readonly string[];
  /** The Kubernetes user (OIDC subject) given `edit` in the namespace. */
  user: string;
  /** Suspended workspaces run no pod (replicas 0); the PVC stays. */
  suspended?: boolean;
  readinessPath?: string;
  mountPath?: string;
}

export const WORKSPACE_NAME = 'workspace';

export function workspaceManifests(p: WorkspaceParams): Manifest[] {
  const ns = workspaceNamespace(p.course, p.student);
  const labels = ownerLabels(p);
  const name = WORKSPACE_NAME;
  const pvcName = `${name}-home`;
  return [
    namespace({ name: ns, course: p.course, student: p.student, term: p.term }),
    workspaceQuota({ namespace: ns, resources: p.resources, storage: p.storage.size, labels }),
    limitRange({ namespace: ns, defaults: p.resources, max: p.resources.limits, labels }),
    networkPolicy({ namespace: ns, ingressControllerNamespace: p.ingressControllerNamespace, ...(p.egressExcept ? { egressExcept: p.egressExcept } : {}), labels }),
    persistentVolumeClaim({ namespace: ns, name: pvcName, size: p.storage.size, storageClassName: p.storage.storageClassName, labels }),
    deployment({
      namespace: ns,
      name,
      image: p.image,
      port: p.port,
      resources: p.resources,
      pvcName,
      replicas: p.suspended ? 0 : 1,
      labels,
      ...(p.readinessPath ? { readinessPath: p.readinessPath } : {}),
      ...(p.mountPath ? { mountPath: p.mountPath } : {}),
    }),
    service({ namespace: ns, name, port: 80, selector: workspaceSelector(name), labels }),
    ingress({ namespace: ns, name, host: `${ns}.${p.domain}`, serviceName: name, servicePort: 80, clusterIssuer: p.clusterIssuer, labels }),
    roleBinding({ namespace: ns, name: dnsLabel('edit', p.user), subject: { kind: 'User', name: p.user }, labels }),
  ];
}

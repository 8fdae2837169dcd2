// The typed builders of Kubernetes manifests (a library for the activities and workflows' helpers).
export { dnsLabel, isDnsLabel, sanitize, shortHash, DNS_LABEL_MAX } from './dns-label.ts';
export { LABEL_COURSE, LABEL_STUDENT, LABEL_TERM, MANAGED_BY, ownerLabels, workspaceNamespace, type Owner } from './labels.ts';
export {
  deployment,
  ingress,
  limitRange,
  namespace,
  networkPolicy,
  persistentVolumeClaim,
  resourceQuota,
  roleBinding,
  service,
  statefulSet,
  workspaceQuota,
  workspaceSelector,
  KUBE_DNS_PEER,
  WORKSPACE_EGRESS_ALWAYS_EXCEPT,
  WORKSPACE_EGRESS_DEFAULT_EXCEPT,
  type IngressParams,
  type Labels,
  type Manifest,
  type Resources,
  type WorkspaceDeployment,
} from './manifests.ts';
export { workspaceManifests, WORKSPACE_NAME, type WorkspaceParams } from './workspace.ts';

// What a user was seen doing, from the local API server's audit log (infra/cluster/local-cluster.ts,
// `auditUsers`), in RBAC's own terms: verb, API group, resource[/subresource], and for the RBAC bindings
// it wrote, the roles they referred to (the `bind` verb a role needs to grant a role it does not hold).

/** One permission, written `verb group/resource` (`core` for the legacy group), e.g. `patch apps/deployments/scale`. */
export type Permission = string;

export function permission(verb: string, group: string, resource: string): Permission {
  return `${verb} ${group || 'core'}/${resource}`;
}

interface AuditEvent {
  stage?: string;
  verb: string;
  user?: { username?: string };
  objectRef?: { resource?: string; subresource?: string; apiGroup?: string; name?: string };
  requestObject?: { roleRef?: { kind?: string; name?: string } };
  responseStatus?: { code?: number };
}

/** The audit policy rules that record `users`: bodies only of RBAC bindings (their roleRef), metadata of the rest. */
export function auditPolicyRules(users: string[]): object[] {
  return [
    { level: 'Request', users, resources: [{ group: 'rbac.authorization.k8s.io', resources: ['rolebindings', 'clusterrolebindings'] }] },
    { level: 'Metadata', users },
    { level: 'None' },
  ];
}

/**
 * The permissions `user`'s requests used, sorted: every resource request (refused ones included: they
 * were asked for), `create` as well for a server-side apply (a patch) that created its object (201: the
 * API server authorizes it as a create too), plus `bind rbac.authorization.k8s.io/clusterroles/<name>` (or `roles/<name>`) for
 * each role a binding it wrote referred to. Non-resource requests (discovery) are left out: every
 * authenticated user may make them (system:discovery).
 */
export function permissionsUsed(auditLog: string, user: string): Permission[] {
  const used = new Set<Permission>();
  for (const line of auditLog.split('\n')) {
    if (!line.trim()) continue;
    const event = JSON.parse(line) as AuditEvent;
    if (event.user?.username !== user || !event.objectRef?.resource) continue;
    if (event.stage && event.stage !== 'ResponseComplete' && event.stage !== 'Panic') continue;
    const { resource, subresource, apiGroup = '' } = event.objectRef;
    const target = subresource ? `${resource}/${subresource}` : resource;
    used.add(permission(event.verb, apiGroup, target));
    if (event.verb === 'patch' && event.responseStatus?.code === 201) used.add(permission('create', apiGroup, target));
    const roleRef = event.requestObject?.roleRef;
    if (roleRef?.name && (resource === 'rolebindings' || resource === 'clusterrolebindings')) {
      used.add(permission('bind', 'rbac.authorization.k8s.io', `${roleRef.kind === 'Role' ? 'roles' : 'clusterroles'}/${roleRef.name}`));
    }
  }
  return [...used].sort();
}

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/**
 * What RBAC rules grant, one permission per verb × group × resource (× resource name for rules that
 * name them, written `resource/<name>`). Wildcards are kept as `*`, so a test sees them.
 */
export function permissionsGranted(rules: PolicyRule[]): Permission[] {
  const granted = new Set<Permission>();
  for (const rule of rules) {
    if (rule.nonResourceURLs?.length) {
      for (const verb of rule.verbs ?? []) for (const url of rule.nonResourceURLs) granted.add(`${verb} ${url}`);
      continue;
    }
    for (const verb of rule.verbs ?? []) {
      for (const group of rule.apiGroups ?? []) {
        for (const resource of rule.resources ?? []) {
          if (rule.resourceNames?.length) for (const name of rule.resourceNames) granted.add(permission(verb, group, `${resource}/${name}`));
          else granted.add(permission(verb, group, resource));
        }
      }
    }
  }
  return [...granted].sort();
}

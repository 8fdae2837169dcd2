// Who is calling: a stable subject (four-eyes and the audit trail compare it), roles, and the
// approver groups (`ets-it`, `sre`, ...) whose approval steps the caller may answer.
export type Role = 'admin' | 'operator';

export interface Identity {
  subject: string;
  name?: string;
  roles: Role[];
  groups: string[];
  via: 'token' | 'oidc';
}

/**
 * What a route requires, declared in its `config.access`:
 * - public: no credentials (health, docs, metrics, link-authenticated pages);
 * - read: any authenticated identity;
 * - approver: an identity in at least one approver group (the workflow checks which);
 * - operator: start, inspect, cancel, retry (admins too);
 * - admin: everything else.
 */
export type Access = 'public' | 'read' | 'approver' | 'operator' | 'admin';

export function allows(identity: Identity, access: Access): boolean {
  switch (access) {
    case 'public':
    case 'read':
      return true;
    case 'approver':
      return identity.groups.length > 0;
    case 'operator':
      return identity.roles.includes('operator') || identity.roles.includes('admin');
    case 'admin':
      return identity.roles.includes('admin');
  }
}

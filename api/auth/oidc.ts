// OIDC bearer JWTs checked against the issuer's JWKS (signature, issuer, audience, expiry), with
// roles and groups read from claims. Roles come from ONE claim: `roles` by default, or the one
// OIDC_ROLES_CLAIM names (Keycloak realm roles: `realm_access.roles`), so a role granted elsewhere in
// the token (a realm role when client roles are configured) never counts. Keycloak groups are paths
// (`/sre`); GitHub-style identities carry a `login`. Both are understood.
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { Identity, Role } from './identity.ts';

export interface OidcConfig {
  issuer: string;
  audience: string;
  /** Default: `<issuer>/.well-known/jwks.json` is NOT assumed; set it explicitly (Keycloak: .../protocol/openid-connect/certs). */
  jwksUrl: string;
  /** Dotted path of the roles claim (default `roles`; Keycloak realm roles: `realm_access.roles`). Only this claim counts. */
  rolesClaim?: string;
  groupsClaim?: string;
  /** Allowed clock skew in seconds (default 30). */
  clockToleranceSec?: number;
}

const ROLES: readonly Role[] = ['admin', 'operator'];

function strings(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  if (typeof value === 'string') return value.split(/[\s,]+/).filter(Boolean);
  return [];
}

function claim(payload: JWTPayload, path: string): unknown {
  return path.split('.').reduce<unknown>((obj, key) => (obj && typeof obj === 'object' ? (obj as Record<string, unknown>)[key] : undefined), payload);
}

export function identityFromClaims(payload: JWTPayload, cfg: Pick<OidcConfig, 'rolesClaim' | 'groupsClaim'>): Identity {
  if (!payload.sub) throw new Error('token has no sub claim');
  const roleNames = strings(claim(payload, cfg.rolesClaim ?? 'roles'));
  const groups = strings(claim(payload, cfg.groupsClaim ?? 'groups')).map((g) => g.replace(/^\//, ''));
  const name = [payload.preferred_username, payload.login, payload.name, payload.email].find((v): v is string => typeof v === 'string');
  return {
    subject: payload.sub,
    ...(name ? { name } : {}),
    roles: ROLES.filter((r) => roleNames.includes(r)),
    groups: [...new Set(groups)],
    via: 'oidc',
  };
}

export function oidcVerifier(cfg: OidcConfig): (bearer: string) => Promise<Identity> {
  const jwks = createRemoteJWKSet(new URL(cfg.jwksUrl));
  return async (bearer) => {
    const { payload } = await jwtVerify(bearer, jwks, {
      issuer: cfg.issuer,
      audience: cfg.audience,
      clockTolerance: cfg.clockToleranceSec ?? 30,
      requiredClaims: ['exp', 'sub'],
    });
    return identityFromClaims(payload, cfg);
  };
}

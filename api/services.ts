// What route plugins are given: configuration, Temporal, the definition registry, the database, the audit log.
import type { Client, Connection } from '@temporalio/client';
import type { DefinitionRegistry } from '../workflows/registry/index.ts';
import type { ApiConfig } from './config.ts';
import type { AuditLog } from './audit/log.ts';
import type { Database } from '../db/index.ts';
import type { Access } from './auth/identity.ts';

export interface ApiServices {
  config: ApiConfig;
  temporal: Connection;
  client: Client;
  registry: DefinitionRegistry;
  database: Database;
  audit: AuditLog;
}

export interface RoutesOptions {
  services: ApiServices;
}

/** Route config of a mutating route: its access level and the per-caller rate limit. */
export function mutating(services: ApiServices, access: Access) {
  return { access, rateLimit: { max: services.config.rateLimit.max, timeWindow: services.config.rateLimit.windowMs } };
}

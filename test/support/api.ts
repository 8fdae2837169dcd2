// An API instance for tests: the real Fastify app against the run's Temporal server, a private data
// dir and its database (embedded, DATABASE_URL of `env`, or one shared with another instance: a second
// replica), static tokens for every role, and (optionally) a worker on the API's task queue.
// CEDILLE_TEST_DATABASE=postgres gives each instance a new database of a real PostgreSQL instead of
// the embedded one (the API suites on the production backend).
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApi } from '../../api/app.ts';
import { openDatabase, type Database } from '../../db/index.ts';
import { testDatabase } from './postgres.ts';
import { apiConfigFromEnv, type ApiConfig } from '../../api/config.ts';
import type { StaticToken } from '../../api/auth/static-tokens.ts';
import { temporalTestEnv, type TemporalTestEnv } from './temporal.ts';
import type { CreateWorkerOptions } from '../../worker/worker.ts';
import { loadCatalog } from '../../activities/catalog.ts';
import { databaseDefinitionStore, DefinitionRegistry } from '../../workflows/registry/index.ts';
import { formatCompileError } from '../../workflows/compiler/index.ts';

/** One identity per role the API knows; `ada` and `grace` are two distinct SRE approvers. */
export const IDENTITIES = {
  admin: { subject: 'alice-admin', roles: ['admin'], groups: [] },
  operator: { subject: 'olivier-operator', roles: ['operator'], groups: [] },
  etsIt: { subject: 'edith-ets', roles: [], groups: ['ets-it'] },
  sre: { subject: 'ada-sre', roles: ['operator'], groups: ['sre'] },
  sre2: { subject: 'grace-sre', roles: [], groups: ['sre'] },
  nobody: { subject: 'nina-nobody', roles: [], groups: [] },
  /** One person in two approver groups (one identity, however they answer). */
  etsItSre: { subject: 'sam-ets-sre', roles: [], groups: ['ets-it', 'sre'] },
  /** Two admins who are also SRE approvers (who creates or triggers a schedule may not approve its runs). */
  adminSre: { subject: 'margaret-admin-sre', roles: ['admin'], groups: ['sre'] },
  adminSre2: { subject: 'barbara-admin-sre', roles: ['admin'], groups: ['sre'] },
} as const satisfies Record<string, Omit<StaticToken, 'token'>>;
export type Who = keyof typeof IDENTITIES;

export interface ApiTestEnv {
  app: FastifyInstance;
  config: ApiConfig;
  /** The API's database (closed by close() unless it was given). */
  database: Database;
  temporal: TemporalTestEnv;
  tokens: Record<Who, string>;
  /** `app.inject` as `who` (no Authorization header for `anonymous`). */
  as(who: Who | 'anonymous', opts: InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export async function apiTestEnv(opts: { worker?: Partial<CreateWorkerOptions> | false; env?: Record<string, string>; database?: Database } = {}): Promise<ApiTestEnv> {
  const temporal = await temporalTestEnv();
  const tokens = Object.fromEntries(Object.keys(IDENTITIES).map((who) => [who, `test_${who}_${randomBytes(24).toString('base64url')}`])) as Record<Who, string>;
  const base = apiConfigFromEnv({
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_NAMESPACE: temporal.namespace,
    CEDILLE_DATA_DIR: mkdtempSync(join(process.env.CEDILLE_TEST_SCRATCH ?? tmpdir(), 'cedille-api-')),
    API_PORT: '0',
    // The run's codec (test/run.ts): the API's client must read what the test workers encrypt.
    ...(process.env.CEDILLE_CODEC_KEYS ? { CEDILLE_CODEC_KEYS: process.env.CEDILLE_CODEC_KEYS } : {}),
    // Its claim check too, when the test sets one: the API resolves what the workers stored.
    ...Object.fromEntries(['CEDILLE_CLAIM_CHECK_URL', 'CEDILLE_CLAIM_CHECK_THRESHOLD', 'CEDILLE_GCS_ENDPOINT'].filter((k) => process.env[k]).map((k) => [k, process.env[k]!])),
    // The run's signing key (test/run.ts): the test workers verify what this API signs.
    ...(process.env.CEDILLE_LINK_SECRET ? { CEDILLE_LINK_SECRET: process.env.CEDILLE_LINK_SECRET } : {}),
    ...(process.env.CEDILLE_TEST_DATABASE === 'postgres' && !opts.database ? { DATABASE_URL: await testDatabase('api') } : {}),
    ...opts.env,
  });
  const config: ApiConfig = {
    ...base,
    temporal: { ...base.temporal, taskQueue: temporal.taskQueue },
    staticTokens: Object.entries(IDENTITIES).map(([who, id]) => ({ token: tokens[who as Who], ...id, roles: [...id.roles], groups: [...id.groups] })),
  };
  if (opts.worker !== false) await temporal.startWorker(opts.worker ?? {});
  const database = opts.database ?? (await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir }));
  const app = await buildApi({ config, database });
  await app.ready();
  return {
    app,
    config,
    database,
    temporal,
    tokens,
    as(who, inject) {
      const headers = { ...(inject.headers ?? {}), ...(who === 'anonymous' ? {} : { authorization: `Bearer ${tokens[who]}` }) };
      return app.inject({ ...inject, headers });
    },
    async close() {
      await app.close();
      if (!opts.database) await database.close();
      await temporal.close();
    },
  };
}

/** Registers definitions in the API's database as another replica would (the API reads them on its next request). */
export async function registerDefinitions(env: Pick<ApiTestEnv, 'database'>, sources: { file: string; text: string }[]): Promise<void> {
  const registry = await DefinitionRegistry.load({ catalog: await loadCatalog(), store: databaseDefinitionStore(env.database.db) });
  for (const { file, text } of sources) {
    const registered = await registry.register(text, { file });
    if (!registered.ok) throw new Error(`${file}: ${registered.errors.map(formatCompileError).join('\n')}`);
  }
}

// The HTTP API: Fastify with zod schemas on every route (OpenAPI at /docs), RFC 9457 problem bodies,
// bearer authentication with per-route access levels, rate limits on mutating routes, Prometheus
// metrics, and one encapsulated plugin per route group (api/routes/*.ts).
import { Client, Connection } from '@temporalio/client';
import { connectionOptions } from '../infra/temporal-connection.ts';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { loadCatalog } from '../activities/catalog.ts';
import { databaseDefinitionStore, DefinitionRegistry } from '../workflows/registry/index.ts';
import type { ApiConfig } from './config.ts';
import { clientErrorResponse, useProblemResponses } from './problem.ts';
import { swaggerOptions } from './openapi/document.ts';
import { trackRouteMethods } from './method-not-allowed.ts';
import { authPlugin } from './auth/plugin.ts';
import { fastifyTrustProxy } from './trust-proxy.ts';
import { ApiMetrics, metricsPlugin } from './metrics.ts';
import { AuditLog } from './audit/log.ts';
import { openDatabase, type Database } from '../db/index.ts';
import type { ApiServices } from './services.ts';
import { dataConverter } from '../codec/index.ts';
import healthRoutes from './routes/health.ts';
import auditRoutes from './routes/audit.ts';
import approvalPageRoutes from './routes/approval-page.ts';
import runsRoutes from './routes/runs.ts';
import approvalsRoutes from './routes/approvals.ts';
import definitionRoutes from './routes/definitions.ts';
import scheduleRoutes from './routes/schedules.ts';
import incidentRoutes from './routes/incidents.ts';
import codecRoutes from './routes/codec.ts';

export interface ApiOptions {
  config: ApiConfig;
  logger?: FastifyServerOptions['logger'];
  /** Default: the built-in definitions plus those registered in the database. */
  registry?: DefinitionRegistry;
  /** Default: opened from the config (and closed with the app); given: shared, the caller closes it. */
  database?: Database;
}

export async function buildApi({ config, logger = false, registry, database: shared }: ApiOptions): Promise<FastifyInstance> {
  // trustProxy: behind an Ingress, req.ip (rate-limit keys) is the client's, not the proxy's.
  const app = Fastify({
    logger,
    bodyLimit: config.bodyLimitBytes,
    trustProxy: fastifyTrustProxy(config.trustProxy),
    // Path parameters are bounded by their schemas (400 naming the field), not by the router's 100 (a bare 414).
    routerOptions: { maxParamLength: 1000 },
    // A `__proto__` key is dropped like any other unknown property, rather than refusing the whole body.
    onProtoPoisoning: 'remove',
    clientErrorHandler: (err, socket) => {
      if (socket.writable) socket.end(clientErrorResponse(err));
      else socket.destroy(err);
    },
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  useProblemResponses(app);
  const addMethodNotAllowed = trackRouteMethods(app);

  // Lazy: the API starts (and /healthz answers) while Temporal is still down; /readyz tells.
  const temporal = Connection.lazy(connectionOptions(config.temporal));
  app.addHook('onClose', () => temporal.close());
  const database = shared ?? (await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir }));
  if (!shared) app.addHook('onClose', () => database.close());
  const services: ApiServices = {
    config,
    temporal,
    client: new Client({ connection: temporal, namespace: config.temporal.namespace, ...(config.codec ? { dataConverter: dataConverter(config.codec, config.claimCheck) } : {}) }),
    registry: registry ?? (await DefinitionRegistry.load({ catalog: await loadCatalog(), store: databaseDefinitionStore(database.db) })),
    database,
    audit: new AuditLog(database.db),
  };

  await app.register(swagger, swaggerOptions);
  // The documentation is public: mark the UI's own routes as such for the auth hook.
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) route.config = { ...route.config, access: 'public' };
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(rateLimit, {
    global: false,
    keyGenerator: (req) => req.identity?.subject ?? req.ip,
    errorResponseBuilder: (_req, ctx) => ({ statusCode: 429, message: `rate limit: at most ${ctx.max} requests per ${ctx.after}` }),
  });
  await app.register(metricsPlugin, { metrics: new ApiMetrics() });
  await app.register(authPlugin, { tokens: config.staticTokens, ...(config.oidc ? { oidc: config.oidc } : {}) });

  await app.register(healthRoutes, { temporal, namespace: config.temporal.namespace });
  await app.register(auditRoutes, { prefix: '/v1', services });
  await app.register(approvalPageRoutes, { services });
  await app.register(runsRoutes, { prefix: '/v1', services });
  await app.register(approvalsRoutes, { prefix: '/v1', services });
  await app.register(definitionRoutes, { prefix: '/v1', services });
  await app.register(scheduleRoutes, { prefix: '/v1', services });
  await app.register(incidentRoutes, { prefix: '/v1', services });
  await app.register(codecRoutes, { prefix: '/v1', services });
  addMethodNotAllowed();
  return app;
}

// The HTTP API: a Fastify instance with RFC 9457 error bodies and one encapsulated plugin per route
// group (api/routes/*.ts), each given what it needs through its plugin options.
import { Connection } from '@temporalio/client';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { ApiConfig } from './config.ts';
import { useProblemResponses } from './problem.ts';
import healthRoutes from './routes/health.ts';

export interface ApiOptions {
  config: Pick<ApiConfig, 'temporal' | 'tokens'>;
  logger?: FastifyServerOptions['logger'];
}

export function buildApi({ config, logger = false }: ApiOptions): FastifyInstance {
  const app = Fastify({ logger });
  // Lazy: the API starts (and /healthz answers) while Temporal is still down; /readyz tells.
  const temporal = Connection.lazy({ address: config.temporal.address });
  app.addHook('onClose', () => temporal.close());
  useProblemResponses(app);
  app.register(healthRoutes, { temporal, namespace: config.temporal.namespace });
  return app;
}

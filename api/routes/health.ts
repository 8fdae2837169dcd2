// Kubernetes-style probes: /healthz says the process serves HTTP, /readyz that Temporal answers for
// the configured namespace (a cheap DescribeNamespace under a short deadline).
import type { Connection } from '@temporalio/client';
import type { FastifyPluginAsync } from 'fastify';
import { sendProblem } from '../problem.ts';

export interface HealthOptions {
  temporal: Connection;
  namespace: string;
  readinessTimeoutMs?: number;
}

export const TEMPORAL_UNAVAILABLE = 'urn:cedille:problem:temporal-unavailable';

const healthRoutes: FastifyPluginAsync<HealthOptions> = async (app, { temporal, namespace, readinessTimeoutMs = 2000 }) => {
  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness: the process serves requests',
        response: { 200: { type: 'object', required: ['status'], properties: { status: { const: 'ok' } } } },
      },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: Temporal is reachable',
        response: {
          200: {
            type: 'object',
            required: ['status', 'namespace'],
            properties: { status: { const: 'ready' }, namespace: { type: 'string' } },
          },
          503: { $ref: 'Problem#' },
        },
      },
    },
    async (_req, reply) => {
      try {
        await temporal.withDeadline(Date.now() + readinessTimeoutMs, () =>
          temporal.workflowService.describeNamespace({ namespace }),
        );
      } catch (err) {
        return sendProblem(reply, 503, {
          type: TEMPORAL_UNAVAILABLE,
          title: 'Temporal unavailable',
          detail: `namespace ${namespace}: ${(err as Error).message}`,
        });
      }
      return { status: 'ready', namespace };
    },
  );
};

export default healthRoutes;

// Kubernetes-style probes: /healthz says the process serves HTTP, /readyz that Temporal answers for
// the configured namespace (a cheap DescribeNamespace under a short deadline).
import type { Connection } from '@temporalio/client';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { problem, Problem } from '../problem.ts';

export interface HealthOptions {
  temporal: Connection;
  namespace: string;
  readinessTimeoutMs?: number;
}

export const TEMPORAL_UNAVAILABLE = 'urn:cedille:problem:temporal-unavailable';

const healthRoutes: FastifyPluginAsyncZod<HealthOptions> = async (app, { temporal, namespace, readinessTimeoutMs = 2000 }) => {
  app.get(
    '/healthz',
    {
      config: { access: 'public' },
      schema: { tags: ['health'], operationId: 'getHealth', summary: 'Liveness: the process serves requests', response: { 200: z.object({ status: z.literal('ok') }) } },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      config: { access: 'public' },
      schema: {
        tags: ['health'],
        operationId: 'getReadiness',
        summary: 'Readiness: Temporal is reachable',
        response: { 200: z.object({ status: z.literal('ready'), namespace: z.string() }), 503: Problem },
      },
    },
    async (_req, reply) => {
      try {
        await temporal.withDeadline(Date.now() + readinessTimeoutMs, () =>
          temporal.workflowService.describeNamespace({ namespace }),
        );
      } catch (err) {
        return problem(reply, 503, {
          type: TEMPORAL_UNAVAILABLE,
          title: 'Temporal unavailable',
          detail: `namespace ${namespace}: ${(err as Error).message}`,
        });
      }
      return { status: 'ready' as const, namespace };
    },
  );
};

export default healthRoutes;

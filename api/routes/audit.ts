// GET /v1/audit: the audit trail, newest first, filtered by actor, action, target and time.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AuditEntry, AuditQuery } from '../audit/log.ts';
import { problemResponses } from '../problem.ts';
import type { RoutesOptions } from '../services.ts';

const auditRoutes: FastifyPluginAsyncZod<RoutesOptions> = async (app, { services }) => {
  app.get(
    '/audit',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['audit'],
        operationId: 'listAuditEntries',
        summary: 'Who started, approved, rejected, cancelled, registered what and when',
        querystring: AuditQuery,
        response: { ...problemResponses, 200: z.object({ entries: z.array(AuditEntry) }) },
      },
    },
    async (req) => ({ entries: await services.audit.query(req.query) }),
  );
};

export default auditRoutes;

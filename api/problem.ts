// RFC 9457 problem details: the single error body of the API (`application/problem+json`).
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';

/** Shared schema; routes refer to it as `{ $ref: 'Problem#' }` in their `response` section. */
export const problemSchema = {
  $id: 'Problem',
  type: 'object',
  required: ['type', 'title', 'status'],
  properties: {
    type: { type: 'string', description: 'URI identifying the problem type; `about:blank` for plain HTTP errors' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
  },
} as const;

export interface ProblemOptions {
  detail?: string;
  /** Defaults to `about:blank`, whose title is the HTTP status phrase. */
  type?: string;
  title?: string;
}

export function sendProblem(reply: FastifyReply, status: number, { detail, type = 'about:blank', title }: ProblemOptions = {}) {
  return reply
    .code(status)
    .type('application/problem+json')
    .send({ type, title: title ?? STATUS_CODES[status] ?? 'Error', status, detail });
}

/** Makes every error of `app` and its child plugins, including unknown routes, a problem body. */
export function useProblemResponses(app: FastifyInstance): void {
  app.addSchema(problemSchema);
  app.setNotFoundHandler((req, reply) => sendProblem(reply, 404, { detail: `no route for ${req.method} ${req.url}` }));
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const status = err.statusCode !== undefined && err.statusCode >= 400 ? err.statusCode : 500;
    if (status >= 500) {
      req.log.error({ err }, 'request failed');
      return sendProblem(reply, status);
    }
    return sendProblem(reply, status, { detail: err.message });
  });
}

// RFC 9457 problem details: the single error body of the API (`application/problem+json`).
// Validation errors name every offending field (`body.input.name`, `params.runId`, ...).
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';

export const FieldError = z.object({ field: z.string(), message: z.string() });

export const Problem = z
  .object({
    type: z.string().describe('URI identifying the problem type; `about:blank` for plain HTTP errors'),
    title: z.string(),
    status: z.int(),
    detail: z.string().optional(),
    errors: z.array(FieldError).optional().describe('One entry per invalid field'),
  })
  .meta({ id: 'Problem' });
export type Problem = z.infer<typeof Problem>;

export interface ProblemOptions {
  detail?: string;
  /** Defaults to `about:blank`, whose title is the HTTP status phrase. */
  type?: string;
  title?: string;
  errors?: z.infer<typeof FieldError>[];
}

export function problem(reply: FastifyReply, status: number, { detail, type = 'about:blank', title, errors }: ProblemOptions = {}) {
  return reply
    .code(status)
    .type('application/problem+json')
    .send({ type, title: title ?? STATUS_CODES[status] ?? 'Error', status, ...(detail ? { detail } : {}), ...(errors ? { errors } : {}) });
}

/**
 * Responses an authenticated route may give, for route schemas: `response: { ...problemResponses, 200: ... }`.
 * The OpenAPI document drops those a route cannot give (api/openapi/document.ts): 413 (body over
 * API_BODY_LIMIT) and 415 (unsupported Content-Type) where no body is read, 429 without a rate limit.
 */
export const problemResponses = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 413: Problem, 415: Problem, 429: Problem, 500: Problem } as const;

/**
 * A problem response for errors Node's HTTP parser reports before any route runs (Fastify's
 * `clientErrorHandler`): 431 for a URL and headers over 16 KiB, 400 for a malformed request.
 */
export function clientErrorResponse(err: Error & { code?: string }): string {
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const body = JSON.stringify({ type: 'about:blank', title: STATUS_CODES[status], status, detail: status === 431 ? 'URL and headers over 16 KiB' : 'malformed HTTP request' });
  return `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

/** Makes every error of `app` and its child plugins, including unknown routes, a problem body. */
export function useProblemResponses(app: FastifyInstance): void {
  app.setNotFoundHandler((req, reply) => problem(reply, 404, { detail: `no route for ${req.method} ${req.url}` }));
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const errors = err.validation.map((v) => ({
        field: [err.validationContext ?? 'body', ...v.instancePath.split('/').filter(Boolean)].join('.'),
        message: v.message ?? 'invalid',
      }));
      return problem(reply, 400, { detail: errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors });
    }
    const status = err.statusCode !== undefined && err.statusCode >= 400 ? err.statusCode : 500;
    if (status >= 500) {
      req.log.error({ err }, 'request failed');
      return problem(reply, status);
    }
    return problem(reply, status, { detail: err.message });
  });
}

// The OpenAPI document of the API (/docs/json), derived from the routes themselves so that it says
// what the server does: zod schemas (fastify-type-provider-zod), plus what the route configuration
// decides and a route schema cannot state:
// - security: routes of `config.access: 'public'` need no token (`security: []`), others a bearer;
// - error statuses that cannot happen are dropped from the shared problem responses (413/415 on
//   routes that take no body, 429 on routes without a rate limit), so the statuses listed are the
//   ones a route can answer;
// - error bodies are RFC 9457 problems, served as `application/problem+json` (api/problem.ts);
// - Fastify's wildcard (`/approve/*`) becomes a named path parameter (`/approve/{token}`).
import type { FastifySchema } from 'fastify';
import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { SESSION_COOKIE } from '../auth/codec-session.ts';
import { Problem } from '../problem.ts';

type Transform = NonNullable<FastifyDynamicSwaggerOptions['transform']>;
type TransformObject = NonNullable<FastifyDynamicSwaggerOptions['transformObject']>;
type OpenApiDocument = ReturnType<TransformObject>;

/** Methods whose body Fastify never reads: no 413 or 415 there. */
const BODYLESS = new Set(['GET', 'HEAD']);
const PROBLEM_TYPE = 'application/problem+json';

/** Names of Fastify wildcards in the document: route path prefix -> parameter name. */
const WILDCARD_NAMES: Record<string, string> = { '/approve/': 'token' };

function wildcardName(url: string): string | undefined {
  if (!url.endsWith('*')) return undefined;
  return WILDCARD_NAMES[url.slice(0, -1)] ?? 'path';
}

/** Operations (`METHOD url`) whose body schema accepts no body: @fastify/swagger marks every body required. */
const optionalBodies = new Set<string>();
/** `post /v1/runs/{id}/cancel` for Fastify's `POST /v1/runs/:id/cancel` and the document's path alike. */
const operationKey = (method: string, url: string) => `${method.toLowerCase()} ${url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`;

const transform: Transform = (doc) => {
  const { route } = doc;
  const schema = doc.schema as (FastifySchema & { response?: Record<string, unknown>; params?: unknown }) | undefined;
  if (!schema || schema.hide) return jsonSchemaTransform(doc);
  const methods = ([] as string[]).concat(route.method);
  // Any request can have a URL and headers over Node's 16 KiB (api/problem.ts: clientErrorResponse).
  const response: Record<string, unknown> | undefined = schema.response && { ...schema.response, 431: Problem };
  if (response) {
    if (methods.every((m) => BODYLESS.has(m))) {
      delete response[413];
      delete response[415];
    }
    if (!route.config?.rateLimit) delete response[429];
  }
  const publicRoute = route.config?.access === 'public' && !schema.security;
  let url = doc.url;
  let params = schema.params;
  const name = wildcardName(url);
  if (name && params instanceof z.ZodObject && '*' in params.shape) {
    const { '*': wildcard, ...rest } = params.shape as Record<string, z.ZodType>;
    params = z.object({ ...rest, [name]: wildcard! });
    url = `${url.slice(0, -1)}{${name}}`;
  }
  if (schema.body instanceof z.ZodType && schema.body.safeParse(undefined).success) for (const m of methods) optionalBodies.add(operationKey(m, url));
  const out = jsonSchemaTransform({ ...doc, schema: { ...schema, ...(response ? { response } : {}), ...(params ? { params } : {}), ...(publicRoute ? { security: [] } : {}) } as FastifySchema, url });
  return { ...out, url: out.url === doc.url ? url : out.url };
};

function optionalRequestBodies(document: OpenApiDocument): void {
  for (const [url, item] of Object.entries(document.paths ?? {})) {
    for (const [method, operation] of Object.entries(item ?? {})) {
      const body = (operation as { requestBody?: { required?: boolean } }).requestBody;
      if (body && optionalBodies.has(operationKey(method, url))) body.required = false;
    }
  }
}

/** Every JSON error response (4xx/5xx) is a problem body, served as `application/problem+json`. */
function problemContentTypes(document: OpenApiDocument): void {
  for (const item of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(item ?? {})) {
      const responses = (operation as { responses?: Record<string, { content?: Record<string, unknown> }> }).responses;
      for (const [status, res] of Object.entries(responses ?? {})) {
        const json = res.content?.['application/json'];
        if (Number(status) < 400 || !json || !res.content) continue;
        delete res.content['application/json'];
        res.content[PROBLEM_TYPE] = json;
      }
    }
  }
}

const transformObject: TransformObject = (doc) => {
  const document = jsonSchemaTransformObject(doc) as OpenApiDocument;
  problemContentTypes(document);
  optionalRequestBodies(document);
  return document;
};

export const swaggerOptions: FastifyDynamicSwaggerOptions = {
  openapi: {
    info: { title: 'Cédille Workflows API', version: '1', description: 'Errors are RFC 9457 problem details (`application/problem+json`). Contract: docs/API.md.' },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An OIDC access token or a static API token' },
        codecSession: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE, description: 'Codec session of GET/POST /v1/codec/session (the codec endpoint only)' },
      },
    },
    security: [{ bearer: [] }],
  },
  transform,
  transformObject,
};

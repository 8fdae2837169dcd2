// Prometheus metrics: process defaults, HTTP request durations by route, and counters the route
// plugins increment (runs started, approvals answered). Served at /metrics.
import fp from 'fastify-plugin';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';

export class ApiMetrics {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'cedille_http_request_duration_seconds',
    help: 'HTTP request duration by route, method and status code',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly runsStarted = new Counter({ name: 'cedille_runs_started_total', help: 'Runs started through the API', labelNames: ['definition'] as const, registers: [this.registry] });
  readonly approvals = new Counter({ name: 'cedille_approval_answers_total', help: 'Approval answers by outcome', labelNames: ['outcome'] as const, registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'cedille_api_' });
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: ApiMetrics;
  }
}

const metrics: FastifyPluginAsync<{ metrics: ApiMetrics }> = async (app, { metrics }) => {
  app.decorate('metrics', metrics);
  app.addHook('onResponse', async (req, reply) => {
    metrics.httpDuration.observe({ route: req.routeOptions.url ?? 'unmatched', method: req.method, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
  const schema = {
    tags: ['health'],
    operationId: 'getMetrics',
    summary: 'Prometheus metrics (text exposition format)',
    response: { 200: { description: 'Metrics', content: { 'text/plain': { schema: z.string() } } } },
  };
  app.get('/metrics', { config: { access: 'public' }, schema }, async (_req, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
};

export const metricsPlugin = fp(metrics, { name: 'cedille-metrics' });

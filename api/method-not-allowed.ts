// 405 Method Not Allowed (RFC 9110) with an `Allow` header, instead of a 404, for a method a path
// does not serve: call `trackRouteMethods(app)` before the routes are registered and the returned
// function after them. Public routes (no token needed to learn a method is wrong), hidden from the
// OpenAPI document.
import type { FastifyInstance } from 'fastify';
import { problem } from './problem.ts';

/** Methods a client could reasonably try; Fastify also knows WebDAV ones, left as 404. */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'QUERY'];

export function trackRouteMethods(app: FastifyInstance): () => void {
  const byUrl = new Map<string, Set<string>>();
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) return;
    const methods = byUrl.get(route.url) ?? new Set<string>();
    for (const m of ([] as string[]).concat(route.method)) methods.add(m.toUpperCase());
    byUrl.set(route.url, methods);
  });
  return () => {
    for (const [url, served] of [...byUrl]) {
      const allow = [...served].sort().join(', ');
      const others = METHODS.filter((m) => !served.has(m) && app.supportedMethods.includes(m));
      if (!others.length) continue;
      app.route({
        method: others,
        url,
        config: { access: 'public' },
        schema: { hide: true },
        // In onRequest, before Fastify reads a body the method may carry (QUERY without Content-Type is a 400 there).
        onRequest: async (req, reply) => problem(reply.header('allow', allow), 405, { detail: `${req.method} is not served at ${url}; allowed: ${allow}` }),
        handler: async () => undefined,
      });
    }
  };
}

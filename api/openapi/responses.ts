// Response declarations shared by route schemas beyond the JSON ones: HTML pages (approval links,
// the codec session page) and plain text (metrics), for the OpenAPI document and its fuzzer.
import { z } from 'zod';

/** A response whose body is an HTML page. */
export const htmlPage = (description: string) => ({ description, content: { 'text/html': { schema: z.string() } } });

/** The same HTML page response under each status. */
export function htmlPages<S extends number>(statuses: readonly S[], description: string): Record<S, ReturnType<typeof htmlPage>> {
  return Object.fromEntries(statuses.map((s) => [s, htmlPage(description)])) as Record<S, ReturnType<typeof htmlPage>>;
}

// The catalog test workers use: every activity under activities/ plus the test-only ones under
// test/support/activities/<system>/ (same layout and loader as the real catalog).
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCatalog, type Catalog } from '../../../activities/catalog.ts';

const TEST_ACTIVITIES_DIR = dirname(fileURLToPath(import.meta.url));

let cached: Promise<Catalog> | undefined;

export function testCatalog(): Promise<Catalog> {
  cached ??= (async () => {
    const [real, extra] = await Promise.all([loadCatalog(), loadCatalog(TEST_ACTIVITIES_DIR)]);
    for (const name of extra.keys()) if (real.has(name)) throw new Error(`test activity ${name} shadows a catalog activity`);
    return new Map([...real, ...extra]);
  })();
  return cached;
}

/** A registry that knows no named definitions (tests start `interpret` with a compiled definition). */
export const NO_DEFINITIONS = { getByWorkflowType: () => undefined, getByHash: () => undefined, refresh: async () => undefined };

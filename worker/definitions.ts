// The definitions a worker knows: the built-ins and, with DATABASE_URL, those registered through the
// API, read from the platform database (db/) that every API replica writes. A definition registered
// after the worker started is read when a lookup misses (worker/internal-activities.ts).
import type { Catalog } from '../activities/catalog.ts';
import { openDatabase } from '../db/index.ts';
import { dataDir } from '../infra/tools/paths.ts';
import { databaseDefinitionStore, DefinitionRegistry } from '../workflows/registry/index.ts';

export interface WorkerDefinitions {
  registry: DefinitionRegistry;
  /** Where registered definitions come from, for the start-up line. */
  source: string;
  close(): Promise<void>;
}

export async function openDefinitions(catalog: Catalog, env = process.env): Promise<WorkerDefinitions> {
  if (!env.DATABASE_URL) {
    return { registry: await DefinitionRegistry.load({ catalog }), source: 'built-ins only (DATABASE_URL unset)', close: async () => undefined };
  }
  const database = await openDatabase({ url: env.DATABASE_URL, dataDir: dataDir(env), maxConnections: 4 });
  try {
    const registry = await DefinitionRegistry.load({ catalog, store: databaseDefinitionStore(database.db) });
    return { registry, source: 'built-ins and the platform database', close: () => database.close() };
  } catch (err) {
    await database.close();
    throw err;
  }
}

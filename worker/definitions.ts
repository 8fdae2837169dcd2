import type { Catalog } from '../activities/catalog.ts';
import { DefinitionRegistry } from '../workflows/registry/index.ts';

/** The built-in definitions (and registered ones under CEDILLE_DEFINITIONS_DIR), compiled against the catalog. */
export function loadDefinitions(catalog: Catalog): Promise<DefinitionRegistry> {
  return DefinitionRegistry.load({ catalog, ...(process.env.CEDILLE_DEFINITIONS_DIR ? { storeDir: process.env.CEDILLE_DEFINITIONS_DIR } : {}) });
}

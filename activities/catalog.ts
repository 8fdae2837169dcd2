// The activity catalog: every `activities/<system>/<action>.ts` whose default export is an
// activity definition, registered by folder. Files starting with `_` and tests are ignored.
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ActivityDefinition } from './define.ts';

export type Catalog = ReadonlyMap<string, ActivityDefinition>;

const root = dirname(fileURLToPath(import.meta.url));

/** The activity modules the catalog imports (what the worker runs; test/infra/images.test.ts scans them). */
export function activityFiles(dir: string = root): string[] {
  const files: string[] = [];
  for (const system of readdirSync(dir).sort()) {
    const sysDir = join(dir, system);
    if (!statSync(sysDir).isDirectory() || system.startsWith('_') || system === 'node_modules') continue;
    for (const file of readdirSync(sysDir).sort()) {
      if (!/\.(ts|js)$/.test(file) || file.startsWith('_') || /\.(test|d)\.(ts|js)$/.test(file)) continue;
      files.push(join(sysDir, file));
    }
  }
  return files;
}

let cached: Promise<Catalog> | undefined;

/** Loads (once) every activity definition under `activities/`. */
export function loadCatalog(dir = root): Promise<Catalog> {
  if (dir === root && cached) return cached;
  const loading = (async () => {
    const catalog = new Map<string, ActivityDefinition>();
    for (const file of activityFiles(dir)) {
      const mod = (await import(pathToFileURL(file).href)) as { default?: ActivityDefinition };
      const def = mod.default;
      if (!def || typeof def.handler !== 'function' || typeof def.name !== 'string') continue;
      const system = file.split(/[\\/]/).at(-2);
      if (!def.name.startsWith(`${system}.`)) throw new Error(`${file}: activity name ${def.name} must start with "${system}."`);
      if (catalog.has(def.name)) throw new Error(`${file}: duplicate activity name ${def.name}`);
      catalog.set(def.name, def);
    }
    return catalog;
  })();
  if (dir === root) cached = loading;
  return loading;
}

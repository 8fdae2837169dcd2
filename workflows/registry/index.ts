export { DefinitionRegistry, BUILTIN_DIR, type RegistryOptions, type RegisterResult } from './registry.ts';
export { databaseDefinitionStore, type DefinitionStore } from './store.ts';

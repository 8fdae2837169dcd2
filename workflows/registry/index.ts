export { DefinitionRegistry, BUILTIN_DIR, type RegistryOptions, type RegisterResult } from './registry.ts';

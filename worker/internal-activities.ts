// Activities the interpreter itself uses (not part of the catalog definitions can call).
import type { CompiledDefinition } from '../workflows/dsl/compiled.ts';

/** Where the worker finds registered definitions (in memory, or a database: hence maybe a promise). */
export interface DefinitionLookup {
  getByWorkflowType(workflowType: string): MaybePromise<CompiledDefinition | undefined>;
  /** Registered definitions by content hash: a run of one of them may start without an API ticket. */
  getByHash(hash: string): MaybePromise<CompiledDefinition | undefined>;
}

type MaybePromise<T> = T | Promise<T>;

export type ResolveDefinition = (req: { workflowType: string }) => Promise<CompiledDefinition | null>;

export function internalActivities(definitions: DefinitionLookup): { resolveDefinition: ResolveDefinition } {
  return {
    async resolveDefinition({ workflowType }) {
      return (await definitions.getByWorkflowType(workflowType)) ?? null;
    },
  };
}

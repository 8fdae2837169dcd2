// Activities the interpreter itself uses (not part of the catalog definitions can call).
import type { CompiledDefinition } from '../workflows/dsl/compiled.ts';

export interface DefinitionLookup {
  getByWorkflowType(workflowType: string): CompiledDefinition | undefined;
  /** Registered definitions by content hash: a run of one of them may start without an API ticket. */
  getByHash(hash: string): CompiledDefinition | undefined;
  /** Reads what was registered since the last read (by any API replica). */
  refresh(): Promise<void>;
}

export type ResolveDefinition = (req: { workflowType: string }) => Promise<CompiledDefinition | null>;

export function internalActivities(definitions: DefinitionLookup): { resolveDefinition: ResolveDefinition } {
  return {
    // A type name runs the latest version of its definition, wherever it was registered.
    async resolveDefinition({ workflowType }) {
      await definitions.refresh();
      return definitions.getByWorkflowType(workflowType) ?? null;
    },
  };
}

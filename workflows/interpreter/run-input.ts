import type { CompiledDefinition } from '../dsl/compiled.ts';
import type { GraphNode } from './graph.ts';
import type { StepResult } from './frame.ts';
import type { RunTrust } from './trust.ts';

/** Input of the `interpret` workflow. */
export interface RunInput {
  /** The compiled definition this run is pinned to (its `hash` identifies the version). */
  definition: CompiledDefinition;
  input?: unknown;
  /**
   * Identity that started the run, as the API signed it in `ticket`. Trusted only from the ticket
   * (and in runs recorded before tickets); a child or continuation carries it in `trust`.
   */
  initiator?: string;
  /** The API's signature on this start (trust/run-ticket.ts): definition, input, workflow id, initiator. */
  ticket?: string;
  /** Set by the interpreter for its own children and continuations only (ignored on a client's start). */
  trust?: RunTrust;
  options?: {
    /** Continue as new past this many history events (default RUN_EVENT_LIMIT; lowered in tests). */
    eventLimit?: number;
    /** forEach batch children continue as new past this many events (default BATCH_EVENT_LIMIT; lowered in tests). */
    batchEventLimit?: number;
  };
  /** Present when the run continued as new: where to pick up. */
  resume?: ResumeState;
}

export interface ResumeState {
  /** Index of the next top-level step. */
  next: number;
  steps: Record<string, StepResult>;
  vars: Record<string, unknown>;
  /** Ids of steps whose compensation is pending, in completion order. */
  saga: string[];
  nodes: GraphNode[];
  inbox: Record<string, unknown[]>;
  /** Every event received so far per name (the `events` variable); absent in runs continued before it existed. */
  events?: Record<string, unknown[]>;
  startTime: string;
  /** Validated inputs (defaults applied) of the first execution. */
  inputs: unknown;
}

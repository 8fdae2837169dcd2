// The definitions a process knows: the built-ins of workflows/definitions/*.yaml and those
// registered at run time (kept in a DefinitionStore, the platform database, shared by every API
// replica and worker). Every version is kept by hash so running instances stay pinned to what they
// started with; `get(name)` is the latest. Lookups are synchronous on what this process has read;
// `refresh()` reads what any replica registered since.
//
// Rules: a registered definition may not take the name or workflow type of a built-in (built-ins
// change with the code, not through the API); registering the content of an existing version makes
// it the latest again; when a definition changes, the latest versions of the definitions calling
// it are recompiled so their pinned `dependencies` follow (their own hash does not change).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Catalog } from '../../activities/catalog.ts';
import { compileSource, formatCompileError, type CompileError, type CompileResult } from '../compiler/index.ts';
import { calledNames } from '../compiler/calls.ts';
import { SourceDocument } from '../compiler/source.ts';
import type { CompiledDefinition } from '../dsl/compiled.ts';
import { loadOrder } from './order.ts';
import type { DefinitionStore, StoredVersion } from './store.ts';

export const BUILTIN_DIR = fileURLToPath(new URL('../definitions/', import.meta.url));

export interface RegistryOptions {
  /** Built-in definitions (default workflows/definitions). Any error fails loading. */
  builtinDir?: string;
  /** Where registered definitions are kept and read from (in memory only without it). */
  store?: DefinitionStore;
  catalog: Catalog;
  /** Passed to the compiler (quorum checks). */
  approverCount?: (group: string) => number | undefined;
}

export type RegisterResult =
  | { ok: true; definition: CompiledDefinition; warnings: CompileError[]; created: boolean }
  | { ok: false; errors: CompileError[] };

interface Entry {
  definition: CompiledDefinition;
  text: string;
  file: string;
  builtin: boolean;
}

export class DefinitionRegistry {
  /** name -> versions, oldest first (the last is the latest). */
  private readonly versionsByName = new Map<string, Entry[]>();
  private readonly byHash = new Map<string, Entry>();
  /** Stored definitions that no longer compile (e.g. an activity was removed), skipped at load. */
  readonly skipped: { file: string; errors: CompileError[] }[] = [];
  /** The last registration read from the store. */
  private lastSeq = 0;
  /** Store reads run one after another, each from where the previous one stopped. */
  private reading: Promise<void> = Promise.resolve();

  private constructor(private readonly opts: RegistryOptions) {}

  static async load(opts: RegistryOptions): Promise<DefinitionRegistry> {
    const registry = new DefinitionRegistry(opts);
    registry.loadBuiltins(opts.builtinDir ?? BUILTIN_DIR);
    await registry.refresh();
    return registry;
  }

  /** Reads the versions registered (by any replica) since the last read; resolves once they are known. */
  refresh(): Promise<void> {
    const store = this.opts.store;
    if (!store) return Promise.resolve();
    this.reading = this.reading.catch(() => undefined).then(async () => this.apply(await store.since(this.lastSeq)));
    return this.reading;
  }

  /** The latest version of every definition, by name. */
  list(): CompiledDefinition[] {
    return [...this.versionsByName.keys()].sort().map((name) => this.get(name)!);
  }

  get(name: string): CompiledDefinition | undefined {
    return this.versionsByName.get(name)?.at(-1)?.definition;
  }

  /** Every version of a definition, oldest first. */
  versions(name: string): CompiledDefinition[] {
    return (this.versionsByName.get(name) ?? []).map((e) => e.definition);
  }

  getByHash(hash: string): CompiledDefinition | undefined {
    return this.byHash.get(hash)?.definition;
  }

  getByWorkflowType(type: string): CompiledDefinition | undefined {
    return this.list().find((d) => d.workflowType === type);
  }

  /** The YAML source text a version was compiled from. */
  sourceText(hash: string): string | undefined {
    return this.byHash.get(hash)?.text;
  }

  isBuiltin(name: string): boolean {
    return this.versionsByName.get(name)?.[0]?.builtin ?? false;
  }

  /** Compiles against the known definitions without storing anything. */
  validate(source: string, file = 'api'): CompileResult {
    return this.compile(source, file);
  }

  /** Compiles and stores a new version (the latest of its name). */
  async register(source: string, opts: { file?: string } = {}): Promise<RegisterResult> {
    const file = opts.file ?? 'api';
    const store = this.opts.store;
    if (!store) return this.add(source, file, false);
    const outcome = await store.registering(async (tx) => {
      this.apply(await tx.since(this.lastSeq)); // the checks below see every earlier registration
      const result = this.check(source, file);
      if (!result.ok) return result;
      const { definition } = result;
      return { ...result, created: await tx.save({ hash: definition.hash, name: definition.name, source }) };
    });
    if (!outcome.ok) return outcome;
    await this.refresh();
    return { ...outcome, definition: this.getByHash(outcome.definition.hash) ?? outcome.definition };
  }

  /** Compiles and checks a version against the known definitions without adding it. */
  private check(text: string, file: string, builtin = false): CompileResult {
    const nul = text.indexOf('\u0000');
    if (nul >= 0) {
      // Kept verbatim in the platform database, whose text cannot hold U+0000 (and no definition needs one).
      const before = text.slice(0, nul).split('\n');
      const at = { file, line: before.length, column: before.at(-1)!.length + 1, path: '', code: 'yaml' as const };
      return { ok: false, errors: [{ ...at, message: 'the source contains a NUL character (U+0000); remove it' }], warnings: [] };
    }
    const result = this.compile(text, file);
    if (!result.ok) return result;
    const conflict = this.conflict(result.definition, text, file, builtin);
    return conflict ? { ok: false, errors: [conflict], warnings: result.warnings } : result;
  }

  private add(text: string, file: string, builtin: boolean): RegisterResult {
    const result = this.check(text, file, builtin);
    if (!result.ok) return result;
    const definition = result.definition;
    const versions = this.versionsByName.get(definition.name) ?? [];
    const existing = versions.findIndex((e) => e.definition.hash === definition.hash);
    if (existing >= 0) versions.splice(existing, 1);
    const entry = { definition, text, file, builtin: builtin || (versions[0]?.builtin ?? false) };
    versions.push(entry);
    this.versionsByName.set(definition.name, versions);
    this.byHash.set(definition.hash, entry);
    this.refreshCallers(definition.name);
    return { ok: true, definition, warnings: result.warnings, created: existing < 0 };
  }

  /** Adds stored versions in registration order (those already read are skipped). */
  private apply(rows: StoredVersion[]): void {
    for (const row of rows) {
      if (row.seq <= this.lastSeq) continue;
      this.lastSeq = row.seq;
      const file = `registered ${row.name} (${row.hash.slice(0, 12)})`;
      const result = this.add(row.source, file, false);
      if (!result.ok) this.skipped.push({ file, errors: result.errors });
    }
  }

  private compile(text: string, file: string): CompileResult {
    return compileSource(text, { file, catalog: this.opts.catalog, approverCount: this.opts.approverCount, resolve: (name) => this.get(name) });
  }

  // A registered definition may not replace a built-in; built-ins have distinct names; no two
  // definitions share a workflow type.
  private conflict(def: CompiledDefinition, text: string, file: string, builtin: boolean): CompileError | undefined {
    const at = (path: string[], message: string): CompileError => {
      const parsed = SourceDocument.parse(text, file);
      return 'source' in parsed ? parsed.source.error(path, message, 'name-taken') : { file, line: 1, column: 1, path: path.join('.'), message, code: 'name-taken' };
    };
    if (this.isBuiltin(def.name)) {
      const message = builtin ? `another built-in definition is named '${def.name}'` : `'${def.name}' is a built-in definition: built-ins change with the code; choose another name`;
      return at(['metadata', 'name'], message);
    }
    const owner = def.workflowType && this.getByWorkflowType(def.workflowType);
    if (owner && owner.name !== def.name) return at(['spec', 'workflowType'], `workflow type '${def.workflowType}' is already used by definition '${owner.name}'`);
    return undefined;
  }

  // Recompiles the latest versions of the definitions that (transitively) call `name`, callees first.
  private refreshCallers(name: string): void {
    const pending = new Set(this.list().filter((d) => d.name !== name && name in d.dependencies).map((d) => d.name));
    while (pending.size > 0) {
      const next = [...pending].find((n) => !calledNames(this.get(n)!.steps, this.get(n)!.finally ?? []).some((c) => pending.has(c)));
      if (!next) return; // unreachable without a cycle, and cycles are refused when compiling
      pending.delete(next);
      const latest = this.versionsByName.get(next)!.at(-1)!;
      const result = this.compile(latest.text, latest.file);
      if (result.ok) {
        const entry = { ...latest, definition: result.definition };
        this.versionsByName.get(next)!.splice(-1, 1, entry);
        this.byHash.set(entry.definition.hash, entry);
      }
    }
  }

  private loadBuiltins(dir: string): void {
    const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(dir, f));
    const sources = files.map((file) => ({ file, text: readFileSync(file, 'utf8') }));
    const { order, cycle } = loadOrder(sources);
    const problems: string[] = cycle ? [`call cycle between built-in definitions: ${cycle.join(' -> ')}`] : [];
    for (const { file, text } of order) {
      const result = this.add(text, file, true);
      if (!result.ok) problems.push(...result.errors.map(formatCompileError));
    }
    if (problems.length > 0) throw new Error(`built-in definitions do not compile:\n${problems.join('\n')}`);
  }
}

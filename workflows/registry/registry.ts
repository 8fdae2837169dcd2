// The definitions a process knows: the built-ins of workflows/definitions/*.yaml and those
// registered at run time (persisted as <storeDir>/<name>/<hash>.yaml). Every version is kept by
// hash so running instances stay pinned to what they started with; `get(name)` is the latest.
//
// Rules: a registered definition may not take the name or workflow type of a built-in (built-ins
// change with the code, not through the API); registering the content of an existing version makes
// it the latest again; when a definition changes, the latest versions of the definitions calling
// it are recompiled so their pinned `dependencies` follow (their own hash does not change).
import { mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Catalog } from '../../activities/catalog.ts';
import { compileSource, formatCompileError, type CompileError, type CompileResult } from '../compiler/index.ts';
import { calledNames } from '../compiler/calls.ts';
import { SourceDocument } from '../compiler/source.ts';
import type { CompiledDefinition } from '../dsl/compiled.ts';
import { loadOrder } from './order.ts';

export const BUILTIN_DIR = fileURLToPath(new URL('../definitions/', import.meta.url));

export interface RegistryOptions {
  /** Built-in definitions (default workflows/definitions). Any error fails loading. */
  builtinDir?: string;
  /** Where registered definitions are persisted and reloaded from (in memory only without it). */
  storeDir?: string;
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
  private lastStamp = 0;

  private constructor(private readonly opts: RegistryOptions) {}

  static async load(opts: RegistryOptions): Promise<DefinitionRegistry> {
    const registry = new DefinitionRegistry(opts);
    registry.loadBuiltins(opts.builtinDir ?? BUILTIN_DIR);
    if (opts.storeDir) registry.loadStore(opts.storeDir);
    return registry;
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
  register(source: string, opts: { file?: string } = {}): RegisterResult {
    const result = this.add(source, opts.file ?? 'api', false);
    if (result.ok && result.created && this.opts.storeDir) this.persist(result.definition, source);
    return result;
  }

  private add(text: string, file: string, builtin: boolean): RegisterResult {
    const result = this.compile(text, file);
    if (!result.ok) return result;
    const definition = result.definition;
    const conflict = this.conflict(definition, text, file, builtin);
    if (conflict) return { ok: false, errors: [conflict] };

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

  // Replays the stored versions in the order they were registered (file times), so callees come first.
  private loadStore(dir: string): void {
    mkdirSync(dir, { recursive: true });
    const files = readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .flatMap((d) => readdirSync(join(dir, d.name)).filter((f) => f.endsWith('.yaml')).map((f) => join(dir, d.name, f)))
      .map((file) => ({ file, time: statSync(file).mtimeMs }))
      .sort((a, b) => a.time - b.time || a.file.localeCompare(b.file));
    for (const { file, time } of files) {
      const result = this.add(readFileSync(file, 'utf8'), file, false);
      if (!result.ok) this.skipped.push({ file, errors: result.errors });
      this.lastStamp = Math.max(this.lastStamp, time);
    }
  }

  private persist(def: CompiledDefinition, text: string): void {
    const dir = join(this.opts.storeDir!, def.name);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${def.hash}.yaml`);
    writeFileSync(file, text);
    // Strictly increasing modification times keep the registration order for the next load.
    this.lastStamp = Math.max(Date.now(), this.lastStamp + 1);
    utimesSync(file, this.lastStamp / 1000, this.lastStamp / 1000);
  }
}

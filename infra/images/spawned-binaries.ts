// Which binaries each image's code can spawn, read from the source: every module reachable by static or
// literal dynamic imports from the image's entry points that imports node:child_process must declare
// `export const SPAWNED_BINARIES = [...] as const`; its spawn/execFile calls with a literal program must
// name a declared binary, and shells (exec, execSync, `shell: true`) are refused because a shell can run
// anything. test/infra/images.test.ts checks the Dockerfiles install the union of the declarations.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const CHILD_PROCESS = new Set(['node:child_process', 'child_process']);
const SPAWNING = new Set(['spawn', 'spawnSync', 'execFile', 'execFileSync', 'fork']);
const SHELLS = new Set(['exec', 'execSync']);

export interface SpawnSite {
  file: string;
  line: number;
  call: string;
  /** The program when the first argument is a string literal (`fork` runs node), else null. */
  program: string | null;
}

export interface SpawnedBinaries {
  /** Binary name -> the modules declaring it. */
  binaries: Map<string, string[]>;
  sites: SpawnSite[];
  /** Reachable modules, relative to the root. */
  modules: string[];
  problems: string[];
}

function resolveImport(from: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  const base = resolve(dirname(from), spec);
  for (const candidate of [base, base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')]) {
    if (candidate.endsWith('.ts') && existsSync(candidate)) return candidate;
  }
  return null;
}

function reachable(root: string, entries: string[]): string[] {
  const seen = new Set<string>();
  const queue = entries.map((e) => resolve(root, e));
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const imported of info.importedFiles) {
      const target = resolveImport(file, imported.fileName);
      if (target && !seen.has(target)) queue.push(target);
    }
  }
  return [...seen].sort();
}

function stringLiteral(node: ts.Node | undefined): string | null {
  return node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) ? node.text : null;
}

interface ModuleScan {
  importsChildProcess: boolean;
  declared: string[] | null;
  sites: SpawnSite[];
  literals: string[];
  problems: string[];
}

function scanModule(file: string, name: string): ModuleScan {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const scan: ModuleScan = { importsChildProcess: false, declared: null, sites: [], literals: [], problems: [] };
  // Local names bound to child_process functions (`import { spawn as run }`) and namespaces (`import * as cp`).
  const functions = new Map<string, string>();
  const namespaces = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && CHILD_PROCESS.has(stringLiteral(node.moduleSpecifier) ?? '')) {
      scan.importsChildProcess = true;
      const bindings = node.importClause?.namedBindings;
      if (node.importClause?.name) namespaces.add(node.importClause.name.text);
      if (bindings && ts.isNamespaceImport(bindings)) namespaces.add(bindings.name.text);
      if (bindings && ts.isNamedImports(bindings)) {
        for (const el of bindings.elements) functions.set(el.name.text, (el.propertyName ?? el.name).text);
      }
    }
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && CHILD_PROCESS.has(stringLiteral(node.arguments[0]) ?? '')) {
      scan.importsChildProcess = true;
      scan.problems.push(`${name}: dynamic import of child_process (import it statically so its calls can be checked)`);
    }
    if (ts.isCallExpression(node) && CHILD_PROCESS.has(stringLiteral(node.arguments[0]) ?? '') && ts.isIdentifier(node.expression) && node.expression.text === 'require') {
      scan.importsChildProcess = true;
      scan.problems.push(`${name}: require of child_process (import it statically so its calls can be checked)`);
    }
    if (ts.isVariableStatement(node) && node.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) {
      for (const decl of node.declarationList.declarations) {
        if (ts.isIdentifier(decl.name) && decl.name.text === 'SPAWNED_BINARIES') {
          let init = decl.initializer;
          while (init && (ts.isAsExpression(init) || ts.isSatisfiesExpression(init))) init = init.expression;
          if (!init || !ts.isArrayLiteralExpression(init) || init.elements.some((e) => stringLiteral(e) === null)) {
            scan.problems.push(`${name}: SPAWNED_BINARIES must be an array of string literals`);
          } else scan.declared = init.elements.map((e) => stringLiteral(e)!);
          return; // its own literals do not count as naming the binaries
        }
      }
    }
    const text = stringLiteral(node);
    if (text !== null) scan.literals.push(text);
    if (ts.isCallExpression(node)) {
      let call: string | undefined;
      if (ts.isIdentifier(node.expression)) call = functions.get(node.expression.text);
      else if (ts.isPropertyAccessExpression(node.expression) && ts.isIdentifier(node.expression.expression) && namespaces.has(node.expression.expression.text)) {
        call = node.expression.name.text;
      }
      if (call) {
        const line = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
        if (SHELLS.has(call)) scan.problems.push(`${name}:${line}: ${call} runs a shell; use execFile or spawn with a declared binary`);
        else if (SPAWNING.has(call)) {
          const program = call === 'fork' ? 'node' : stringLiteral(node.arguments[0]);
          scan.sites.push({ file: name, line, call, program });
          const options = node.arguments.find((a) => ts.isObjectLiteralExpression(a));
          const shell = options && ts.isObjectLiteralExpression(options)
            ? options.properties.find((p) => ts.isPropertyAssignment(p) && p.name.getText(source) === 'shell')
            : undefined;
          if (shell && ts.isPropertyAssignment(shell) && shell.initializer.kind !== ts.SyntaxKind.FalseKeyword) {
            scan.problems.push(`${name}:${line}: ${call} with a shell option; spawn the declared binary directly`);
          }
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return scan;
}

/** Scans the modules reachable from `entries` (paths relative to `root`). */
export function spawnedBinaries(root: string, entries: string[]): SpawnedBinaries {
  const result: SpawnedBinaries = { binaries: new Map(), sites: [], modules: [], problems: [] };
  for (const file of reachable(root, entries)) {
    const name = relative(root, file);
    result.modules.push(name);
    const scan = scanModule(file, name);
    result.problems.push(...scan.problems);
    result.sites.push(...scan.sites);
    if (!scan.importsChildProcess) continue;
    if (scan.declared === null) {
      result.problems.push(`${name}: imports child_process but does not export SPAWNED_BINARIES`);
      continue;
    }
    for (const site of scan.sites) {
      if (site.program !== null && !scan.declared.includes(site.program)) {
        result.problems.push(`${name}:${site.line}: ${site.call} runs "${site.program}", not in its SPAWNED_BINARIES`);
      }
    }
    for (const binary of scan.declared) {
      // A declaration names a program the module itself writes down (a literal program, a default, a command).
      const named = scan.literals.some((l) => new RegExp(`(^|[\\s/])${binary.replace(/[.+]/g, '\\$&')}($|\\s)`).test(l));
      if (!named) result.problems.push(`${name}: declares "${binary}" in SPAWNED_BINARIES but never names it`);
      result.binaries.set(binary, [...(result.binaries.get(binary) ?? []), name]);
    }
  }
  return result;
}

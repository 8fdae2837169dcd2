// What a Dockerfile's final stage provides, read from its text (no Docker engine here): the Node base,
// the user it runs as, the npm install, and where each spawned binary comes from. test/infra/images.test.ts
// holds the repository's Dockerfiles to these rules.

export interface Instruction {
  keyword: string;
  args: string;
}

export interface Stage {
  /** The image after ARG substitution. */
  from: string;
  name?: string;
  instructions: Instruction[];
  /** ARG values in scope in this stage (global defaults redeclared, stage defaults). */
  args: Map<string, string>;
}

/** Instructions with continuation lines joined and comments dropped. */
export function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#'))) continue;
    if (pending && line.startsWith('#')) continue; // comment inside a continued instruction
    pending += (pending ? ' ' : '') + line.replace(/\\$/, '').trim();
    if (line.endsWith('\\')) continue;
    const m = /^(\w+)\s*(.*)$/.exec(pending);
    if (m) out.push({ keyword: m[1]!.toUpperCase(), args: m[2]! });
    pending = '';
  }
  return out;
}

function substitute(value: string, args: Map<string, string>): string {
  return value.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, a?: string, b?: string) => args.get((a ?? b)!) ?? whole);
}

function argDeclaration(args: string): [string, string | undefined] {
  const eq = args.indexOf('=');
  return eq < 0 ? [args.trim(), undefined] : [args.slice(0, eq).trim(), args.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1')];
}

export function stages(text: string): Stage[] {
  const globals = new Map<string, string>();
  const result: Stage[] = [];
  for (const ins of instructions(text)) {
    const current = result.at(-1);
    if (ins.keyword === 'ARG') {
      const [name, value] = argDeclaration(ins.args);
      if (!current) {
        if (value !== undefined) globals.set(name, value);
      } else {
        const v = value !== undefined ? substitute(value, current.args) : globals.get(name);
        if (v !== undefined) current.args.set(name, v);
      }
    } else if (ins.keyword === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`unreadable FROM ${ins.args}`);
      result.push({ from: substitute(m[1]!, globals), name: m[2], instructions: [], args: new Map() });
      continue;
    }
    current?.instructions.push(ins);
  }
  return result;
}

/** Debian packages the app image may install, and the programs each one provides. */
export const APT_PROGRAMS: Record<string, string[]> = {
  git: ['git'],
  'openssh-client': ['ssh'],
  'ca-certificates': [],
  curl: ['curl'],
};

export interface AptInstall {
  name: string;
  /** null when not pinned with `name=version`. */
  version: string | null;
}

/** Packages of every `apt-get install` in the stage. */
export function aptInstalls(stage: Stage): AptInstall[] {
  const found: AptInstall[] = [];
  for (const ins of stage.instructions.filter((i) => i.keyword === 'RUN')) {
    for (const cmd of substitute(ins.args, stage.args).split(/&&|;|\|\|/)) {
      const words = cmd.trim().split(/\s+/);
      const at = words.findIndex((w, i) => w === 'install' && words.slice(0, i).some((x) => /^apt(-get)?$/.test(x)));
      if (at < 0) continue;
      for (const word of words.slice(at + 1)) {
        if (word.startsWith('-')) continue;
        const eq = word.indexOf('=');
        found.push(eq < 0 ? { name: word, version: null } : { name: word.slice(0, eq), version: word.slice(eq + 1) });
      }
    }
  }
  return found;
}

export interface KubectlDownload {
  version: string;
  checksumVerified: boolean;
}

/** A kubectl fetched from dl.k8s.io in this stage, with the version its URL names. */
export function kubectlDownload(stage: Stage): KubectlDownload | null {
  for (const ins of stage.instructions.filter((i) => i.keyword === 'RUN')) {
    const run = substitute(ins.args, stage.args);
    const url = /https:\/\/dl\.k8s\.io\/release\/v([^/\s]+)\/bin\/linux\/[^/\s]+\/kubectl(?![.\w])/.exec(run);
    if (!url) continue;
    const sums = /dl\.k8s\.io\/release\/v[^/\s]+\/bin\/linux\/[^/\s]+\/kubectl\.sha256/.test(run);
    return { version: url[1]!, checksumVerified: sums && /sha256sum\s+(-c|--check)\b/.test(run) };
  }
  return null;
}

export interface ProvidedProgram {
  program: string;
  /** `apt git=1:2.39…`, `kubectl v1.35.4 from stage kubectl`, … */
  source: string;
  version: string | null;
  checksumVerified?: boolean;
}

/** Programs the last stage provides beyond its base: pinned-or-not apt packages and a copied/downloaded kubectl. */
export function providedPrograms(all: Stage[]): ProvidedProgram[] {
  const last = all.at(-1)!;
  const provided: ProvidedProgram[] = [];
  for (const pkg of aptInstalls(last)) {
    for (const program of APT_PROGRAMS[pkg.name] ?? []) provided.push({ program, source: `apt ${pkg.name}`, version: pkg.version });
  }
  const own = kubectlDownload(last);
  if (own) provided.push({ program: 'kubectl', source: 'dl.k8s.io', version: own.version, checksumVerified: own.checksumVerified });
  for (const ins of last.instructions.filter((i) => i.keyword === 'COPY')) {
    const m = /--from=(\S+)\s+(\S+)\s+(\S+)$/.exec(ins.args);
    if (!m || !/(^|\/)kubectl$/.test(m[2]!) || !/^\/usr\/(local\/)?bin\/(kubectl)?$/.test(m[3]!)) continue;
    const from = all.find((s) => s.name === m[1]);
    const download = from && kubectlDownload(from);
    if (download) provided.push({ program: 'kubectl', source: `stage ${m[1]}`, version: download.version, checksumVerified: download.checksumVerified });
  }
  return provided;
}

/** The user the last stage runs as (`root` when it never says). */
export function runsAs(all: Stage[]): string {
  const user = all.at(-1)!.instructions.filter((i) => i.keyword === 'USER').at(-1);
  return user ? user.args.split(':')[0]!.trim() : 'root';
}

/** Every `npm ci` / `npm install` of any stage, as written. */
export function npmInstalls(all: Stage[]): string[] {
  return all.flatMap((s) => s.instructions.filter((i) => i.keyword === 'RUN').flatMap((i) => i.args.split(/&&|;/).map((c) => c.trim()).filter((c) => /\bnpm\s+(ci|install|i)\b/.test(c))));
}

/** `node:<major>.<minor>.<patch>-<debian>[-slim]` with an even (LTS) major, else why not. */
export function nodeBaseProblem(image: string): string | null {
  const m = /^node:(\d+)\.(\d+)\.(\d+)-(bookworm|trixie)(-slim)?(@sha256:[0-9a-f]{64})?$/.exec(image);
  if (!m) return `${image}: not node:<major>.<minor>.<patch>-<debian release>[-slim] (a pinned Node on a named Debian release)`;
  const major = Number(m[1]);
  if (major % 2 !== 0 || major < 20) return `${image}: Node ${major} is not a maintained LTS line (even, 20 or later)`;
  return null;
}

import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * The two axes of docs/architecture.md as a checkable rule: every file of lib/ belongs to one
 * family, and some families may not import others. An edge is any relative `import … from`,
 * `export … from`, `import(…)` or `new URL(…, import.meta.url)` (the lazy role loading of the
 * composition root).
 */
export type Family = 'engine' | 'aws' | 'local' | 'root' | 'neutral';

const FAMILIES: readonly [Family, RegExp][] = [
  // the composition roots pick the pieces: they may import anything
  ['root', /^(lib\/cli\/|lib\/platform\/create-platform\.ts$|lib\/engine\/state-stores\.ts$|bin\/)/],
  // database engines: catalog, assess checks, diff side-queries, fence, sequences
  ['engine', /^lib\/(engines|postgres|diff|assess)\/|^lib\/traffic\/postgres-write-fence\.ts$/],
  // control plane aws: DMS, ALB, CloudWatch, S3, SSM, and its CDK constructs
  ['aws', /^lib\/(aws|infra)\//],
  // control plane local: the kit's replicator, router, folder/S3 store, the rehearsal and its demo apps
  ['local', /^lib\/(replication|router|backup|rehearsal|demo)\//],
];

export function familyOf(file: string): Family {
  return FAMILIES.find(([, re]) => re.test(file))?.[0] ?? 'neutral';
}

/** Which families a family must not import. */
export const FORBIDDEN: Readonly<Record<Family, readonly Family[]>> = {
  engine: ['aws', 'local'],
  aws: ['local'],
  local: ['aws'],
  // phases, the runbook engine, config, mappings, output: role interfaces only
  neutral: ['aws', 'local'],
  root: [],
};

export interface Edge {
  readonly from: string;
  readonly to: string;
}

/** Relative imports of one file's text, resolved to repository paths. */
export function importsOf(file: string, text: string): Edge[] {
  const out: Edge[] = [];
  const patterns = [/\bfrom\s+'(\.{1,2}\/[^']+)'/g, /\bimport\s*\(\s*'(\.{1,2}\/[^']+)'\s*\)/g, /\bimport\s+'(\.{1,2}\/[^']+)'/g, /new URL\(\s*'(\.{1,2}\/[^']+)'\s*,\s*import\.meta\.url/g];
  for (const re of patterns) {
    for (const m of text.matchAll(re)) out.push({ from: file, to: path.posix.normalize(path.posix.join(path.posix.dirname(file), m[1]!)) });
  }
  return out;
}

/** Every `.ts` file under `dirs` (relative to `root`) with its text. */
export function readSources(root: string, dirs: readonly string[]): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (rel: string): void => {
    for (const name of readdirSync(path.join(root, rel))) {
      const child = path.posix.join(rel, name);
      if (statSync(path.join(root, child)).isDirectory()) walk(child);
      else if (/\.(ts|mjs)$/.test(name)) files.set(child, readFileSync(path.join(root, child), 'utf8'));
    }
  };
  for (const d of dirs) walk(d);
  return files;
}

/** The edges that break the rule, as `from -> to (family -> family)`. */
export function violations(sources: ReadonlyMap<string, string>): string[] {
  const bad: string[] = [];
  for (const [file, text] of sources) {
    const from = familyOf(file);
    for (const e of importsOf(file, text)) {
      const to = familyOf(e.to);
      if (FORBIDDEN[from].includes(to)) bad.push(`${e.from} -> ${e.to} (${from} must not import ${to})`);
    }
  }
  return bad;
}

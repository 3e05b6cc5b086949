import { CutoverError } from '../errors.ts';

/**
 * The JSON paths of the shadow comparison rules (a small JSONPath subset): `$` the whole body,
 * `.name` a key, `[3]` an index, `[*]` or `.*` any key or index, `..name` a key at any depth.
 * A rule path covers what it names and everything inside it.
 */
export type PathSegment = string | number;

type PatternPart = { readonly kind: 'key'; readonly name: string } | { readonly kind: 'index'; readonly n: number } | { readonly kind: 'any' } | { readonly kind: 'descend' };

export interface PathPattern {
  readonly text: string;
  readonly parts: readonly PatternPart[];
}

export function parsePathPattern(text: string): PathPattern {
  if (!text.startsWith('$')) throw badPath(text, 'it must start with $');
  const parts: PatternPart[] = [];
  const re = /\.\.(\*|[^.[\]]+)|\.(\*|[^.[\]]+)|\[(\*|\d+|'[^']*'|"[^"]*")\]/y;
  let i = 1;
  while (i < text.length) {
    re.lastIndex = i;
    const m = re.exec(text);
    if (!m) throw badPath(text, `cannot read it from character ${i + 1} ("${text.slice(i)}")`);
    if (m[1] !== undefined) parts.push({ kind: 'descend' }, m[1] === '*' ? { kind: 'any' } : { kind: 'key', name: m[1] });
    else if (m[2] !== undefined) parts.push(m[2] === '*' ? { kind: 'any' } : { kind: 'key', name: m[2] });
    else {
      const inner = m[3]!;
      if (inner === '*') parts.push({ kind: 'any' });
      else if (/^\d+$/.test(inner)) parts.push({ kind: 'index', n: Number(inner) });
      else parts.push({ kind: 'key', name: inner.slice(1, -1) });
    }
    i = re.lastIndex;
  }
  return { text, parts };
}

function badPath(text: string, why: string): CutoverError {
  return new CutoverError('CONFIG_INVALID', `shadow rule path ${JSON.stringify(text)} is not a JSON path: ${why}`, {
    received: text,
    allowed: '$, $.name, $.list[*].name, $.list[0], $..name',
    fix: 'correct the path in shadow.compare or shadow.accepted',
  });
}

/** Whether the pattern names exactly this path. */
export function matchesExactly(pattern: PathPattern, path: readonly PathSegment[]): boolean {
  return match(pattern.parts, 0, path, 0);
}

/** Whether the pattern names this path or one that contains it (a difference inside a covered subtree). */
export function covers(pattern: PathPattern, path: readonly PathSegment[]): boolean {
  for (let len = path.length; len >= 0; len--) if (match(pattern.parts, 0, path.slice(0, len), 0)) return true;
  return false;
}

function match(parts: readonly PatternPart[], pi: number, path: readonly PathSegment[], si: number): boolean {
  if (pi === parts.length) return si === path.length;
  const p = parts[pi]!;
  if (p.kind === 'descend') {
    for (let k = si; k <= path.length; k++) if (match(parts, pi + 1, path, k)) return true;
    return false;
  }
  if (si === path.length) return false;
  const seg = path[si]!;
  const ok = p.kind === 'any' || (p.kind === 'key' && seg === p.name) || (p.kind === 'index' && seg === p.n);
  return ok && match(parts, pi + 1, path, si + 1);
}

/** `$.orders[3].status` */
export function formatPath(path: readonly PathSegment[]): string {
  return '$' + path.map((s) => (typeof s === 'number' ? `[${s}]` : /^[A-Za-z_$][\w$]*$/.test(s) ? `.${s}` : `['${s}']`)).join('');
}

/** The path with every index made `[*]`, so noise seen on one element counts for its siblings. */
export function generalPath(path: string): string {
  return path.replace(/\[\d+\]/g, '[*]');
}

/** Parses a formatted path back into segments (`(status)` has none). */
export function segmentsOf(path: string): PathSegment[] {
  if (path === '(status)') return [];
  const out: PathSegment[] = [];
  const re = /\.([A-Za-z_$][\w$]*)|\[(\d+)\]|\['([^']*)'\]/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(path.slice(1)))) out.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : m[3]!));
  return out;
}

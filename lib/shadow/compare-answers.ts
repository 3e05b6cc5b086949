import type { ShadowCompareRule } from '../config/common-schema.ts';
import type { ShadowAnswer } from '../platform/roles.ts';
import { covers, formatPath, matchesExactly, parsePathPattern, type PathPattern, type PathSegment } from './json-path.ts';

/** The comparison rules in force for one route (every rule without a route, plus the route's own). */
export interface CompareRules {
  readonly ignore: readonly PathPattern[];
  readonly unordered: readonly PathPattern[];
  readonly numericTolerance: number;
}

/** At most this many differing paths are listed per comparison. */
const MAX_PATHS = 20;

export function rulesForRoute(rules: readonly ShadowCompareRule[], route: string): CompareRules {
  const mine = rules.filter((r) => r.route === undefined || r.route === route);
  return {
    ignore: mine.flatMap((r) => r.ignore.map(parsePathPattern)),
    unordered: mine.flatMap((r) => r.unordered.map(parsePathPattern)),
    numericTolerance: Math.max(0, ...mine.map((r) => r.numericTolerance)),
  };
}

export interface AnswerDiff {
  readonly equal: boolean;
  /** Where they differ: `(status)` for the HTTP status, else JSON paths such as `$.totalAmount` (`$` when a body is not JSON). */
  readonly paths: readonly string[];
}

/**
 * Compares two answers the way a client would see them: the status first (a different status is
 * the difference, bodies are then not compared), then the body — as JSON when both are JSON,
 * normalized by the rules (ignored paths removed, unordered arrays sorted, numbers within the
 * tolerance equal), else as text.
 */
export function compareAnswers(a: ShadowAnswer, b: ShadowAnswer, rules: CompareRules): AnswerDiff {
  if (a.status !== b.status) return { equal: false, paths: ['(status)'] };
  const ja = parseJson(a.body);
  const jb = parseJson(b.body);
  if (ja === NOT_JSON || jb === NOT_JSON) return a.body === b.body ? { equal: true, paths: [] } : { equal: false, paths: ['$'] };
  const paths: string[] = [];
  diff(normalize(ja, [], rules), normalize(jb, [], rules), [], rules.numericTolerance, paths);
  return { equal: paths.length === 0, paths };
}

const NOT_JSON = Symbol('not json');
const IGNORED = Symbol('ignored');

function parseJson(text: string): unknown {
  if (text === '') return NOT_JSON;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return NOT_JSON;
  }
}

function normalize(value: unknown, path: PathSegment[], rules: CompareRules): unknown {
  if (path.length && rules.ignore.some((p) => covers(p, path))) return IGNORED;
  if (Array.isArray(value)) {
    const items = value.map((v, i) => normalize(v, [...path, i], rules)).filter((v) => v !== IGNORED);
    // an unordered rule names the array itself (arrays inside its elements keep their order)
    if (rules.unordered.some((p) => matchesExactly(p, path))) {
      return items.map((v) => [JSON.stringify(v), v] as const).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)).map(([, v]) => v);
    }
    return items;
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = normalize((value as Record<string, unknown>)[k], [...path, k], rules);
      if (v !== IGNORED) out[k] = v;
    }
    return out;
  }
  return value;
}

function diff(x: unknown, y: unknown, path: PathSegment[], tolerance: number, out: string[]): void {
  if (out.length >= MAX_PATHS) return;
  if (typeof x === 'number' && typeof y === 'number') {
    if (Math.abs(x - y) > tolerance) out.push(formatPath(path));
    return;
  }
  const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  if (kind(x) !== kind(y)) {
    out.push(formatPath(path));
    return;
  }
  if (Array.isArray(x)) {
    const ys = y as unknown[];
    for (let i = 0; i < Math.max(x.length, ys.length); i++) {
      if (i >= x.length || i >= ys.length) out.push(formatPath([...path, i]));
      else diff(x[i], ys[i], [...path, i], tolerance, out);
      if (out.length >= MAX_PATHS) return;
    }
    return;
  }
  if (x !== null && typeof x === 'object') {
    const xo = x as Record<string, unknown>;
    const yo = y as Record<string, unknown>;
    for (const k of [...new Set([...Object.keys(xo), ...Object.keys(yo)])].sort()) {
      if (!(k in xo) || !(k in yo)) out.push(formatPath([...path, k]));
      else diff(xo[k], yo[k], [...path, k], tolerance, out);
      if (out.length >= MAX_PATHS) return;
    }
    return;
  }
  if (x !== y) out.push(formatPath(path));
}

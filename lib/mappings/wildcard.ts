/**
 * DMS object-locator name patterns: `%` any run of characters, `_` one character, `[ab]` a set,
 * `[a-d]` a range, `[_]` a literal underscore. Names are case-sensitive (as DMS documents).
 */

const cache = new Map<string, RegExp>();

export function hasWildcard(pattern: string): boolean {
  return /[%_[]/.test(pattern);
}

/**
 * Whether a locator reads as one literal name rather than a pattern: no `%` and no character set
 * other than `[_]`. A lone `_` is a DMS wildcard but in practice a literal underscore (`t_order`),
 * so it does not make a pattern here. Used to tell a typo (error) from an empty pattern (warning).
 */
export function looksLiteral(pattern: string): boolean {
  return !pattern.includes('%') && !/\[(?!_\])/.test(pattern);
}

export function matchesPattern(pattern: string, name: string): boolean {
  let re = cache.get(pattern);
  if (!re) {
    re = compile(pattern);
    cache.set(pattern, re);
  }
  return re.test(name);
}

/** How precise a pattern is: a plain name beats any pattern; then more literal characters win. */
export function patternSpecificity(pattern: string | undefined): number {
  if (pattern === undefined) return 0;
  if (!hasWildcard(pattern)) return 1_000_000;
  let literal = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end > i) i = end;
      literal += 1;
    } else if (c !== '%' && c !== '_') literal += 2;
  }
  return literal;
}

function compile(pattern: string): RegExp {
  let src = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '%') src += '[\\s\\S]*';
    else if (c === '_') src += '[\\s\\S]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) {
        src += '\\[';
        continue;
      }
      const body = pattern.slice(i + 1, end);
      i = end;
      if (body.length === 0) {
        src += '\\[\\]';
        continue;
      }
      let cls = '';
      for (let j = 0; j < body.length; j++) {
        const ch = body[j]!;
        if (ch === '-' && j > 0 && j < body.length - 1) cls += '-';
        else cls += escapeClassChar(ch);
      }
      src += `[${cls}]`;
    } else src += escapeRegExp(c);
  }
  return new RegExp(src + '$', 'u');
}

function escapeRegExp(c: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(c) ? `\\${c}` : c;
}

function escapeClassChar(c: string): string {
  return /[\\\]^[-]/.test(c) ? `\\${c}` : c;
}

/**
 * A tokenizer for SQLite expressions as DMS transformation rules write them. It finds `$column`
 * parameters without being fooled by string literals or comments, and feeds the PostgreSQL
 * translator.
 */
export type TokenKind = 'param' | 'string' | 'blob' | 'number' | 'ident' | 'qident' | 'op' | 'space' | 'comment' | 'bad';

export interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly pos: number;
}

const ID_START = /[A-Za-z_\u0080-\uffff]/;
const ID_PART = /[A-Za-z0-9_$\u0080-\uffff]/;
const OPERATORS = ['||', '<=', '>=', '<>', '!=', '==', '<<', '>>', '->>', '->', '=', '<', '>', '+', '-', '*', '/', '%', '(', ')', ',', '&', '|', '~', '.', ';'];

export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    const start = i;
    if (/\s/.test(c)) {
      while (i < src.length && /\s/.test(src[i]!)) i++;
      out.push({ kind: 'space', text: src.slice(start, i), pos: start });
    } else if (c === '-' && src[i + 1] === '-') {
      while (i < src.length && src[i] !== '\n') i++;
      out.push({ kind: 'comment', text: src.slice(start, i), pos: start });
    } else if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      i = end < 0 ? src.length : end + 2;
      out.push({ kind: 'comment', text: src.slice(start, i), pos: start });
    } else if ((c === 'x' || c === 'X') && src[i + 1] === "'") {
      i = endOfQuoted(src, i + 1, "'");
      out.push({ kind: 'blob', text: src.slice(start, i), pos: start });
    } else if (c === "'") {
      i = endOfQuoted(src, i, "'");
      out.push({ kind: src[i - 1] === "'" && i - start >= 2 ? 'string' : 'bad', text: src.slice(start, i), pos: start });
    } else if (c === '"' || c === '`') {
      i = endOfQuoted(src, i, c);
      out.push({ kind: 'qident', text: src.slice(start, i), pos: start });
    } else if (c === '[') {
      const end = src.indexOf(']', i + 1);
      i = end < 0 ? src.length : end + 1;
      out.push({ kind: 'qident', text: src.slice(start, i), pos: start });
    } else if (c === '$' || c === ':' || c === '@') {
      i++;
      while (i < src.length && ID_PART.test(src[i]!)) i++;
      out.push({ kind: i - start > 1 ? 'param' : 'bad', text: src.slice(start, i), pos: start });
    } else if (c === '?') {
      i++;
      while (i < src.length && /\d/.test(src[i]!)) i++;
      out.push({ kind: 'param', text: src.slice(start, i), pos: start });
    } else if (/\d/.test(c) || (c === '.' && /\d/.test(src[i + 1] ?? ''))) {
      if (c === '0' && (src[i + 1] === 'x' || src[i + 1] === 'X')) {
        i += 2;
        while (i < src.length && /[0-9a-fA-F]/.test(src[i]!)) i++;
      } else {
        while (i < src.length && /[\d_]/.test(src[i]!)) i++;
        if (src[i] === '.') {
          i++;
          while (i < src.length && /\d/.test(src[i]!)) i++;
        }
        if ((src[i] === 'e' || src[i] === 'E') && /[\d+-]/.test(src[i + 1] ?? '')) {
          i += 2;
          while (i < src.length && /\d/.test(src[i]!)) i++;
        }
      }
      out.push({ kind: 'number', text: src.slice(start, i), pos: start });
    } else if (ID_START.test(c)) {
      while (i < src.length && ID_PART.test(src[i]!)) i++;
      out.push({ kind: 'ident', text: src.slice(start, i), pos: start });
    } else {
      const op = OPERATORS.find((o) => src.startsWith(o, i));
      i += op ? op.length : 1;
      out.push({ kind: op ? 'op' : 'bad', text: src.slice(start, i), pos: start });
    }
  }
  return out;
}

function endOfQuoted(src: string, i: number, q: string): number {
  i++;
  while (i < src.length) {
    if (src[i] === q) {
      if (src[i + 1] === q) i += 2;
      else return i + 1;
    } else i++;
  }
  return i;
}

/** `$name` parameters (without the `$`), in order of first use. */
export function dollarParameters(src: string): { names: string[]; otherParams: string[] } {
  const names: string[] = [];
  const otherParams: string[] = [];
  for (const t of tokenize(src)) {
    if (t.kind !== 'param') continue;
    if (t.text.startsWith('$')) {
      const n = t.text.slice(1);
      if (!names.includes(n)) names.push(n);
    } else otherParams.push(t.text);
  }
  return { names, otherParams };
}

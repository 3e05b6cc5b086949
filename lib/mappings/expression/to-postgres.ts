import { typeFamily } from '../column-types.ts';
import { quoteIdent, quoteLiteral } from '../postgres-quote.ts';
import type { CatalogColumn } from '../types.ts';
import { tokenize, type Token } from './tokenize.ts';

/**
 * Translates a DMS (SQLite) expression into PostgreSQL over the source table's columns, so
 * validation can compute an expression column inside the database. Only a subset is translated,
 * and only where both engines give the same value for every row:
 *
 *   column refs ($col of text, varchar, uuid, numeric [as its text], integer, double precision,
 *   boolean [as 0/1]),
 *   string / integer / real literals, NULL, TRUE/FALSE, `||`, + - * (not on text),
 *   / and % only by a non-zero literal (never integer / integer: SQLite truncates),
 *   = == != <> < <= > >= (text compared bytewise: COLLATE "C"), IS [NOT] NULL, AND/OR/NOT,
 *   lower/upper (ASCII only, as SQLite without ICU), trim/ltrim/rtrim, substr with literal
 *   positive start, replace, length, coalesce/ifnull of one type, CASE, round of integers,
 *   abs, CAST(x AS TEXT/INTEGER/REAL).
 *
 * The result has SQLite's storage class: comparisons come back as integers 0/1 (as SQLite
 * returns them), integers as bigint, reals as double precision. Anything else — or any doubt —
 * returns null and validation compares that column row by row.
 */
export function translateToPostgres(expression: string, params: ReadonlyMap<string, CatalogColumn>): string | null {
  try {
    const p = new Parser(tokenize(expression).filter((t) => t.kind !== 'space' && t.kind !== 'comment'), params);
    const node = p.parseExpression();
    p.expectEnd();
    return asValue(node).sql;
  } catch (err) {
    if (err instanceof Untranslatable) return null;
    throw err;
  }
}

class Untranslatable extends Error {}

type SqlType = 'int' | 'real' | 'text' | 'bool' | 'null';

interface Typed {
  readonly sql: string;
  readonly type: SqlType;
}

function no(reason: string): never {
  throw new Untranslatable(reason);
}

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';

// --- conversions between storage classes ------------------------------------------------------

/** The value as SQLite would hand it back (booleans become 0/1 integers). */
function asValue(n: Typed): Typed {
  switch (n.type) {
    case 'bool':
      return { sql: `(${n.sql})::int::bigint`, type: 'int' };
    case 'int':
      return { sql: `(${n.sql})::bigint`, type: 'int' };
    case 'real':
      return { sql: `(${n.sql})::float8`, type: 'real' };
    case 'text':
      return { sql: `(${n.sql})::text`, type: 'text' };
    case 'null':
      return { sql: 'NULL', type: 'null' };
  }
}

/** Text as SQLite's implicit conversion makes it (`||`, string functions). */
function asText(n: Typed): string {
  switch (n.type) {
    case 'text':
      return n.sql;
    case 'int':
      return `(${n.sql})::text`;
    case 'bool':
      return `(${n.sql})::int::text`;
    case 'null':
      return 'NULL::text';
    case 'real':
      return no('SQLite and PostgreSQL print reals differently');
  }
}

/** Truth value as SQLite tests it (non-zero is true). */
function asCondition(n: Typed): string {
  switch (n.type) {
    case 'bool':
      return n.sql;
    case 'int':
    case 'real':
      return `((${n.sql}) <> 0)`;
    case 'null':
      return 'NULL::boolean';
    case 'text':
      return no('text as a condition converts by numeric prefix in SQLite');
  }
}

function numeric(n: Typed): 'int' | 'real' | 'null' {
  if (n.type === 'bool') return 'int';
  if (n.type === 'int' || n.type === 'real' || n.type === 'null') return n.type;
  return no('arithmetic on text');
}

function numSql(n: Typed, as: 'int' | 'real'): string {
  if (n.type === 'null') return as === 'int' ? 'NULL::bigint' : 'NULL::float8';
  if (n.type === 'bool') return as === 'int' ? `(${n.sql})::int::bigint` : `(${n.sql})::int::float8`;
  return as === 'int' ? `(${n.sql})::bigint` : `(${n.sql})::float8`;
}

/** Unifies branches of CASE / coalesce: one storage class (NULL fits any). */
function unify(nodes: Typed[]): 'int' | 'real' | 'text' | 'null' {
  const kinds = new Set(nodes.map((n) => (n.type === 'bool' ? 'int' : n.type)).filter((t) => t !== 'null'));
  if (kinds.size === 0) return 'null';
  if (kinds.size > 1) return no('branches of different storage classes');
  return [...kinds][0] as 'int' | 'real' | 'text';
}

function castTo(n: Typed, t: 'int' | 'real' | 'text' | 'null'): string {
  if (t === 'null') return 'NULL';
  if (t === 'text') return asText(n);
  return numSql(n, t);
}

// --- parser --------------------------------------------------------------------------------------

class Parser {
  private i = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly params: ReadonlyMap<string, CatalogColumn>,
  ) {}

  private peek(offset = 0): Token | undefined {
    return this.tokens[this.i + offset];
  }

  private isOp(text: string): boolean {
    const t = this.peek();
    return t !== undefined && t.kind === 'op' && t.text === text;
  }

  private isWord(word: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t !== undefined && t.kind === 'ident' && t.text.toUpperCase() === word;
  }

  private next(): Token {
    const t = this.tokens[this.i++];
    if (!t) no('unexpected end');
    return t;
  }

  private expectOp(text: string): void {
    if (!this.isOp(text)) no(`expected ${text}`);
    this.i++;
  }

  private expectWord(word: string): void {
    if (!this.isWord(word)) no(`expected ${word}`);
    this.i++;
  }

  expectEnd(): void {
    if (this.i < this.tokens.length) no('trailing tokens');
  }

  parseExpression(): Typed {
    return this.parseOr();
  }

  private parseOr(): Typed {
    let left = this.parseAnd();
    while (this.isWord('OR')) {
      this.i++;
      const right = this.parseAnd();
      left = { sql: `(${asCondition(left)} OR ${asCondition(right)})`, type: 'bool' };
    }
    return left;
  }

  private parseAnd(): Typed {
    let left = this.parseNot();
    while (this.isWord('AND')) {
      this.i++;
      const right = this.parseNot();
      left = { sql: `(${asCondition(left)} AND ${asCondition(right)})`, type: 'bool' };
    }
    return left;
  }

  private parseNot(): Typed {
    if (this.isWord('NOT')) {
      this.i++;
      const x = this.parseNot();
      return { sql: `(NOT ${asCondition(x)})`, type: 'bool' };
    }
    return this.parseEquality();
  }

  private parseEquality(): Typed {
    let left = this.parseRelational();
    for (;;) {
      if (this.isOp('=') || this.isOp('==') || this.isOp('!=') || this.isOp('<>')) {
        const op = this.next().text;
        const right = this.parseRelational();
        left = compare(left, op === '==' ? '=' : op === '!=' ? '<>' : op, right);
      } else if (this.isWord('IS')) {
        this.i++;
        let negate = false;
        if (this.isWord('NOT')) {
          this.i++;
          negate = true;
        }
        const right = this.parseRelational();
        if (right.type === 'null') left = { sql: `(${left.sql} IS ${negate ? 'NOT ' : ''}NULL)`, type: 'bool' };
        else {
          const t = comparable(left, right);
          left = { sql: `(${t.l} IS ${negate ? '' : 'NOT '}DISTINCT FROM ${t.r})`, type: 'bool' };
        }
      } else if (this.isWord('ISNULL') || this.isWord('NOTNULL')) {
        const w = this.next().text.toUpperCase();
        left = { sql: `(${left.sql} IS ${w === 'NOTNULL' ? 'NOT ' : ''}NULL)`, type: 'bool' };
      } else if (this.isWord('NOT') && this.isWord('NULL', 1)) {
        this.i += 2;
        left = { sql: `(${left.sql} IS NOT NULL)`, type: 'bool' };
      } else if (['LIKE', 'GLOB', 'IN', 'BETWEEN', 'MATCH', 'REGEXP'].some((w) => this.isWord(w)) || (this.isWord('NOT') && this.peek(1))) {
        no('operator outside the translated subset');
      } else return left;
    }
  }

  private parseRelational(): Typed {
    let left = this.parseBitwise();
    while (this.isOp('<') || this.isOp('<=') || this.isOp('>') || this.isOp('>=')) {
      const op = this.next().text;
      const right = this.parseBitwise();
      left = compare(left, op, right);
    }
    return left;
  }

  private parseBitwise(): Typed {
    const left = this.parseAdditive();
    if (this.isOp('&') || this.isOp('|') || this.isOp('<<') || this.isOp('>>')) no('bitwise operators');
    return left;
  }

  private parseAdditive(): Typed {
    let left = this.parseMultiplicative();
    while (this.isOp('+') || this.isOp('-')) {
      const op = this.next().text;
      const right = this.parseMultiplicative();
      left = arithmetic(left, op, right);
    }
    return left;
  }

  private parseMultiplicative(): Typed {
    let left = this.parseConcat();
    while (this.isOp('*') || this.isOp('/') || this.isOp('%')) {
      const op = this.next().text;
      const right = this.parseConcat();
      if (op === '*') left = arithmetic(left, op, right);
      else left = division(left, op, right);
    }
    return left;
  }

  private parseConcat(): Typed {
    let left = this.parseUnary();
    while (this.isOp('||')) {
      this.i++;
      const right = this.parseUnary();
      left = { sql: `(${asText(left)} || ${asText(right)})`, type: 'text' };
    }
    if (this.isOp('->') || this.isOp('->>')) no('JSON operators');
    return left;
  }

  private parseUnary(): Typed {
    if (this.isOp('-')) {
      this.i++;
      const x = this.parseUnary();
      const t = numeric(x);
      if (t === 'null') return { sql: 'NULL', type: 'null' };
      return { sql: `(-${numSql(x, t)})`, type: t };
    }
    if (this.isOp('+')) {
      this.i++;
      return this.parseUnary();
    }
    if (this.isOp('~')) no('bitwise not');
    const x = this.parsePrimary();
    if (this.isWord('COLLATE')) no('COLLATE');
    return x;
  }

  private parsePrimary(): Typed {
    const t = this.next();
    switch (t.kind) {
      case 'string':
        return { sql: `${quoteLiteral(t.text.slice(1, -1).replace(/''/g, "'"))}::text`, type: 'text' };
      case 'number':
        return numberLiteral(t.text);
      case 'param':
        return this.column(t.text);
      case 'op':
        if (t.text === '(') {
          const x = this.parseExpression();
          if (this.isOp(',')) no('row values');
          this.expectOp(')');
          return x;
        }
        return no(`operator ${t.text}`);
      case 'ident':
        return this.word(t);
      default:
        return no(`token ${t.text}`);
    }
  }

  private column(text: string): Typed {
    if (!text.startsWith('$')) no('parameter form');
    const col = this.params.get(text.slice(1));
    if (!col) return no('unknown column');
    const ref = quoteIdent(col.name);
    switch (typeFamily(col.type)) {
      case 'integer':
        return { sql: `${ref}::bigint`, type: 'int' };
      case 'float':
        // real (float4) reaches SQLite as the decimal node-postgres printed, not the widened float
        if (!/^double precision$|^float8$/i.test(col.type.trim())) no('real (float4) columns');
        return { sql: `${ref}::float8`, type: 'real' };
      case 'text':
      case 'uuid':
      case 'numeric':
        return { sql: `${ref}::text`, type: 'text' };
      case 'boolean':
        return { sql: `${ref}::int::bigint`, type: 'int' };
      default:
        return no(`column type ${col.type}`);
    }
  }

  private word(t: Token): Typed {
    const w = t.text.toUpperCase();
    if (w === 'NULL') return { sql: 'NULL', type: 'null' };
    if (w === 'TRUE') return { sql: '1::bigint', type: 'int' };
    if (w === 'FALSE') return { sql: '0::bigint', type: 'int' };
    if (w === 'CASE') return this.caseExpression();
    if (w === 'CAST') return this.cast();
    if (this.isOp('(')) return this.call(t.text.toLowerCase());
    return no(`identifier ${t.text}`);
  }

  private args(): Typed[] {
    this.expectOp('(');
    const out: Typed[] = [];
    if (this.isOp(')')) {
      this.i++;
      return out;
    }
    if (this.isWord('DISTINCT')) no('aggregate');
    if (this.isOp('*')) no('aggregate');
    for (;;) {
      out.push(this.parseExpression());
      if (this.isOp(',')) {
        this.i++;
        continue;
      }
      this.expectOp(')');
      return out;
    }
  }

  private call(name: string): Typed {
    const a = this.args();
    const arity = (min: number, max: number): void => {
      if (a.length < min || a.length > max) no(`${name} arity`);
    };
    switch (name) {
      case 'lower':
      case 'upper': {
        arity(1, 1);
        const [from, to] = name === 'lower' ? [UPPER, LOWER] : [LOWER, UPPER];
        return { sql: `translate(${asText(a[0]!)}, '${from}', '${to}')`, type: 'text' };
      }
      case 'trim':
      case 'ltrim':
      case 'rtrim': {
        arity(1, 2);
        const fn = name === 'trim' ? 'btrim' : name;
        const chars = a.length === 2 ? asText(a[1]!) : `' '`;
        return { sql: `${fn}(${asText(a[0]!)}, ${chars})`, type: 'text' };
      }
      case 'substr':
      case 'substring': {
        arity(2, 3);
        const start = positiveLiteral(a[1]!, 1);
        const len = a.length === 3 ? positiveLiteral(a[2]!, 0) : undefined;
        const x = a[0]!;
        if (x.type !== 'text' && x.type !== 'int' && x.type !== 'null') no('substr of a non-text value');
        return { sql: `substr(${asText(x)}, ${start}${len !== undefined ? `, ${len}` : ''})`, type: 'text' };
      }
      case 'replace':
        arity(3, 3);
        return { sql: `replace(${asText(a[0]!)}, ${asText(a[1]!)}, ${asText(a[2]!)})`, type: 'text' };
      case 'length': {
        arity(1, 1);
        const x = a[0]!;
        if (x.type === 'null') return { sql: 'NULL', type: 'null' };
        return { sql: `length(${asText(x)})::bigint`, type: 'int' };
      }
      case 'coalesce':
      case 'ifnull': {
        arity(2, name === 'ifnull' ? 2 : 64);
        const t = unify(a);
        if (t === 'null') return { sql: 'NULL', type: 'null' };
        return { sql: `coalesce(${a.map((x) => castTo(x, t)).join(', ')})`, type: t };
      }
      case 'round': {
        arity(1, 2);
        if (a.length === 2) positiveLiteral(a[1]!, 0);
        const x = a[0]!;
        if (x.type === 'null') return { sql: 'NULL', type: 'null' };
        if (x.type !== 'int' && x.type !== 'bool') no('round of a real: rounding rules differ');
        return { sql: numSql(x, 'real'), type: 'real' };
      }
      case 'abs': {
        arity(1, 1);
        const t = numeric(a[0]!);
        if (t === 'null') return { sql: 'NULL', type: 'null' };
        return { sql: `abs(${numSql(a[0]!, t)})`, type: t };
      }
      default:
        return no(`function ${name}`);
    }
  }

  private cast(): Typed {
    this.expectOp('(');
    const x = this.parseExpression();
    this.expectWord('AS');
    const words: string[] = [];
    while (this.peek() && this.peek()!.kind === 'ident') words.push(this.next().text.toUpperCase());
    if (this.isOp('(')) no('type with size');
    this.expectOp(')');
    const name = words.join(' ');
    // SQLite's affinity rules for a declared type name
    const affinity = name.includes('INT') ? 'int' : /CHAR|CLOB|TEXT/.test(name) ? 'text' : /REAL|FLOA|DOUB/.test(name) ? 'real' : 'other';
    if (x.type === 'null') return { sql: 'NULL', type: 'null' };
    if (affinity === 'text') return { sql: asText(x), type: 'text' };
    if (affinity === 'int') {
      if (x.type === 'int' || x.type === 'bool') return { sql: numSql(x, 'int'), type: 'int' };
      if (x.type === 'real') {
        // SQLite saturates at the 64-bit limits where PostgreSQL would raise
        const r = `(${x.sql})::float8`;
        return {
          sql: `(CASE WHEN ${r} >= 9223372036854775807::float8 THEN 9223372036854775807::bigint WHEN ${r} <= -9223372036854775808::float8 THEN '-9223372036854775808'::bigint ELSE trunc(${r})::bigint END)`,
          type: 'int',
        };
      }
      return no('CAST of text to INTEGER parses a numeric prefix in SQLite');
    }
    if (affinity === 'real') {
      if (x.type === 'int' || x.type === 'bool' || x.type === 'real') return { sql: numSql(x, 'real'), type: 'real' };
      return no('CAST of text to REAL');
    }
    return no(`CAST AS ${name}`);
  }

  private caseExpression(): Typed {
    let subject: Typed | undefined;
    if (!this.isWord('WHEN')) subject = this.parseExpression();
    const whens: { cond: string; value: Typed }[] = [];
    while (this.isWord('WHEN')) {
      this.i++;
      const w = this.parseExpression();
      this.expectWord('THEN');
      const value = this.parseExpression();
      const cond = subject ? compare(subject, '=', w).sql : asCondition(w);
      whens.push({ cond, value });
    }
    if (whens.length === 0) no('CASE without WHEN');
    let otherwise: Typed | undefined;
    if (this.isWord('ELSE')) {
      this.i++;
      otherwise = this.parseExpression();
    }
    this.expectWord('END');
    const t = unify([...whens.map((w) => w.value), ...(otherwise ? [otherwise] : [])]);
    if (t === 'null') return { sql: 'NULL', type: 'null' };
    const parts = whens.map((w) => `WHEN ${w.cond} THEN ${castTo(w.value, t)}`);
    return { sql: `(CASE ${parts.join(' ')}${otherwise ? ` ELSE ${castTo(otherwise, t)}` : ''} END)`, type: t };
  }
}

function numberLiteral(text: string): Typed {
  if (/^0[xX]/.test(text)) {
    const v = BigInt(text);
    if (v > 0x7fffffffffffffffn) no('hex beyond 64 bits');
    return { sql: `(${v.toString()})::bigint`, type: 'int' };
  }
  if (text.includes('_')) no('digit separators');
  if (/^\d+$/.test(text)) {
    if (BigInt(text) > 9223372036854775807n) no('integer literal beyond 64 bits is a REAL in SQLite');
    return { sql: `(${text})::bigint`, type: 'int' };
  }
  return { sql: `'${text}'::float8`, type: 'real' };
}

function positiveLiteral(n: Typed, min: number): number {
  const m = /^\((\d+)\)::bigint$/.exec(n.sql);
  if (n.type !== 'int' || !m) return no('position must be an integer literal');
  const v = Number(m[1]);
  if (v < min) no('position below the translated range');
  return v;
}

function comparable(l: Typed, r: Typed): { l: string; r: string } {
  const lt = l.type === 'bool' ? 'int' : l.type;
  const rt = r.type === 'bool' ? 'int' : r.type;
  if (lt === 'text' || rt === 'text') {
    if ((lt !== 'text' && lt !== 'null') || (rt !== 'text' && rt !== 'null')) no('text compared with a number');
    return { l: `(${asText(l)}) COLLATE "C"`, r: `(${asText(r)}) COLLATE "C"` };
  }
  if (lt === 'null' && rt === 'null') return { l: 'NULL::bigint', r: 'NULL::bigint' };
  const t: 'int' | 'real' = lt === 'real' || rt === 'real' ? 'real' : 'int';
  return { l: numSql(l, t), r: numSql(r, t) };
}

function compare(l: Typed, op: string, r: Typed): Typed {
  const c = comparable(l, r);
  return { sql: `(${c.l} ${op} ${c.r})`, type: 'bool' };
}

function arithmetic(l: Typed, op: string, r: Typed): Typed {
  const lt = numeric(l);
  const rt = numeric(r);
  if (lt === 'null' || rt === 'null') return { sql: 'NULL', type: 'null' };
  const t: 'int' | 'real' = lt === 'real' || rt === 'real' ? 'real' : 'int';
  return { sql: `(${numSql(l, t)} ${op} ${numSql(r, t)})`, type: t };
}

function division(l: Typed, op: string, r: Typed): Typed {
  const lt = numeric(l);
  const rt = numeric(r);
  if (lt === 'null' || rt === 'null') return { sql: 'NULL', type: 'null' };
  // SQLite returns NULL for a zero divisor where PostgreSQL raises: only literal divisors
  const lit = /^(?:\((\d+)\)::bigint|'([\d.eE+-]+)'::float8)$/.exec(r.sql);
  if (!lit || Number(lit[1] ?? lit[2]) === 0) no('divisor must be a non-zero literal');
  if (op === '/') {
    if (lt === 'int' && rt === 'int') no('integer division truncates in SQLite');
    return { sql: `(${numSql(l, 'real')} / ${numSql(r, 'real')})`, type: 'real' };
  }
  if (lt !== 'int' || rt !== 'int') no('% of reals');
  return { sql: `(${numSql(l, 'int')} % ${numSql(r, 'int')})`, type: 'int' };
}

import type { SmokeStep } from '../config/common-schema.ts';
import type { Output } from '../output/output.ts';

export interface SmokeStepResult {
  readonly name: string;
  readonly method: string;
  readonly path: string;
  readonly status: number | null;
  readonly ok: boolean;
  readonly ms: number;
  readonly problems: string[];
  readonly captured: Record<string, unknown>;
}

export interface SmokeResult {
  readonly ok: boolean;
  readonly baseUrl: string;
  readonly results: SmokeStepResult[];
}

/** Per-call timeout: a smoke flow is a handful of quick calls. */
const SMOKE_CALL_TIMEOUT_MS = 10_000;

/**
 * Runs the configured business flow (e.g. place order -> pay -> ship -> reconcile) against one
 * app, in order, stopping at the first failing step. `{name}` in a path or in a body string is
 * replaced by a value captured by an earlier step.
 */
export async function runSmoke(steps: readonly SmokeStep[], baseUrl: string, out: Output): Promise<SmokeResult> {
  const vars: Record<string, unknown> = {};
  const results: SmokeStepResult[] = [];
  for (const step of steps) {
    const result = await runStep(step, baseUrl.replace(/\/+$/, ''), vars);
    results.push(result);
    if (result.ok) out.ok('smoke', `${step.name}: ${step.method} ${result.path} -> ${result.status} (${result.ms} ms)`);
    else {
      out.error('smoke', `${step.name}: ${step.method} ${result.path} -> ${result.status ?? 'no answer'}: ${result.problems.join('; ')}`);
      return { ok: false, baseUrl, results };
    }
  }
  return { ok: true, baseUrl, results };
}

async function runStep(step: SmokeStep, base: string, vars: Record<string, unknown>): Promise<SmokeStepResult> {
  const problems: string[] = [];
  const path = fill(step.path, vars, problems);
  const body = step.body === undefined ? undefined : fillDeep(step.body, vars, problems);
  const t0 = performance.now();
  const ms = () => Math.round((performance.now() - t0) * 10) / 10;
  const base_ = { name: step.name, method: step.method, path, captured: {} as Record<string, unknown> };
  if (problems.length) return { ...base_, status: null, ok: false, ms: 0, problems };
  let status: number;
  let json: unknown = undefined;
  try {
    const res = await fetch(base + path, {
      method: step.method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(SMOKE_CALL_TIMEOUT_MS),
    });
    status = res.status;
    const text = await res.text();
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = text;
    }
  } catch (err) {
    return { ...base_, status: null, ok: false, ms: ms(), problems: [`no answer from ${base}: ${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message}`] };
  }
  if (status !== step.expectStatus) problems.push(`expected status ${step.expectStatus}, got ${status}`);
  for (const [p, expected] of Object.entries(step.expectBody)) {
    const actual = valueAtPath(json, p);
    if (JSON.stringify(actual) !== JSON.stringify(expected)) problems.push(`body.${p} is ${JSON.stringify(actual) ?? 'missing'}, expected ${JSON.stringify(expected)}`);
  }
  for (const [name, p] of Object.entries(step.capture)) {
    const v = valueAtPath(json, p);
    if (v === undefined) problems.push(`cannot capture {${name}}: body.${p} is missing`);
    else {
      vars[name] = v;
      base_.captured[name] = v;
    }
  }
  return { ...base_, status, ok: problems.length === 0, ms: ms(), problems };
}

/** Dot path into JSON; array indexes are numbers (`items.0.sku`). */
export function valueAtPath(root: unknown, dotPath: string): unknown {
  let cur = root;
  for (const key of dotPath.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

function fill(text: string, vars: Record<string, unknown>, problems: string[]): string {
  return text.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (m, name: string) => {
    if (!(name in vars)) {
      problems.push(`{${name}} was not captured by an earlier step`);
      return m;
    }
    return encodeURIComponent(String(vars[name]));
  });
}

function fillDeep(value: unknown, vars: Record<string, unknown>, problems: string[]): unknown {
  if (typeof value === 'string') {
    // a string that is exactly one placeholder keeps the captured value's type (numbers stay numbers)
    const whole = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(value);
    if (whole && whole[1]! in vars) return vars[whole[1]!];
    return value.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (m, name: string) => {
      if (!(name in vars)) {
        problems.push(`{${name}} was not captured by an earlier step`);
        return m;
      }
      return String(vars[name]);
    });
  }
  if (Array.isArray(value)) return value.map((v) => fillDeep(v, vars, problems));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillDeep(v, vars, problems)]));
  return value;
}

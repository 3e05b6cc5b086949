import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { z } from 'zod';
import { CutoverError, formatValue } from '../errors.ts';
import { configSchema, type AwsEnvironment, type Environment, type PostgresEnvironment } from './schema.ts';

export const DEFAULT_CONFIG_FILE = 'cutover.config.ts';

export interface LoadedConfig {
  /** Absolute path of the config file. */
  readonly file: string;
  /** Folder that relative paths inside the config are resolved against. */
  readonly dir: string;
  readonly environments: Readonly<Record<string, Environment>>;
}

interface ResolvedCommon {
  /** The environment's name, e.g. `staging`. */
  readonly name: string;
  /** Whether traffic and data steps ask for the name to be typed. */
  readonly isProtected: boolean;
  /** Absolute folder for journal, lock, worker pid and checkpoints. */
  readonly stateDir: string;
  /** Absolute paths of the DMS table-mapping files. */
  readonly mappingFiles: { readonly forward: string; readonly reverse: string };
  readonly configFile: string;
}

export type ResolvedPostgresEnvironment = PostgresEnvironment &
  ResolvedCommon & {
    /** Absolute folder of the folder backup store; unused when `backup.s3` is set (see openBackupStore). */
    readonly backupDir: string;
  };
export type ResolvedAwsEnvironment = AwsEnvironment & ResolvedCommon;
export type ResolvedEnvironment = ResolvedPostgresEnvironment | ResolvedAwsEnvironment;

/** Replaces `${NAME}` in every string of the config with the environment variable; unset is an error. */
export function expandEnvVars(value: unknown, env: NodeJS.ProcessEnv, at: string[] = [], problems: string[] = []): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
      const v = env[name];
      if (v === undefined) {
        problems.push(`${at.join('.') || '(root)'}: environment variable \${${name}} is not set (export ${name}=… or remove the reference)`);
        return '';
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => expandEnvVars(v, env, [...at, String(i)], problems));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = expandEnvVars(v, env, [...at, k], problems);
    return out;
  }
  return value;
}

function valueAt(root: unknown, p: readonly PropertyKey[]): unknown {
  let cur: unknown = root;
  for (const key of p) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key as string];
  }
  return cur;
}

const SECRET_KEY = /password|secret(?!Arn)|token/i;

/** The value with every URL's password and every secret-ish key's value replaced by `***`, at any depth. */
function masked(key: string, v: unknown): unknown {
  if (SECRET_KEY.test(key)) return '***';
  // a URL's password; also `user:pw@host` missing its scheme or slashes (the very typo being reported)
  if (typeof v === 'string') return v.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@').replace(/^([a-z][a-z0-9+.-]*:\/?)?([^:/@\s]+:)(?!\*\*\*@)[^@\s/]*@/i, '$1$2***@');
  if (Array.isArray(v)) return v.map((item) => masked('', item));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, masked(k, item)]));
  return v;
}

/**
 * Secrets never appear in error messages: URLs lose their password, secret-ish keys are masked,
 * inside objects too (a bad environment name or a failed cross-field check prints a whole object).
 */
function safeValue(p: readonly PropertyKey[], v: unknown): string {
  if (v === undefined) return '(missing)';
  const text = formatValue(masked(String(p[p.length - 1] ?? ''), v));
  return text.length > 120 ? text.slice(0, 117) + '...' : text;
}

/** One line per problem: field path, bad value, what is expected. */
export function describeIssues(issues: readonly z.core.$ZodIssue[], input: unknown): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    const p = issue.path;
    const field = p.length ? p.map(String).join('.') : '(root)';
    const received = safeValue(p, valueAt(input, p));
    let expected = issue.message;
    if (issue.code === 'unrecognized_keys') {
      expected = `unknown field(s) ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}: remove or fix the spelling`;
      lines.push(`${field}: ${expected}`);
      continue;
    }
    if (issue.code === 'invalid_key') {
      // a record's key (an environment name): zod's own message is "Invalid key in record"; the key's rule is inside
      const parent = p.slice(0, -1).map(String).join('.') || '(root)';
      const rule = issue.issues.map((inner) => inner.message).join('; ');
      lines.push(`${parent}: key ${formatValue(String(p[p.length - 1]))} is not allowed; expected ${rule}`);
      continue;
    }
    if (issue.code === 'invalid_union' && 'note' in issue && issue.note === 'No matching discriminator') {
      expected = 'platform must be "postgres" (or its alias "local") or "aws"';
    }
    lines.push(`${field}: got ${received}; expected ${expected}`);
  }
  return lines;
}

async function readConfigFile(file: string): Promise<unknown> {
  if (file.endsWith('.json')) {
    try {
      return JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new CutoverError('CONFIG_INVALID', `${file} is not valid JSON: ${(err as Error).message}`, {
        fix: 'fix the JSON syntax (a trailing comma or a missing quote is the usual cause)',
      });
    }
  }
  if (/\.(ts|mts|js|mjs)$/.test(file)) {
    try {
      const mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
      return mod.default ?? mod;
    } catch (err) {
      throw new CutoverError('CONFIG_INVALID', `${file} could not be loaded: ${(err as Error).message}`, {
        fix: 'the file must `export default defineConfig({ environments: { … } })`',
        cause: err,
      });
    }
  }
  throw new CutoverError('CONFIG_INVALID', `unsupported config file type: ${file}`, {
    received: path.extname(file) || `${path.basename(file)} (no extension)`,
    allowed: '.ts, .mts, .js, .mjs or .json',
    fix: 'point --config at a cutover config file: cutover.config.ts or a .json with { "environments": { … } }',
  });
}

export interface LoadConfigOptions {
  /** `--config PATH`. @default cutover.config.ts in `cwd` */
  readonly file?: string;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** Reads, expands `${VAR}`s and validates the config, reporting every problem at once. */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const cwd = options.cwd ?? process.cwd();
  const file = path.resolve(cwd, options.file ?? DEFAULT_CONFIG_FILE);
  if (!existsSync(file)) {
    throw new CutoverError('CONFIG_NOT_FOUND', `config file not found: ${file}`, {
      received: options.file ?? DEFAULT_CONFIG_FILE,
      fix: options.file ? 'check the --config path' : `create ${DEFAULT_CONFIG_FILE} (every field: docs/config-reference.md) or pass --config PATH`,
    });
  }
  return parseConfig(await readConfigFile(file), file, options.env ?? process.env);
}

/** Validates an already-read config object (`file` anchors relative paths). */
export function parseConfig(raw: unknown, file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const problems: string[] = [];
  const expanded = expandEnvVars(raw, env, [], problems);
  const parsed = configSchema.safeParse(expanded);
  if (!parsed.success) problems.push(...describeIssues(parsed.error.issues, expanded));
  if (problems.length || !parsed.success) {
    throw new CutoverError('CONFIG_INVALID', `${problems.length} problem(s) in ${file}`, {
      problems,
      received: file,
      fix: 'correct the fields listed above; docs/config-reference.md lists every field and its default',
    });
  }
  return { file, dir: path.dirname(file), environments: parsed.data.environments };
}

export function slotSafe(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}

/** Picks one environment by name and resolves its paths; an unknown name lists the known ones. */
export function selectEnvironment(config: LoadedConfig, name: string | undefined): ResolvedEnvironment {
  const known = Object.keys(config.environments);
  if (!name) {
    if (known.length === 1) name = known[0]!;
    else
      throw new CutoverError('USAGE', `no environment given, and ${config.file} defines ${known.length || 'no'} environment(s)`, {
        received: '(no --env)',
        allowed: known.join(', ') || '(none defined)',
        fix: `pass --env NAME (for cdk: -c env=NAME)`,
      });
  }
  const env = config.environments[name];
  if (!env) {
    throw new CutoverError('ENV_UNKNOWN', `unknown environment "${name}"`, {
      received: name,
      allowed: known.length ? known.join(', ') : '(none defined in the config)',
      fix: `use one of the known environments, or add "${name}" under environments in ${config.file}`,
    });
  }
  const rel = (p: string) => path.resolve(config.dir, p);
  const stateDir = rel((env.platform === 'postgres' && env.stateDir) || path.join('.cutover', name));
  const common: ResolvedCommon = {
    name,
    isProtected: env.protected ?? name === 'prod',
    stateDir,
    mappingFiles: { forward: rel(env.mappings.forward), reverse: rel(env.mappings.reverse) },
    configFile: config.file,
  };
  if (env.platform === 'postgres') {
    return {
      ...env,
      ...common,
      replication: {
        ...env.replication,
        slotName: env.replication.slotName ?? `cutover_${slotSafe(name)}`,
        publicationName: env.replication.publicationName ?? `cutover_${slotSafe(name)}`,
      },
      backupDir: rel(env.backup.dir ?? path.join(stateDir, 'backups')),
    };
  }
  return { ...env, ...common };
}

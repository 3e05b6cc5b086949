import { fileURLToPath } from 'node:url';
import { CutoverError } from '../errors.ts';

/**
 * Imports a part of the kit that may not be built yet (platform adapters and traffic phases are
 * written alongside the engine), given as `new URL('../x/y.ts', import.meta.url)`. A missing
 * module becomes NOT_SUPPORTED naming it, so the rest of the CLI keeps working.
 */
export async function importOptional<T = Record<string, unknown>>(url: URL, what: string): Promise<T> {
  const file = fileURLToPath(url);
  try {
    return (await import(url.href)) as T;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const missing = e?.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes(file);
    throw new CutoverError('NOT_SUPPORTED', `${what} is not available: ${missing ? `${file} is not part of this build` : `${file} failed to load: ${e?.message ?? String(err)}`}`, {
      fix: missing ? 'update the kit to a version that has it' : 'this is a bug in the kit; report it with the message above',
      cause: err,
    });
  }
}

/** An export of an optional module, or NOT_SUPPORTED when the module has no such export. */
export function exported<T>(mod: Record<string, unknown>, name: string, url: URL): T {
  const value = mod[name];
  if (value === undefined) throw new CutoverError('NOT_SUPPORTED', `${fileURLToPath(url)} has no export ${name}`, { fix: 'update the kit' });
  return value as T;
}

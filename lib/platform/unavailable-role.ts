import type { CutoverError } from '../errors.ts';

/**
 * A stand-in for a role whose module could not be loaded or is not configured: any method call
 * rejects with the reason (NOT_SUPPORTED), so only the commands that need the role fail.
 */
export function unavailableRole<T extends object>(reason: CutoverError, fields: Record<string, unknown> = {}): T {
  return new Proxy(fields, {
    get(target, prop) {
      if (typeof prop === 'symbol' || prop === 'then') return undefined;
      if (prop in target) return target[prop];
      return () => Promise.reject(reason);
    },
  }) as T;
}

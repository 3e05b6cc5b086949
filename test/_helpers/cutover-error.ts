import { CutoverError } from '../../lib/errors.ts';

/** Runs `fn` and returns the CutoverError it throws; anything else (or nothing) fails the test. */
export function thrownCutoverError(fn: () => unknown): CutoverError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CutoverError) return err;
    throw err;
  }
  throw new Error('expected a CutoverError, nothing was thrown');
}

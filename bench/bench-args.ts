/**
 * `--name value` options of a bench script: `value` reads one, `count` one that must be a whole
 * number >= 1 (else the script says which and exits 2).
 */
export function benchArgs(args: readonly string[]): { value(name: string): string | undefined; count(name: string, fallback: number): number } {
  const value = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  return {
    value,
    count(name, fallback) {
      const v = value(name);
      if (v === undefined) return fallback;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) {
        console.error(`${name} must be a whole number >= 1, got ${v}`);
        process.exit(2);
      }
      return n;
    },
  };
}

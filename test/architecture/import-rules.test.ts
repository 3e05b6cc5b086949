import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { familyOf, importsOf, readSources, violations } from './import-graph.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('the two axes (docs/architecture.md): engines never import a control plane, the control planes never import each other', () => {
  const sources = readSources(root, ['lib', 'bin']);

  test('the tree keeps the rule', () => {
    expect(sources.size).toBeGreaterThan(100);
    // a checker that saw no edges would pass anything
    expect([...sources].reduce((n, [f, t]) => n + importsOf(f, t).length, 0)).toBeGreaterThan(500);
    expect(violations(sources)).toEqual([]);
  });

  test('every family has files (a renamed folder must not empty one silently)', () => {
    const families = new Set([...sources.keys()].map(familyOf));
    expect([...families].sort()).toEqual(['aws', 'engine', 'local', 'neutral', 'root']);
  });

  test.each([
    ['an engine importing the aws control plane', 'lib/diff/side-query.ts', "import { x } from '../aws/dms-replicator.ts';", 'engine must not import aws'],
    ['an engine importing the local control plane', 'lib/postgres/catalog.ts', "import { x } from '../replication/lsn.ts';", 'engine must not import local'],
    ['aws importing local', 'lib/aws/dms-replicator.ts', "export { x } from '../router/router-core.ts';", 'aws must not import local'],
    ['local importing aws (lazily)', 'lib/backup/s3-backup-store.ts', "const m = await import('../aws/s3-lock-store.ts');", 'local must not import aws'],
    ['a phase importing a control plane', 'lib/phases/validate-phase.ts', "const u = new URL('../infra/nag.ts', import.meta.url);", 'neutral must not import aws'],
  ])('mutation: %s is caught', (_what, file, line, message) => {
    expect(sources.has(file)).toBe(true);
    const mutated = new Map(sources);
    mutated.set(file, `${line}\n${sources.get(file)}`);
    const found = violations(mutated);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(message);
  });
});

import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig, selectEnvironment, type ResolvedPostgresEnvironment } from '../../../lib/config/load.ts';

/**
 * A real, validated `postgres` environment (every default filled by the config schema), with
 * a throw-away state folder. `overrides` are merged into the raw config before validation.
 */
export function testEnvironment(overrides: Record<string, unknown> = {}): ResolvedPostgresEnvironment {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-traffic-'));
  const raw = {
    environments: {
      lab: {
        platform: 'postgres',
        source: { url: 'postgres://postgres@127.0.0.1:1/blue' },
        target: { url: 'postgres://postgres@127.0.0.1:1/green' },
        mappings: { forward: 'forward.json', reverse: 'reverse.json' },
        stateDir: path.join(dir, 'state'),
        ...overrides,
      },
    },
  };
  return selectEnvironment(parseConfig(raw, path.join(dir, 'cutover.config.json'), {}), 'lab') as ResolvedPostgresEnvironment;
}

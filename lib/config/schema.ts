import { z } from 'zod';
import { awsEnvironmentSchema, type AwsEnvironment } from './aws-environment.ts';
import { postgresEnvironmentSchema, type PostgresEnvironment } from './postgres-environment.ts';

/**
 * `platform: "local"` is another name for `"postgres"` (the kit's own control plane, whatever the
 * engines of the two URLs): read as `"postgres"` so every later check sees one name.
 */
const localAlias = (v: unknown): unknown =>
  v !== null && typeof v === 'object' && (v as { platform?: unknown }).platform === 'local' ? { ...(v as object), platform: 'postgres' } : v;

export const environmentSchema = z.preprocess(localAlias, z.discriminatedUnion('platform', [postgresEnvironmentSchema, awsEnvironmentSchema]));

export const configSchema = z
  .object({
    /** Named environments: `staging`, `prod`, or any other name. */
    environments: z.record(
      z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'an environment name is lower-case letters, digits and dashes'),
      environmentSchema,
    ),
  })
  .strict();

export type CutoverConfigInput = z.input<typeof configSchema>;
export type Environment = z.output<typeof environmentSchema>;
export type { AwsEnvironment, PostgresEnvironment };

/** Typed helper for `cutover.config.ts`: `export default defineConfig({ environments: { … } })`. */
export function defineConfig(config: CutoverConfigInput): CutoverConfigInput {
  return config;
}

import { z } from 'zod';
import {
  assessSchema,
  bakeSchema,
  gatesSchema,
  pacingSchema,
  reverseExemptionSchema,
  shadowSchema,
  shiftSchema,
  smokeStepSchema,
  switchSchema,
  validationSchema,
  waveSchema,
} from './common-schema.ts';
import { DATABASE_URL_PATTERN } from '../engines/engine-of-url.ts';
import { missingUrlParts } from './database-url.ts';
import { isBackupKey, s3KeyPrefix } from '../platform/backup-store.ts';

/** Each side's engine comes from its URL scheme (lib/engines/engine-of-url.ts). */
const databaseUrl = z
  .string()
  .regex(
    DATABASE_URL_PATTERN,
    'a postgres://, postgresql://, mysql:// or mariadb:// URL, e.g. postgres://user:${PGPASSWORD}@127.0.0.1:5432/db or mysql://user:${MYSQL_PWD}@127.0.0.1:3306/legacy_shop',
  )
  .superRefine((url, ctx) => {
    const missing = DATABASE_URL_PATTERN.test(url) ? missingUrlParts(url) : [];
    if (missing.length) {
      ctx.addIssue({
        code: 'custom',
        message: `a complete URL — this one has no ${missing.join(', ')}, which the driver would fill in silently (the OS user, 127.0.0.1, a database named like the user): user@host[:port]/database, e.g. postgres://user:\${PGPASSWORD}@127.0.0.1:5432/db`,
      });
    }
  });

/** An explicit `schemas` override: at least one name. */
const schemasSchema = z.array(z.string().min(1)).min(1, 'at least one schema name, or leave the field out to read the schemas the mapping names');

/** The `backup.s3` store. */
const backupS3Schema = z
  .object({
    /** An S3-compatible server, e.g. `http://127.0.0.1:9000`. @default - AWS S3 in `region` */
    endpoint: z.string().url().optional(),
    bucket: z.string().min(3),
    /** @default 'us-east-1' */
    region: z.string().default('us-east-1'),
    /** Objects go under `s3://<bucket>/<prefix>/`. @default - none: the bucket root */
    prefix: z
      .string()
      .refine((p) => isBackupKey(s3KeyPrefix(p)), 'a key prefix like "cutover/lab": no leading "/", no empty or ".." segment')
      .optional(),
    /** Path-style URLs (`http://host/bucket/key`), which most S3-compatible servers need. @default true when `endpoint` is set, else false */
    forcePathStyle: z.boolean().optional(),
  })
  .strict();

/**
 * A `postgres` environment: bring-your-own PostgreSQL source and target by URL. This shape is a
 * contract (see shared CONTRACTS.md): only `platform`, `source.url`, `target.url` and
 * `mappings` are required.
 */
export const postgresEnvironmentSchema = z
  .object({
    platform: z.literal('postgres'),
    /** Traffic and data steps ask for the environment name to be typed. @default true for `prod`, else false */
    protected: z.boolean().optional(),
    source: z
      .object({
        url: databaseUrl,
        /**
         * Schemas the kit reads the forward mapping against; a selection rule naming a schema
         * outside the list is an error. @default - the schemas the forward mapping's selection rules name (a pattern: every user schema)
         */
        schemas: schemasSchema.optional(),
      })
      .strict(),
    target: z
      .object({
        url: databaseUrl,
        /**
         * Schemas the kit reads the reverse mapping against (green's tables).
         * @default - the schemas the reverse mapping's selection rules name (a pattern: every user schema)
         */
        schemas: schemasSchema.optional(),
      })
      .strict(),
    mappings: z
      .object({
        /** AWS DMS table-mapping JSON, source -> target. Relative to the config file. */
        forward: z.string().min(1),
        /** AWS DMS table-mapping JSON, target -> source (reverse replication after the switch). */
        reverse: z.string().min(1),
      })
      .strict(),
    /** Journal, lock, worker pid and checkpoints. @default '.cutover/<env>' beside the config file */
    stateDir: z.string().optional(),
    /** Backups (snapshot): a folder or a bucket, not both. @default { dir: '<stateDir>/backups' } */
    backup: z
      .object({
        /** A folder used as the backup store. @default '<stateDir>/backups' when `s3` is not set */
        dir: z.string().optional(),
        /** An S3 bucket (AWS, or an S3-compatible server) instead of a folder; credentials come from the AWS SDK chain, never from here. */
        s3: backupS3Schema.optional(),
      })
      .strict()
      .refine((b) => !(b.dir !== undefined && b.s3 !== undefined), {
        message: 'one backup store: set backup.dir (a folder) or backup.s3 (a bucket), not both',
      })
      .default({}),
    /** The weighted router's admin API (the rehearsal starts one). @default none: traffic commands refuse */
    router: z.object({ adminUrl: z.string().url() }).strict().optional(),
    /** Direct URLs of the apps, for smoke checks. @default none */
    apps: z
      .object({ blue: z.object({ url: z.string().url() }).strict().optional(), green: z.object({ url: z.string().url() }).strict().optional() })
      .strict()
      .default({}),
    replication: z
      .object({
        /** @default 'cutover_<env>' (non-word characters replaced by `_`) */
        slotName: z.string().regex(/^[a-z0-9_]+$/).optional(),
        /** @default 'cutover_<env>' */
        publicationName: z.string().regex(/^[a-z0-9_]+$/).optional(),
        /** Tables loaded at once during full load. @default 2 */
        parallelTables: z.number().int().positive().default(2),
        /** Rows per key-range chunk in full load. @default 50000 */
        chunkRows: z.number().int().positive().default(50_000),
        /** Changes applied per target transaction in CDC. @default 2000 */
        batchSize: z.number().int().positive().default(2000),
        /** Ordered waves of tables. @default one wave with every selected table */
        waves: z.array(waveSchema).default([]),
        /**
         * `status` and `assess` warn when an inactive slot of the kit retains more WAL than this
         * many MiB on the side it reads (an unread slot keeps every WAL segment: the disk fills).
         * @default 1024
         */
        retainedWalWarnMb: z.number().positive().default(1024),
        /**
         * Green tables (forward targets) the reverse mapping does not bring back, each with the reason
         * nothing writes it on green after the switch; assess blocks on any other uncovered table.
         * (Optional rather than defaulted so the AWS view of an environment needs no value.)
         * @default - none: every forward target table must be in the reverse mapping
         */
        reverseExempt: z.array(reverseExemptionSchema).optional(),
      })
      .strict()
      .default({ parallelTables: 2, chunkRows: 50_000, batchSize: 2000, waves: [], retainedWalWarnMb: 1024 }),
    validation: validationSchema.default({ chunkRows: 10_000, concurrency: 4, floatTolerance: 0, reconciliation: [] }),
    /** Pacing of the kit's reads on the source against blue's health. @default - on: blue p99 1000 ms, 16 active sessions, 30 s longest wait */
    pacing: pacingSchema.prefault({}),
    /** Shadow reads before the first shift. @default - 60 s, 10 % of GET/HEAD, gate at 1 % mismatches */
    shadow: shadowSchema.prefault({}),
    shift: shiftSchema.default({ steps: [1, 10, 50, 100], bakeSeconds: 30 }),
    gates: gatesSchema.default({ maxErrorRatio: 0.01, maxP99RatioToBlue: 3, maxLagMs: 1000, maxValidationAgeSeconds: 3600, minRequests: 20 }),
    switch: switchSchema.default({ catchUpTimeoutMs: 10_000, maxHoldMs: 15_000, sequenceGap: 1000 }),
    bake: bakeSchema.default({ seconds: 60 }),
    /** Data-quality checks run by `assess` on the source. @default { checks: [] } */
    assess: assessSchema.default({ checks: [], keepTargetRows: [] }),
    /** Business flow checked against green before the first shift. @default [] (gate passes with a warning) */
    smoke: z.array(smokeStepSchema).default([]),
  })
  .strict();

export type PostgresEnvironment = z.output<typeof postgresEnvironmentSchema>;

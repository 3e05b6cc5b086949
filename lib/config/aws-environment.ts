import { z } from 'zod';
import { bakeSchema, gatesSchema, shiftSchema, smokeStepSchema, switchSchema, validationSchema, waveSchema } from './common-schema.ts';

const arn = (service: string) =>
  z.string().regex(new RegExp(`^arn:aws[a-z-]*:${service}:`), `an ARN of the ${service} service (arn:aws:${service}:…)`);

/**
 * An `aws` environment: what `cdk deploy -c env=NAME` provisions and the runbook drives.
 * Credentials are only ever Secrets Manager ARNs, never inline.
 */
export const awsEnvironmentSchema = z
  .object({
    platform: z.literal('aws'),
    account: z.string().regex(/^\d{12}$/, 'a 12-digit AWS account id'),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as eu-west-1'),
    /** @default true for `prod`, else false */
    protected: z.boolean().optional(),
    /** An existing VPC by id, or a new one. @default { create: true } */
    vpc: z
      .union([
        z.object({ id: z.string().regex(/^vpc-[0-9a-f]+$/, 'a VPC id such as vpc-0abc1234') }).strict(),
        z.object({ create: z.literal(true), maxAzs: z.number().int().min(2).max(3).default(2) }).strict(),
      ])
      .default({ create: true, maxAzs: 2 }),
    source: z
      .object({
        engine: z.enum(['mysql', 'mariadb', 'postgres', 'aurora-postgresql', 'aurora-mysql']),
        host: z.string().min(1),
        port: z.number().int().min(1).max(65535),
        database: z.string().min(1),
        /** Secrets Manager secret with `username` and `password`. */
        secretArn: arn('secretsmanager'),
        /** RDS instance or cluster identifier, for snapshots and AWS Backup. @default none: snapshot refuses */
        dbInstanceIdentifier: z.string().optional(),
        dbClusterIdentifier: z.string().optional(),
      })
      .strict(),
    target: z
      .union([
        z
          .object({
            create: z.literal(true),
            database: z.string().default('app'),
            /** Aurora Serverless v2 capacity range. @default 0.5..4 ACU */
            minCapacity: z.number().min(0).default(0.5),
            maxCapacity: z.number().min(1).default(4),
          })
          .strict(),
        z
          .object({
            endpoint: z.string().min(1),
            port: z.number().int().default(5432),
            database: z.string().min(1),
            secretArn: arn('secretsmanager'),
            dbClusterIdentifier: z.string().optional(),
          })
          .strict(),
      ])
      .default({ create: true, database: 'app', minCapacity: 0.5, maxCapacity: 4 }),
    blue: z.object({ targetGroupArn: arn('elasticloadbalancing') }).strict(),
    green: z.union([
      z.object({ targetGroupArn: arn('elasticloadbalancing') }).strict(),
      z
        .object({
          fargate: z
            .object({
              image: z.string().min(1),
              containerPort: z.number().int().default(8080),
              cpu: z.number().int().default(512),
              memoryMiB: z.number().int().default(1024),
              desiredCount: z.number().int().min(1).default(2),
              healthCheckPath: z.string().default('/health'),
            })
            .strict(),
        })
        .strict(),
    ]),
    /** The existing listener, or a new internet-facing ALB. @default { create: true } */
    alb: z
      .union([
        z.object({ listenerArn: arn('elasticloadbalancing') }).strict(),
        z.object({ create: z.literal(true), certificateArn: arn('acm').optional() }).strict(),
      ])
      .default({ create: true }),
    mappings: z.object({ forward: z.string().min(1), reverse: z.string().min(1) }).strict(),
    replication: z
      .object({
        /** @default 'dms.r6i.large' */
        instanceClass: z.string().default('dms.r6i.large'),
        /** @default 100 */
        allocatedStorageGiB: z.number().int().min(5).default(100),
        /** @default true for prod */
        multiAz: z.boolean().optional(),
        waves: z.array(waveSchema).default([]),
      })
      .strict()
      .default({ instanceClass: 'dms.r6i.large', allocatedStorageGiB: 100, waves: [] }),
    backup: z
      .object({
        /** Object-lock retention in governance mode. @default 30 */
        objectLockDays: z.number().int().min(1).default(30),
        /** Days before backups move to cold storage. @default 30 */
        coldAfterDays: z.number().int().min(1).default(30),
        /** AWS Backup daily (incremental) retention. @default 14 */
        dailyRetentionDays: z.number().int().min(1).default(14),
        /** AWS Backup weekly (full) retention. @default 90 */
        weeklyRetentionDays: z.number().int().min(1).default(90),
      })
      .strict()
      .default({ objectLockDays: 30, coldAfterDays: 30, dailyRetentionDays: 14, weeklyRetentionDays: 90 }),
    /** E-mail subscribed to the alarm topic. @default none */
    alarmEmail: z.string().email().optional(),
    validation: validationSchema.default({ chunkRows: 10_000, concurrency: 4, floatTolerance: 0, reconciliation: [] }),
    shift: shiftSchema.default({ steps: [1, 10, 50, 100], bakeSeconds: 30 }),
    gates: gatesSchema.default({ maxErrorRatio: 0.01, maxP99RatioToBlue: 3, maxLagMs: 1000, maxValidationAgeSeconds: 3600, minRequests: 20 }),
    switch: switchSchema.default({ catchUpTimeoutMs: 10_000, maxHoldMs: 15_000, sequenceGap: 1000 }),
    bake: bakeSchema.default({ seconds: 60 }),
    smoke: z.array(smokeStepSchema).default([]),
  })
  .strict();

export type AwsEnvironment = z.output<typeof awsEnvironmentSchema>;

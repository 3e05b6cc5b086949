import { z } from 'zod';
import { bakeSchema, gatesSchema, shadowSchema, shiftSchema, smokeStepSchema, switchSchemaWith, pacingSchema,
  validationSchema, waveSchema } from './common-schema.ts';

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
    /**
     * An existing VPC, or a new one. An existing VPC is described in full (id, zones, private
     * subnets) so `cdk synth` never needs AWS credentials for a lookup.
     * @default { create: true, maxAzs: 2, cidrBlock: '10.0.0.0/16' }
     */
    vpc: z
      .union([
        z
          .object({
            id: z.string().regex(/^vpc-[0-9a-f]+$/, 'a VPC id such as vpc-0abc1234'),
            /** The VPC's IPv4 CIDR; the green service accepts its container port from it. */
            cidrBlock: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'an IPv4 CIDR such as 10.0.0.0/16'),
            /** Availability zones of `privateSubnetIds`, same order and length. */
            availabilityZones: z.array(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d[a-z]$/, 'a zone such as eu-west-1a')).min(2),
            /** Private subnets (with a route to the internet or VPC endpoints) for DMS, Aurora and Fargate. */
            privateSubnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]+$/, 'a subnet id such as subnet-0abc1234')).min(2),
            /** Public subnets, same zones; needed only when `alb.create` makes a new internet-facing ALB. @default none */
            publicSubnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]+$/, 'a subnet id such as subnet-0abc1234')).optional(),
          })
          .strict()
          .refine((v) => v.availabilityZones.length === v.privateSubnetIds.length, {
            message: 'vpc.availabilityZones and vpc.privateSubnetIds must have the same length (one zone per subnet)',
          }),
        z
          .object({
            create: z.literal(true),
            /** @default 2 */
            maxAzs: z.number().int().min(2).max(3).default(2),
            /** @default '10.0.0.0/16' */
            cidrBlock: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/16$/, 'a /16 IPv4 CIDR such as 10.0.0.0/16').default('10.0.0.0/16'),
          })
          .strict(),
      ])
      .default({ create: true, maxAzs: 2, cidrBlock: '10.0.0.0/16' }),
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
        z
          .object({
            listenerArn: arn('elasticloadbalancing'),
            /** Security group of that listener's load balancer: the green service then accepts only it. @default none (the VPC CIDR) */
            loadBalancerSecurityGroupId: z.string().regex(/^sg-[0-9a-f]+$/, 'a security group id such as sg-0abc1234').optional(),
            /** Priority of the write rule (POST/PUT/PATCH/DELETE -> blue) on the listener. @default 10 */
            writeRulePriority: z.number().int().min(1).max(50_000).default(10),
          })
          .strict(),
        z
          .object({
            create: z.literal(true),
            /** HTTPS on 443 with this certificate; without one the new ALB listens on HTTP 80. @default none (HTTP) */
            certificateArn: arn('acm').optional(),
            /** Priority of the write rule on the new listener. @default 10 */
            writeRulePriority: z.number().int().min(1).max(50_000).default(10),
          })
          .strict(),
      ])
      .default({ create: true, writeRulePriority: 10 }),
    mappings: z.object({ forward: z.string().min(1), reverse: z.string().min(1) }).strict(),
    replication: z
      .object({
        /** @default 'dms.r6i.large' */
        instanceClass: z.string().default('dms.r6i.large'),
        /** @default 100 */
        allocatedStorageGiB: z.number().int().min(5).default(100),
        /** @default true for prod */
        multiAz: z.boolean().optional(),
        /**
         * Create the account-wide `dms-vpc-role` and `dms-cloudwatch-logs-role`. Set false for the
         * second environment deployed into the same account (the names are fixed by DMS).
         * @default true
         */
        createServiceRoles: z.boolean().default(true),
        waves: z.array(waveSchema).default([]),
      })
      .strict()
      .default({ instanceClass: 'dms.r6i.large', allocatedStorageGiB: 100, createServiceRoles: true, waves: [] }),
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
    /** CloudWatch alarm thresholds that are not gates (gates.maxErrorRatio and gates.maxP99RatioToBlue are used as-is). */
    alarms: z
      .object({
        /** p99 `TargetResponseTime` of either target group above this alarms. @default 2 */
        p99LatencySeconds: z.number().positive().default(2),
        /** DMS `CDCLatencySource` / `CDCLatencyTarget` above this alarms. @default 60 */
        cdcLatencySeconds: z.number().int().positive().default(60),
        /** Consecutive 1-minute periods over the threshold before an alarm fires. @default 3 */
        evaluationPeriods: z.number().int().min(1).default(3),
      })
      .strict()
      .default({ p99LatencySeconds: 2, cdcLatencySeconds: 60, evaluationPeriods: 3 }),
    validation: validationSchema.default({ chunkRows: 10_000, concurrency: 4, floatTolerance: 0, reconciliation: [] }),
    /** Pacing of the kit's reads on the source against blue's health; accepted for a shared config, not applied on aws yet. @default - on: blue p99 1000 ms, 16 active sessions, 30 s longest wait */
    pacing: pacingSchema.prefault({}),
    /** Shadow reads before the first shift. @default - 60 s, 10 % of GET/HEAD, gate at 1 % mismatches */
    shadow: shadowSchema.prefault({}),
    /**
     * The kit's router (`lib/router/`) where it runs in front of blue behind the ALB — the target of
     * the blue target group, forwarding every request to blue and mirroring `shadow.percent` of
     * GET/HEAD to green — by its admin URL, reachable from where `cutover` runs (keep it private:
     * the admin API has no authentication). The ALB still moves the traffic; this router only
     * mirrors, in the shadow phase. The kit does not deploy it (see README, "Where it runs").
     * @default - none: an ALB cannot mirror, so `cutover shadow` is "not available" unless `shadow.skip`
     */
    shadowRouter: z.object({ adminUrl: z.string().url() }).strict().optional(),
    shift: shiftSchema.default({ steps: [1, 10, 50, 100], bakeSeconds: 30 }),
    gates: gatesSchema.default({ maxErrorRatio: 0.01, maxP99RatioToBlue: 3, maxLagMs: 1000, maxValidationAgeSeconds: 3600, minRequests: 20 }),
    switch: switchSchemaWith({ catchUpTimeoutMs: 180_000, maxHoldMs: 240_000 }).default({ catchUpTimeoutMs: 180_000, maxHoldMs: 240_000, sequenceGap: 1000 }),
    bake: bakeSchema.default({ seconds: 60 }),
    smoke: z.array(smokeStepSchema).default([]),
  })
  .strict();

export type AwsEnvironment = z.output<typeof awsEnvironmentSchema>;

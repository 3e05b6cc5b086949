import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { selectEnvironment, type LoadedConfig } from '../../lib/config/load.ts';
import { awsEnvironmentsToSynth } from '../../lib/infra/cutover-app.ts';
import { targetGroupFullName } from '../../lib/infra/elb-arns.ts';
import { readTableMappingFile } from '../../lib/infra/mapping-file.ts';
import { fixtureConfig, fixtureRawConfig } from './fixture-config.ts';
import { thrownCutoverError as thrown } from '../_helpers/cutover-error.ts';

function withStaging(patch: (staging: Record<string, any>) => void): Record<string, unknown> {
  const raw = fixtureRawConfig() as { environments: Record<string, Record<string, any>> };
  patch(raw.environments.staging!);
  return raw;
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'cutover-infra-config-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('aws environment config errors', () => {
  test('fails if a field is invalid: CONFIG_INVALID names the field path and the value', () => {
    const err = thrown(() => fixtureConfig(withStaging((s) => (s.account = '12345'))));
    expect(err.code).toBe('CONFIG_INVALID');
    const problem = err.details.problems!.find((p) => p.startsWith('environments.staging.account'));
    expect(problem).toContain('"12345"');
    expect(problem).toContain('12-digit');
  });

  test('fails if several fields are invalid: one problem per field', () => {
    const err = thrown(() =>
      fixtureConfig(
        withStaging((s) => {
          s.region = 'Ireland';
          s.source.secretArn = 'my-password-secret';
          s.alb = { create: true, writeRulePriority: 0 };
        }),
      ),
    );
    expect(err.code).toBe('CONFIG_INVALID');
    const fields = err.details.problems!.map((p) => p.split(':')[0]);
    expect(fields).toEqual(expect.arrayContaining(['environments.staging.region', 'environments.staging.source.secretArn']));
    expect(fields.some((f) => f.startsWith('environments.staging.alb'))).toBe(true);
  });

  test('fails if an existing VPC lists a different number of zones and subnets', () => {
    const err = thrown(() =>
      fixtureConfig(withStaging((s) => (s.vpc = { id: 'vpc-0abc', cidrBlock: '10.0.0.0/16', availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'], privateSubnetIds: ['subnet-0a', 'subnet-0b'] }))),
    );
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.details.problems!.join('\n')).toContain('same length');
  });

  test('fails if a password-like field is wrong without printing its value', () => {
    const err = thrown(() => fixtureConfig(withStaging((s) => (s.source.password = 'hunter2'))));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(JSON.stringify(err.toJSON())).not.toContain('hunter2');
  });

  test('fails if -c env= is unknown: ENV_UNKNOWN lists the known environments', () => {
    const config: LoadedConfig = fixtureConfig();
    const err = thrown(() => awsEnvironmentsToSynth(config, 'qa'));
    expect(err.code).toBe('ENV_UNKNOWN');
    expect(err.details.received).toBe('qa');
    expect(err.details.allowed).toBe('staging, prod, byo, lab');
  });

  test('fails if -c env= names a postgres environment: nothing to deploy', () => {
    const err = thrown(() => awsEnvironmentsToSynth(fixtureConfig(), 'lab'));
    expect(err.code).toBe('NOT_SUPPORTED');
    expect(err.message).toContain('postgres environment');
    expect(err.details.allowed).toBe('staging, prod, byo');
  });

  test('without -c env= every aws environment is synthesized and postgres ones are skipped', () => {
    expect(awsEnvironmentsToSynth(fixtureConfig(), undefined).map((e) => e.name)).toEqual(['staging', 'prod', 'byo']);
  });

  test('fails if a mapping file is missing: CONFIG_INVALID with the path', () => {
    const env = selectEnvironment(fixtureConfig(withStaging((s) => (s.mappings = { forward: 'nope.json', reverse: 'reverse.json' }))), 'staging');
    const err = thrown(() => readTableMappingFile(env.mappingFiles.forward, 'forward'));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain('nope.json');
  });

  test('fails if a mapping file is not JSON or not a DMS mapping: MAPPING_INVALID', () => {
    writeFileSync(path.join(tmp, 'broken.json'), '{ "rules": [ }');
    writeFileSync(path.join(tmp, 'other.json'), '{ "tables": [] }');
    expect(thrown(() => readTableMappingFile(path.join(tmp, 'broken.json'), 'forward')).code).toBe('MAPPING_INVALID');
    expect(thrown(() => readTableMappingFile(path.join(tmp, 'other.json'), 'reverse')).code).toBe('MAPPING_INVALID');
  });

  test('fails if a target group ARN has no targetgroup/NAME/ID tail', () => {
    expect(targetGroupFullName('arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/blue/0123abcd')).toBe('targetgroup/blue/0123abcd');
    expect(thrown(() => targetGroupFullName('arn:aws:elasticloadbalancing:eu-west-1:111111111111:loadbalancer/app/x/1')).code).toBe('CONFIG_INVALID');
  });
});

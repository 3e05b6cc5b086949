import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, test } from 'vitest';
import { OPTIONAL_SSM_PARAMETER_NAMES, SSM_PARAMETER_NAMES, ssmParameterName } from '../../lib/platform/ssm-parameter-names.ts';
import { PARAMETER_KEYS, cutoverParameterName, type ParameterKey } from '../../lib/infra/parameter-names.ts';
import { synthEnvironment, type SynthesizedEnvironment } from './synth.ts';

describe('SSM parameters and outputs under /cutover/<env>/', () => {
  let staging: SynthesizedEnvironment;
  let byo: SynthesizedEnvironment;
  beforeAll(() => {
    staging = synthEnvironment('staging');
    byo = synthEnvironment('byo');
  });

  const names = (env: SynthesizedEnvironment) =>
    [env.foundation, env.application, env.replication, env.backup].flatMap((t) =>
      Object.values(t.findResources('AWS::SSM::Parameter')).map((p) => p.Properties.Name as string),
    );

  test('staging publishes every parameter the runbooks look up', () => {
    const published = new Set(names(staging));
    for (const key of Object.keys(PARAMETER_KEYS) as ParameterKey[]) expect(published, key).toContain(cutoverParameterName('staging', key));
  });

  test('the names are those lib/aws reads: every required one, every optional one, for both target kinds', () => {
    for (const env of [staging, byo]) {
      const published = new Set(names(env));
      const envName = env.stage.stageName;
      for (const key of Object.keys(SSM_PARAMETER_NAMES) as (keyof typeof SSM_PARAMETER_NAMES)[]) {
        expect(published, `${envName} ${key}`).toContain(ssmParameterName(envName, key));
      }
      for (const key of Object.keys(OPTIONAL_SSM_PARAMETER_NAMES) as (keyof typeof OPTIONAL_SSM_PARAMETER_NAMES)[]) {
        expect(published, `${envName} ${key}`).toContain(ssmParameterName(envName, key));
      }
    }
    // state-parameter-name points at the state parameter itself
    staging.application.hasResourceProperties('AWS::SSM::Parameter', { Name: '/cutover/staging/state-parameter-name', Value: { Ref: Match.anyValue() } });
  });

  test('an environment with an existing target publishes its endpoint from the config', () => {
    expect(names(byo)).toContain('/cutover/byo/target-endpoint');
    const all = JSON.stringify(byo.application.findResources('AWS::SSM::Parameter'));
    expect(all).toContain('duoduo.cluster-abc.eu-west-1.rds.amazonaws.com');
  });

  test('every parameter is also a stack output', () => {
    const outputs = [staging.foundation, staging.application, staging.replication, staging.backup].flatMap((t) => Object.values(t.toJSON().Outputs ?? {}));
    const described = outputs.map((o) => String((o as { Description?: string }).Description));
    for (const name of names(staging).filter((n) => n !== '/cutover/staging/state')) {
      expect(described.some((d) => d.includes(name)), name).toBe(true);
    }
  });

  test('stacks are named cutover-<env>-<part> and protected environments get termination protection', () => {
    expect(staging.stage.stacks.map((s) => s.stackName)).toEqual([
      'cutover-staging-foundation',
      'cutover-staging-application',
      'cutover-staging-replication',
      'cutover-staging-backup',
    ]);
    expect(staging.stage.stacks.every((s) => !s.terminationProtection)).toBe(true);
    const prod = synthEnvironment('prod');
    expect(prod.stage.stacks.every((s) => s.terminationProtection)).toBe(true);
  });
});

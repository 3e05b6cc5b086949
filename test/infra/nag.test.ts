import { beforeAll, describe, expect, test } from 'vitest';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { buildCutoverApp } from '../../lib/infra/cutover-app.ts';
import { fixtureConfig } from './fixture-config.ts';
import { nagFindings, synthEnvironment, type SynthesizedEnvironment } from './synth.ts';

// `cdk synth` exits 0 even with nag errors: this file is what fails the build on a finding.
describe('cdk-nag AwsSolutionsChecks', () => {
  const envs: Record<string, SynthesizedEnvironment> = {};
  beforeAll(() => {
    for (const name of ['staging', 'prod', 'byo']) envs[name] = synthEnvironment(name, { nag: true });
  });

  for (const name of ['staging', 'prod', 'byo']) {
    test(`${name} has no unsuppressed AwsSolutions error or warning`, () => {
      const findings = nagFindings(envs[name]!.stage).map((f) => `${f.level} ${f.path}: ${f.message.split('\n')[0]}`);
      expect(findings).toEqual([]);
    });
  }

  test('every suppression carries a written reason', () => {
    const reasons: string[] = [];
    for (const env of Object.values(envs)) {
      for (const stack of env.stage.stacks) {
        for (const c of stack.node.findAll()) {
          const rules = (c.node.metadata.find((m) => m.type === 'cdk_nag')?.data as { rules_to_suppress?: { reason: string }[] } | undefined)
            ?.rules_to_suppress;
          for (const r of rules ?? []) reasons.push(r.reason);
          const cfn = (c as { cfnOptions?: { metadata?: { cdk_nag?: { rules_to_suppress?: { reason: string }[] } } } }).cfnOptions;
          for (const r of cfn?.metadata?.cdk_nag?.rules_to_suppress ?? []) reasons.push(r.reason);
        }
      }
    }
    expect(reasons.length).toBeGreaterThan(0);
    for (const reason of reasons) expect(reason.length).toBeGreaterThanOrEqual(40);
  });

  test('the real app applies the checks: an open bucket injected into its stage is reported', () => {
    // buildCutoverApp with its defaults, as bin/app.ts calls it: if it stops applying
    // AwsSolutionsChecks, the injected violation goes unreported and this fails
    const { stages } = buildCutoverApp({ config: fixtureConfig(), environmentName: 'byo', cloudFormationValidation: false });
    const stage = stages[0]!;
    new s3.Bucket(stage.backup, 'InjectedOpenBucket');
    const findings = nagFindings(stage).filter((f) => f.path.includes('InjectedOpenBucket'));
    expect(findings.map((f) => f.message.split(':')[0])).toEqual(expect.arrayContaining(['AwsSolutions-S1', 'AwsSolutions-S10']));
  });
});

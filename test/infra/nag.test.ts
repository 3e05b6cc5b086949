import { beforeAll, describe, expect, test } from 'vitest';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { App, Aspects, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
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

  test('the check can fail: an unencrypted, unlogged bucket is reported', () => {
    // Proves the aspect is wired the way buildCutoverApp wires it (on the stage/app, nag 2.x API).
    const app = new App({ builtinCloudFormationValidation: false });
    const stack = new Stack(app, 'Bad');
    new s3.Bucket(stack, 'Open');
    Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
    const errors = Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*'));
    expect(errors.map((e) => String(e.entry.data).split(':')[0])).toContain('AwsSolutions-S10');
  });
});

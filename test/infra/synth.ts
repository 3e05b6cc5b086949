import { Template } from 'aws-cdk-lib/assertions';
import type { LoadedConfig } from '../../lib/config/load.ts';
import { buildCutoverApp } from '../../lib/infra/cutover-app.ts';
import type { CutoverStage } from '../../lib/infra/stacks/cutover-stage.ts';
import { fixtureConfig } from './fixture-config.ts';

export interface SynthesizedEnvironment {
  readonly stage: CutoverStage;
  readonly foundation: Template;
  readonly application: Template;
  readonly replication: Template;
  readonly backup: Template;
  /** Every template of the stage as JSON text, for "never contains" checks. */
  readonly json: string;
}

/**
 * Synthesizes one environment once (call in `beforeAll`: `Template.fromStack` re-synthesizes the
 * whole stage on every call, so templates are taken once and shared by the file's tests).
 */
export function synthEnvironment(name: string, options: { nag?: boolean; config?: LoadedConfig } = {}): SynthesizedEnvironment {
  const { stages } = buildCutoverApp({
    config: options.config ?? fixtureConfig(),
    environmentName: name,
    nag: options.nag ?? false,
    cloudFormationValidation: false,
  });
  const stage = stages[0]!;
  const t = {
    foundation: Template.fromStack(stage.foundation),
    application: Template.fromStack(stage.application),
    replication: Template.fromStack(stage.replication),
    backup: Template.fromStack(stage.backup),
  };
  return { stage, ...t, json: JSON.stringify(Object.values(t).map((x) => x.toJSON())) };
}

export interface NagFinding {
  readonly stack: string;
  readonly path: string;
  readonly level: 'error' | 'warning';
  readonly message: string;
}

/**
 * Every unsuppressed AwsSolutions finding of a stage (nag must have been on at synth). Read from
 * the stage's cloud assembly, which `Template.fromStack` already synthesized: the same messages
 * `Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*'))` returns,
 * without the forced re-synthesis of the whole app it costs per call.
 */
export function nagFindings(stage: CutoverStage): NagFinding[] {
  const assembly = stage.synth();
  const findings: NagFinding[] = [];
  for (const stack of stage.stacks) {
    for (const m of assembly.getStackArtifact(stack.artifactId).messages) {
      const message = String(m.entry.data);
      if (!/^AwsSolutions-|^CdkNagValidationFailure/.test(message)) continue;
      if (m.level === 'error' || m.level === 'warning') findings.push({ stack: stack.stackName, path: m.id, level: m.level, message });
    }
  }
  return findings;
}

import { App, Aspects } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { selectEnvironment, type LoadedConfig, type ResolvedAwsEnvironment } from '../config/load.ts';
import { CutoverError } from '../errors.ts';
import { CUTOVER_FEATURE_FLAGS } from './feature-flags.ts';
import { CutoverStage } from './stacks/cutover-stage.ts';

export interface BuildCutoverAppOptions {
  readonly config: LoadedConfig;
  /**
   * `-c env=NAME`.
   * @default - every `aws` environment of the config
   */
  readonly environmentName?: string;
  /**
   * @default - a new App
   */
  readonly app?: App;
  /**
   * Apply cdk-nag AwsSolutionsChecks.
   * @default true
   */
  readonly nag?: boolean;
  /**
   * aws-cdk-lib's built-in CloudFormation template validation (several seconds per process);
   * tests that do not check templates against the CloudFormation schema turn it off.
   * @default true
   */
  readonly cloudFormationValidation?: boolean;
}

export interface CutoverApp {
  readonly app: App;
  readonly stages: readonly CutoverStage[];
}

/** The aws environments to synthesize: the selected one, or all; a `postgres` one is refused. */
export function awsEnvironmentsToSynth(config: LoadedConfig, environmentName: string | undefined): ResolvedAwsEnvironment[] {
  if (environmentName !== undefined) {
    const env = selectEnvironment(config, environmentName);
    if (env.platform !== 'aws') {
      throw new CutoverError('NOT_SUPPORTED', `environment "${env.name}" is a postgres environment: there is nothing for cdk to deploy`, {
        received: env.name,
        allowed: awsNames(config).join(', ') || '(no aws environment in the config)',
        fix: `run the runbook against it instead (npx cutover … --env ${env.name}), or pick an aws environment with -c env=NAME`,
      });
    }
    return [env];
  }
  const names = awsNames(config);
  if (names.length === 0) {
    throw new CutoverError('USAGE', `no aws environment in ${config.file}`, {
      fix: 'add an environment with platform: "aws" (see docs/config-reference.md)',
    });
  }
  return names.map((n) => selectEnvironment(config, n) as ResolvedAwsEnvironment);
}

function awsNames(config: LoadedConfig): string[] {
  return Object.entries(config.environments)
    .filter(([, e]) => e.platform === 'aws')
    .map(([n]) => n);
}

/** One Stage per aws environment (or just the selected one), checked by cdk-nag. */
export function buildCutoverApp(options: BuildCutoverAppOptions): CutoverApp {
  const app = options.app ??
    new App({ context: { ...CUTOVER_FEATURE_FLAGS }, builtinCloudFormationValidation: options.cloudFormationValidation ?? true });
  const stages = awsEnvironmentsToSynth(options.config, options.environmentName).map(
    (environment) => new CutoverStage(app, environment.name, { environment }),
  );
  // Aspects added to the App do not reach into Stages (each Stage synthesizes its own tree),
  // so the checks are added to every Stage.
  if (options.nag ?? true) for (const stage of stages) Aspects.of(stage).add(new AwsSolutionsChecks({ verbose: true }));
  return { app, stages };
}

// The CDK app: `npx cdk synth -c env=staging` / `npx cdk deploy -c env=prod`.
// `-c config=PATH` picks another config file (default cutover.config.ts in the current folder).
// `-c validate=true` adds aws-cdk-lib's built-in CloudFormation schema validation: off by default
// because it triples synth time (about 27 s of CPU for four stacks); the templates pass it (checked
// before every release with `npx cdk synth -c env=NAME -c validate=true`).
import { App } from 'aws-cdk-lib';
import { loadConfig } from '../lib/config/load.ts';
import { CutoverError } from '../lib/errors.ts';
import { buildCutoverApp } from '../lib/infra/cutover-app.ts';
import { CUTOVER_FEATURE_FLAGS } from '../lib/infra/feature-flags.ts';

// Validation is an App constructor option, so a throw-away App reads the context first.
const validate = ['true', '1', 'yes'].includes(String(new App({ autoSynth: false }).node.tryGetContext('validate') ?? ''));
const app = new App({ context: { ...CUTOVER_FEATURE_FLAGS }, builtinCloudFormationValidation: validate });
const context = (key: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(key);
  return value === undefined || value === null || value === '' ? undefined : String(value);
};

try {
  const config = await loadConfig({ file: context('config') });
  buildCutoverApp({ app, config, environmentName: context('env') });
  app.synth();
} catch (err) {
  if (!(err instanceof CutoverError)) throw err;
  process.stderr.write(`${err.describe()}\n`);
  process.exitCode = err.exitCode;
}

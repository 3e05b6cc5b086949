import { CfnOutput } from 'aws-cdk-lib';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { PARAMETER_KEYS, cutoverParameterName, type ParameterKey } from './parameter-names.ts';

/**
 * Publishes what the runbooks need, twice: as an SSM parameter `/cutover/<env>/…` (how the
 * runbooks find it by environment name) and as a stack output (how a person finds it).
 */
export class CutoverParameters extends Construct {
  constructor(
    scope: Construct,
    id: string,
    private readonly environmentName: string,
  ) {
    super(scope, id);
  }

  public add(key: ParameterKey, value: string, description: string): ssm.StringParameter {
    const logicalId = key.charAt(0).toUpperCase() + key.slice(1);
    new CfnOutput(this, `${logicalId}Output`, { value, description: `${description} (${cutoverParameterName(this.environmentName, key)})` });
    return new ssm.StringParameter(this, logicalId, {
      parameterName: cutoverParameterName(this.environmentName, key),
      stringValue: value,
      description: `${description} (cutover ${this.environmentName}, key ${PARAMETER_KEYS[key]})`,
    });
  }
}

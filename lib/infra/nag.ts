import { NagSuppressions, type NagPackSuppressionAppliesTo } from 'cdk-nag';
import type { IConstruct } from 'constructs';

/**
 * One cdk-nag suppression with its reason, on a construct and its children. Suppressions are
 * written beside the code they excuse, so the reason sits next to the decision.
 */
export function suppressNag(construct: IConstruct, id: `AwsSolutions-${string}`, reason: string, appliesTo?: NagPackSuppressionAppliesTo[]): void {
  NagSuppressions.addResourceSuppressions(construct, [{ id, reason, ...(appliesTo ? { appliesTo } : {}) }], true);
}

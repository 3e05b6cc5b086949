import * as dms from 'aws-cdk-lib/aws-dms';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/** What a runbook needs to drive a task: start/resume (with a CDC position), stop, watch it. */
export const TASK_START_STOP_ACTIONS = ['dms:StartReplicationTask', 'dms:StopReplicationTask'] as const;
export const TASK_DESCRIBE_ACTIONS = [
  'dms:DescribeReplicationTasks',
  'dms:DescribeTableStatistics',
  'dms:DescribeReplicationTaskAssessmentResults',
] as const;

export interface ReplicationTaskProps {
  readonly replicationInstanceArn: string;
  readonly sourceEndpointArn: string;
  readonly targetEndpointArn: string;
  readonly migrationType: 'full-load' | 'cdc' | 'full-load-and-cdc';
  /** AWS DMS table-mapping JSON, embedded verbatim. */
  readonly tableMappings: string;
  /** AWS DMS task-settings document. */
  readonly taskSettings: Record<string, unknown>;
  /** Task identifier and ARN suffix (`ResourceIdentifier`), which CloudWatch uses as the dimension. */
  readonly identifier: string;
}

/**
 * A declared, never started, DMS task. The runbooks own start and stop: CloudFormation cannot
 * modify a running task, so a deploy must never depend on the task's state.
 */
export class ReplicationTask extends Construct {
  public readonly taskArn: string;
  public readonly identifier: string;
  public readonly resource: dms.CfnReplicationTask;

  constructor(scope: Construct, id: string, props: ReplicationTaskProps) {
    super(scope, id);
    this.identifier = props.identifier;
    this.resource = new dms.CfnReplicationTask(this, 'Resource', {
      replicationInstanceArn: props.replicationInstanceArn,
      sourceEndpointArn: props.sourceEndpointArn,
      targetEndpointArn: props.targetEndpointArn,
      migrationType: props.migrationType,
      tableMappings: props.tableMappings,
      replicationTaskSettings: JSON.stringify(props.taskSettings),
      replicationTaskIdentifier: props.identifier,
      resourceIdentifier: props.identifier,
    });
    this.taskArn = this.resource.ref;
  }

  /**
   * Start, stop and describe this task. DMS `Describe*` calls take no resource-level
   * permission, so they are granted on `*` (read-only).
   */
  public grantStartStop(grantee: iam.IGrantable): iam.Grant {
    const grant = iam.Grant.addToPrincipal({ grantee, actions: [...TASK_START_STOP_ACTIONS], resourceArns: [this.taskArn] });
    iam.Grant.addToPrincipal({ grantee, actions: [...TASK_DESCRIBE_ACTIONS], resourceArns: ['*'] });
    return grant;
  }
}

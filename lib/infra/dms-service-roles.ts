import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { suppressNag } from './nag.ts';

/** What DMS does in the VPC: place and remove the replication instance's network interfaces. */
export const DMS_VPC_ACTIONS = [
  'ec2:CreateNetworkInterface',
  'ec2:DeleteNetworkInterface',
  'ec2:ModifyNetworkInterfaceAttribute',
  'ec2:DescribeAvailabilityZones',
  'ec2:DescribeDhcpOptions',
  'ec2:DescribeInternetGateways',
  'ec2:DescribeSecurityGroups',
  'ec2:DescribeSubnets',
  'ec2:DescribeVpcs',
] as const;

/** What DMS does in CloudWatch Logs for task logging, limited to its own `dms-tasks-*` groups. */
export const DMS_LOG_GROUP_ACTIONS = ['logs:CreateLogGroup', 'logs:PutRetentionPolicy', 'logs:DescribeLogStreams'] as const;
export const DMS_LOG_STREAM_ACTIONS = ['logs:CreateLogStream', 'logs:PutLogEvents'] as const;

/**
 * The two account-wide roles DMS looks up by their fixed names: `dms-vpc-role` (before any
 * subnet group can exist) and `dms-cloudwatch-logs-role` (for task logging). Written as
 * least-privilege inline policies instead of the broader AWS managed ones.
 */
export class DmsServiceRoles extends Construct {
  public readonly vpcRole: iam.Role;
  public readonly cloudWatchLogsRole: iam.Role;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const principal = new iam.ServicePrincipal('dms.amazonaws.com');
    this.vpcRole = new iam.Role(this, 'VpcRole', {
      roleName: 'dms-vpc-role',
      assumedBy: principal,
      description: 'Lets AWS DMS manage the network interfaces of replication instances (name fixed by DMS).',
      inlinePolicies: {
        vpc: new iam.PolicyDocument({ statements: [new iam.PolicyStatement({ actions: [...DMS_VPC_ACTIONS], resources: ['*'] })] }),
      },
    });
    const stack = Stack.of(this);
    const logGroups = stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: 'dms-tasks-*', arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    this.cloudWatchLogsRole = new iam.Role(this, 'CloudWatchLogsRole', {
      roleName: 'dms-cloudwatch-logs-role',
      assumedBy: principal,
      description: 'Lets AWS DMS write task logs to dms-tasks-* log groups (name fixed by DMS).',
      inlinePolicies: {
        logs: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({ actions: ['logs:DescribeLogGroups'], resources: ['*'] }),
            new iam.PolicyStatement({ actions: [...DMS_LOG_GROUP_ACTIONS], resources: [logGroups] }),
            new iam.PolicyStatement({ actions: [...DMS_LOG_STREAM_ACTIONS], resources: [`${logGroups}:log-stream:dms-task-*`] }),
          ],
        }),
      },
    });
    suppressNag(this.vpcRole, 'AwsSolutions-IAM5', 'DMS creates network interfaces in subnets chosen at instance creation and describes the VPC; EC2 offers no resource-level scoping for these describe/create calls (same actions as AWS managed AmazonDMSVPCManagementRole).', ['Resource::*']);
    suppressNag(this.cloudWatchLogsRole, 'AwsSolutions-IAM5', 'logs:DescribeLogGroups has no resource-level permission; the other actions are limited to the dms-tasks-* log groups and dms-task-* streams DMS names itself.', [
      'Resource::*',
      { regex: '/^Resource::arn:<AWS::Partition>:logs:.*:log-group:dms-tasks-\\*(:log-stream:dms-task-\\*)?$/g' },
    ]);
  }
}

import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import type { ResolvedAwsEnvironment } from '../../config/load.ts';
import { CutoverParameters } from '../cutover-parameters.ts';
import { DmsReplication } from '../dms-replication.ts';
import { importSecret } from '../environment-imports.ts';
import { readTableMappingFile } from '../mapping-file.ts';

export interface ReplicationStackProps extends StackProps {
  readonly environment: ResolvedAwsEnvironment;
  readonly vpc: ec2.IVpc;
  readonly alarmTopic: sns.ITopic;
  readonly targetSecret: secretsmanager.ISecret;
  /**
   * The green cluster, when the kit created it: its security group then admits the replication instance.
   * @default - an existing target; open its security group to the instance yourself
   */
  readonly targetCluster?: rds.IDatabaseCluster;
}

/** Forward and reverse DMS replication between blue's and green's databases. */
export class ReplicationStack extends Stack {
  public readonly replication: DmsReplication;

  constructor(scope: Construct, id: string, props: ReplicationStackProps) {
    super(scope, id, props);
    const env = props.environment;
    const sourceSecret = importSecret(this, 'SourceSecret', env.source.secretArn);
    const target = env.target;
    this.replication = new DmsReplication(this, 'Replication', {
      environmentName: env.name,
      vpc: props.vpc,
      source: { engine: env.source.engine, databaseName: env.source.database, secret: sourceSecret, port: env.source.port },
      target: {
        engine: 'create' in target ? 'aurora-postgresql' : 'postgres',
        databaseName: target.database,
        secret: props.targetSecret,
        port: 'port' in target ? target.port : 5432,
      },
      forwardTableMappings: readTableMappingFile(env.mappingFiles.forward, 'forward'),
      reverseTableMappings: readTableMappingFile(env.mappingFiles.reverse, 'reverse'),
      instanceClass: env.replication.instanceClass,
      allocatedStorageGiB: env.replication.allocatedStorageGiB,
      multiAz: env.replication.multiAz ?? env.isProtected,
      createServiceRoles: env.replication.createServiceRoles,
      alarmTopic: props.alarmTopic,
      cdcLatencyThreshold: Duration.seconds(env.alarms.cdcLatencySeconds),
      evaluationPeriods: env.alarms.evaluationPeriods,
    });
    if (props.targetCluster) {
      this.replication.allowToDatabase(props.targetCluster, 5432);
    }

    const parameters = new CutoverParameters(this, 'Parameters', env.name);
    parameters.add('replicationInstanceArn', this.replication.replicationInstanceArn, 'DMS replication instance');
    parameters.add('forwardTaskArn', this.replication.forwardTask.taskArn, 'Forward DMS task (full load + CDC, blue -> green)');
    parameters.add('reverseTaskArn', this.replication.reverseTask.taskArn, 'Reverse DMS task (CDC only, green -> blue)');
    parameters.add('forwardTaskIdentifier', this.replication.forwardTask.identifier, 'Forward task identifier (CloudWatch dimension)');
    parameters.add('reverseTaskIdentifier', this.replication.reverseTask.identifier, 'Reverse task identifier (CloudWatch dimension)');
    parameters.add('sourceSecretArn', sourceSecret.secretArn, 'Secret of the legacy database');
  }
}

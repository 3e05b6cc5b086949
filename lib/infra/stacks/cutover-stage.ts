import { Stage, type StageProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { ResolvedAwsEnvironment } from '../../config/load.ts';
import { ApplicationStack } from './application-stack.ts';
import { BackupStack } from './backup-stack.ts';
import { FoundationStack } from './foundation-stack.ts';
import { ReplicationStack } from './replication-stack.ts';

export interface CutoverStageProps extends StageProps {
  readonly environment: ResolvedAwsEnvironment;
}

/**
 * Everything one environment needs, as four stacks deployed in dependency order:
 * foundation (network, alarm topic) -> application (green, routing) -> replication (DMS) and backup.
 * Stack names are `cutover-<env>-<part>`.
 */
export class CutoverStage extends Stage {
  public readonly foundation: FoundationStack;
  public readonly application: ApplicationStack;
  public readonly replication: ReplicationStack;
  public readonly backup: BackupStack;

  constructor(scope: Construct, id: string, props: CutoverStageProps) {
    super(scope, id, { ...props, env: { account: props.environment.account, region: props.environment.region } });
    const environment = props.environment;
    const name = (part: string) => `cutover-${environment.name}-${part}`;
    const common = { environment, terminationProtection: environment.isProtected };
    this.foundation = new FoundationStack(this, 'Foundation', {
      ...common,
      stackName: name('foundation'),
      description: `cutover-kit ${environment.name}: network and alarm topic`,
    });
    this.application = new ApplicationStack(this, 'Application', {
      ...common,
      stackName: name('application'),
      description: `cutover-kit ${environment.name}: green environment and blue/green routing`,
      vpc: this.foundation.vpc,
      alarmTopic: this.foundation.alarmTopic,
    });
    this.replication = new ReplicationStack(this, 'Replication', {
      ...common,
      stackName: name('replication'),
      description: `cutover-kit ${environment.name}: DMS forward and reverse replication`,
      vpc: this.foundation.vpc,
      alarmTopic: this.foundation.alarmTopic,
      targetSecret: this.application.targetSecret,
      targetCluster: this.application.green.database?.cluster,
    });
    this.backup = new BackupStack(this, 'Backup', {
      ...common,
      stackName: name('backup'),
      description: `cutover-kit ${environment.name}: backup bucket and AWS Backup plan`,
      targetClusterArn: this.application.targetClusterArn,
    });
  }

  public get stacks() {
    return [this.foundation, this.application, this.replication, this.backup];
  }
}

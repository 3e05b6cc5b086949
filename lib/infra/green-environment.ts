import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { GreenDatabase, type GreenDatabaseProps } from './green-database.ts';
import { GreenService, type GreenServiceProps } from './green-service.ts';

export interface GreenEnvironmentProps {
  readonly vpc: ec2.IVpc;
  /**
   * Create the green Aurora PostgreSQL database with these options.
   * @default - no database: the target already exists (config `target.endpoint`)
   */
  readonly database?: Omit<GreenDatabaseProps, 'vpc'>;
  /**
   * Run the new app on Fargate in a new green target group.
   * @default - no service: green is an existing target group (config `green.targetGroupArn`)
   */
  readonly service?: Omit<GreenServiceProps, 'vpc' | 'databaseSecret'>;
  /**
   * Secret of an existing target database, given to the service when no database is created.
   * @default - the created database's secret, or none
   */
  readonly existingDatabaseSecret?: secretsmanager.ISecret;
}

/**
 * The green (new) side: its database and, optionally, its app. Traffic reaches it only through
 * the `BlueGreenRouter`; data reaches it only through `DmsReplication`.
 */
export class GreenEnvironment extends Construct {
  public readonly database?: GreenDatabase;
  public readonly service?: GreenService;

  constructor(scope: Construct, id: string, props: GreenEnvironmentProps) {
    super(scope, id);
    if (props.database) this.database = new GreenDatabase(this, 'Database', { ...props.database, vpc: props.vpc });
    if (props.service) {
      this.service = new GreenService(this, 'Service', {
        ...props.service,
        vpc: props.vpc,
        databaseSecret: this.database?.cluster.secret ?? props.existingDatabaseSecret,
      });
      if (this.database) this.service.service.connections.allowToDefaultPort(this.database.cluster, 'green app to its database');
    }
  }
}

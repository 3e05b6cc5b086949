import { Stack } from 'aws-cdk-lib';
import * as dms from 'aws-cdk-lib/aws-dms';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/** Database engines the kit replicates from or to, as the config names them. */
export type DmsDatabaseEngine = 'mysql' | 'mariadb' | 'postgres' | 'aurora-postgresql' | 'aurora-mysql';

/** DMS's own engine names for the config's engines. */
export const DMS_ENGINE_NAMES: Readonly<Record<DmsDatabaseEngine, string>> = {
  mysql: 'mysql',
  mariadb: 'mariadb',
  postgres: 'postgres',
  'aurora-postgresql': 'aurora-postgresql',
  'aurora-mysql': 'aurora',
};

export function isPostgresFamily(engine: DmsDatabaseEngine): boolean {
  return engine === 'postgres' || engine === 'aurora-postgresql';
}

/** What DMS needs on an endpoint secret. */
export const SECRET_READ_ACTIONS = ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'] as const;

/**
 * Grants on the role's own policy only: `secret.grantRead` would also edit the key policy of a
 * secret in another stack, and that stack would then depend on this one (a cycle). The key
 * policy of a kit-made key already lets the account's IAM policies decide. An imported secret
 * under a customer-managed key needs that key's policy to allow the role (see the config reference).
 */
function grantSecretRead(secret: secretsmanager.ISecret, role: iam.IRole): void {
  iam.Grant.addToPrincipal({ grantee: role, actions: [...SECRET_READ_ACTIONS], resourceArns: [secret.secretFullArn ?? `${secret.secretArn}-??????`] });
  if (secret.encryptionKey) {
    iam.Grant.addToPrincipal({
      grantee: role,
      actions: ['kms:Decrypt'],
      resourceArns: [secret.encryptionKey.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(role).region}.amazonaws.com` } },
    });
  }
}

export interface DmsEndpointProps {
  readonly endpointType: 'source' | 'target';
  readonly engine: DmsDatabaseEngine;
  readonly databaseName: string;
  /** Secret with `host`, `port`, `username` and `password`: DMS reads the connection from it. */
  readonly secret: secretsmanager.ISecret;
  /** Role DMS assumes to read `secret`; it is granted read on it here. */
  readonly secretsAccessRole: iam.IRole;
  /** Endpoint identifier and ARN suffix (`ResourceIdentifier`). */
  readonly identifier: string;
  /**
   * DMS SSL mode.
   * @default 'require'
   */
  readonly sslMode?: 'require' | 'verify-ca' | 'verify-full';
}

/**
 * One DMS endpoint whose credentials come only from Secrets Manager: no user name, password,
 * host or port is ever written into the template.
 */
export class DmsEndpoint extends Construct {
  public readonly endpointArn: string;
  public readonly resource: dms.CfnEndpoint;

  constructor(scope: Construct, id: string, props: DmsEndpointProps) {
    super(scope, id);
    grantSecretRead(props.secret, props.secretsAccessRole);
    const secretSettings = {
      secretsManagerSecretId: props.secret.secretArn,
      secretsManagerAccessRoleArn: props.secretsAccessRole.roleArn,
    };
    const postgres = isPostgresFamily(props.engine);
    this.resource = new dms.CfnEndpoint(this, 'Resource', {
      endpointType: props.endpointType,
      engineName: DMS_ENGINE_NAMES[props.engine],
      databaseName: props.databaseName,
      endpointIdentifier: props.identifier,
      resourceIdentifier: props.identifier,
      sslMode: props.sslMode ?? 'require',
      postgreSqlSettings: postgres
        ? {
            ...secretSettings,
            ...(props.endpointType === 'source'
              ? {
                  // The schema is owned by the apps' migrations; DMS must not install its DDL
                  // event trigger and audit table in either database.
                  captureDdls: false,
                  // Keeps the slot's restart LSN moving on a quiet database, so WAL does not pile up.
                  heartbeatEnable: true,
                  heartbeatFrequency: 5,
                }
              : {}),
          }
        : undefined,
      mySqlSettings: postgres ? undefined : secretSettings,
    });
    this.endpointArn = this.resource.ref;
  }
}

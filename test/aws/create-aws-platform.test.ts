import { beforeEach, describe, expect, test } from 'vitest';
import { GetParametersByPathCommand } from '@aws-sdk/client-ssm';
import { createAwsPlatform } from '../../lib/aws/create-aws-platform.ts';
import { SSM_PARAMETER_NAMES, ssmParameterName } from '../../lib/platform/ssm-parameter-names.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import { startRouterRig } from '../router/router-rig.ts';
import { awsEnv, inputsOf, mocks, newClients, resetMocks, ssmParameters } from './aws-fixtures.ts';

beforeEach(() => resetMocks());

describe('createAwsPlatform', () => {
  test('resolves every resource once by env name and assembles the roles', async () => {
    const platform = await createAwsPlatform(awsEnv(), new RecordingOutput(), { clients: newClients() });
    expect(platform.name).toBe('aws');
    expect(platform.forward.direction).toBe('forward');
    expect(platform.reverse.direction).toBe('reverse');
    expect(inputsOf(mocks.ssm, 'GetParametersByPath')).toEqual([{ Path: '/cutover/staging/', Recursive: true, WithDecryption: false, NextToken: undefined }]);
    await platform.close();
  });

  test('the parameter names are the contract with lib/infra', () => {
    expect(Object.values(SSM_PARAMETER_NAMES).map((leaf) => `/cutover/prod/${leaf}`)).toEqual([
      '/cutover/prod/backup-bucket-name',
      '/cutover/prod/forward-task-arn',
      '/cutover/prod/reverse-task-arn',
      '/cutover/prod/listener-arn',
      '/cutover/prod/write-rule-arn',
      '/cutover/prod/blue-target-group-arn',
      '/cutover/prod/green-target-group-arn',
      '/cutover/prod/state-parameter-name',
      '/cutover/prod/target-secret-arn',
      '/cutover/prod/target-endpoint',
      '/cutover/prod/source-secret-arn',
    ]);
    expect(ssmParameterName('prod', 'listenerArn')).toBe('/cutover/prod/listener-arn');
  });

  test('reads every page of parameters', async () => {
    const all = ssmParameters();
    mocks.ssm.on(GetParametersByPathCommand).resolvesOnce({ Parameters: all.slice(0, 5), NextToken: 't1' }).resolves({ Parameters: all.slice(5) });
    const platform = await createAwsPlatform(awsEnv(), new RecordingOutput(), { clients: newClients() });
    expect(mocks.ssm.commandCalls(GetParametersByPathCommand)).toHaveLength(2);
    await platform.close();
  });

  test('fails if the stack is not deployed, listing every missing parameter', async () => {
    resetMocks(ssmParameters({ 'listener-arn': undefined, 'write-rule-arn': undefined }));
    const err = await createAwsPlatform(awsEnv(), new RecordingOutput(), { clients: newClients() }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PRECONDITION_FAILED', details: { fix: 'run `npx cdk deploy -c env=staging` first' } });
    expect((err as { details: { problems: string[] } }).details.problems).toEqual([
      'missing SSM parameter /cutover/staging/listener-arn',
      'missing SSM parameter /cutover/staging/write-rule-arn',
    ]);
  });

  test('fails if AWS credentials are refused, as AUTH_FAILED', async () => {
    mocks.ssm.on(GetParametersByPathCommand).rejects(Object.assign(new Error('The security token included in the request is invalid'), { name: 'UnrecognizedClientException' }));
    await expect(createAwsPlatform(awsEnv(), new RecordingOutput(), { clients: newClients() })).rejects.toMatchObject({ code: 'AUTH_FAILED' });
  });

  test('a MySQL-family blue is validated by the cross-engine diff (no NOT_SUPPORTED left): it first reads the blue secret', async () => {
    const env = awsEnv({ source: { ...awsEnv().source, engine: 'mysql', port: 3306 } });
    const platform = await createAwsPlatform(env, new RecordingOutput(), { clients: newClients() });
    const err = await platform.validator.validate().catch((e: unknown) => e);
    expect(err).not.toMatchObject({ code: 'NOT_SUPPORTED' });
    expect(err).toMatchObject({ code: 'AUTH_FAILED' });
    expect((err as Error).message).toContain('blue (source) database secret');
    await expect(platform.sequences.syncSequences(10)).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    await platform.close();
  });

  test('shadowRouter: the kit\'s router in front of blue behind the ALB mirrors on aws (platform.shadow is its client); without it there is no shadow role', async () => {
    const rig = await startRouterRig();
    try {
      const platform = await createAwsPlatform(awsEnv({ shadowRouter: { adminUrl: rig.router.adminUrl } }), new RecordingOutput(), { clients: newClients() });
      expect((await platform.shadow!.shadowFigures()).settings).toBeNull();
      await platform.shadow!.configureShadow({ percent: 10, noisePercent: 0, timeoutMs: 1000, maxConcurrent: 4 });
      expect((await rig.client.shadowFigures()).settings).toMatchObject({ percent: 10 });
      await platform.shadow!.configureShadow(null);
      await platform.close();
      const alb = await createAwsPlatform(awsEnv(), new RecordingOutput(), { clients: newClients() });
      expect(alb.shadow).toBeUndefined();
      await alb.close();
    } finally {
      await rig.stop();
    }
  });
});

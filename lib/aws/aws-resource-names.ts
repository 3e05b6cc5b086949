import { GetParametersByPathCommand, type Parameter, type SSMClient } from '@aws-sdk/client-ssm';
import { CutoverError } from '../errors.ts';
import {
  OPTIONAL_SSM_PARAMETER_NAMES,
  SSM_PARAMETER_NAMES,
  ssmParameterPath,
  type OptionalResourceKey,
  type RequiredResourceKey,
} from '../platform/ssm-parameter-names.ts';

/** Every ARN and name the runbook needs for one environment, as the CDK stacks published them. */
export type AwsResources = { readonly [K in RequiredResourceKey]: string } & {
  readonly [K in OptionalResourceKey]?: string;
} & { readonly envName: string };

/**
 * Reads `/cutover/<env>/` once (GetParametersByPath, all pages) and checks every required
 * parameter is there. A missing one means the stack was not deployed (or not for this env).
 */
export async function resolveAwsResources(envName: string, ssm: SSMClient): Promise<AwsResources> {
  const path = ssmParameterPath(envName);
  const found = new Map<string, string>();
  let nextToken: string | undefined;
  try {
    do {
      const page = await ssm.send(
        new GetParametersByPathCommand({ Path: path, Recursive: true, WithDecryption: false, NextToken: nextToken }),
      );
      for (const p of page.Parameters ?? ([] as Parameter[])) {
        if (p.Name && p.Value !== undefined) found.set(p.Name.slice(path.length), p.Value);
      }
      nextToken = page.NextToken;
    } while (nextToken);
  } catch (err) {
    const name = (err as { name?: string }).name ?? '';
    throw new CutoverError(
      /AccessDenied|UnrecognizedClient|ExpiredToken|InvalidSignature|CredentialsProvider/.test(name) ? 'AUTH_FAILED' : 'CONNECTION_FAILED',
      `cannot read the SSM parameters under ${path}: ${(err as Error).message}`,
      { received: name, fix: 'check AWS credentials and region (AWS_PROFILE, AWS_REGION) for this environment', cause: err },
    );
  }
  const missing = Object.values(SSM_PARAMETER_NAMES).filter((leaf) => !found.has(leaf));
  if (missing.length > 0) {
    throw new CutoverError('PRECONDITION_FAILED', `environment "${envName}" is not deployed: SSM parameter ${path}${missing[0]} is missing`, {
      problems: missing.map((leaf) => `missing SSM parameter ${path}${leaf}`),
      received: [...found.keys()].map((k) => path + k),
      fix: `run \`npx cdk deploy -c env=${envName}\` first`,
    });
  }
  const resources: Record<string, string> = { envName };
  for (const [key, leaf] of Object.entries(SSM_PARAMETER_NAMES)) resources[key] = found.get(leaf)!;
  for (const [key, leaf] of Object.entries(OPTIONAL_SSM_PARAMETER_NAMES)) {
    const v = found.get(leaf);
    if (v !== undefined) resources[key] = v;
  }
  return resources as unknown as AwsResources;
}

const cache = new WeakMap<SSMClient, Map<string, Promise<AwsResources>>>();

/**
 * The resources of `envName`, resolved once per SSM client: every adapter of one platform shares
 * one GetParametersByPath. A failed resolution is not cached (deploy, then retry in-process).
 */
export function awsResourcesFor(envName: string, ssm: SSMClient): Promise<AwsResources> {
  let perEnv = cache.get(ssm);
  if (!perEnv) cache.set(ssm, (perEnv = new Map()));
  let pending = perEnv.get(envName);
  if (!pending) {
    pending = resolveAwsResources(envName, ssm);
    perEnv.set(envName, pending);
    pending.catch(() => perEnv!.delete(envName));
  }
  return pending;
}

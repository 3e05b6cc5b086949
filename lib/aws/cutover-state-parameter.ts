import { GetParameterCommand, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { Side } from '../platform/roles.ts';

/**
 * The cutover state the AWS router keeps in the SSM String parameter named by
 * `/cutover/<env>/state-parameter-name`: what the ALB itself cannot say (where writes go while
 * the write rule answers 503, since when they are held) plus the figures `status` shows. JSON;
 * a value that is not JSON (the stack's initial `blue`) reads as the defaults.
 */
export interface CutoverRouterState {
  readonly readWeightGreen: number;
  readonly writeTarget: Side;
  readonly writesHeld: boolean;
  /** ISO time the write rule started answering 503. */
  readonly heldSince?: string;
  /** How many write freezes so far, and the longest one. */
  readonly holds: number;
  readonly maxHoldMs: number;
  /** Origin of the cumulative metrics `metrics()` returns. */
  readonly metricsSince?: string;
  readonly updatedAt?: string;
}

export const DEFAULT_ROUTER_STATE: CutoverRouterState = { readWeightGreen: 0, writeTarget: 'blue', writesHeld: false, holds: 0, maxHoldMs: 0 };

export function parseRouterState(value: string | undefined): CutoverRouterState {
  if (!value) return DEFAULT_ROUTER_STATE;
  try {
    const parsed = JSON.parse(value) as Partial<CutoverRouterState>;
    if (!parsed || typeof parsed !== 'object') return DEFAULT_ROUTER_STATE;
    return { ...DEFAULT_ROUTER_STATE, ...parsed };
  } catch {
    return value.trim() === 'green' || value.trim() === 'switched' ? { ...DEFAULT_ROUTER_STATE, writeTarget: 'green' } : DEFAULT_ROUTER_STATE;
  }
}

export async function readRouterState(ssm: SSMClient, name: string): Promise<CutoverRouterState> {
  try {
    const res = await ssm.send(new GetParameterCommand({ Name: name }));
    return parseRouterState(res.Parameter?.Value);
  } catch (err) {
    if ((err as { name?: string }).name === 'ParameterNotFound') return DEFAULT_ROUTER_STATE;
    throw err;
  }
}

export async function writeRouterState(ssm: SSMClient, name: string, state: CutoverRouterState): Promise<void> {
  await ssm.send(new PutParameterCommand({ Name: name, Value: JSON.stringify(state), Type: 'String', Overwrite: true }));
}

/**
 * The messages between the rehearsal (demo-systems.ts) and the demo business in its own process
 * (demo-business-main.ts), over Node's IPC channel with `serialization: 'advanced'`.
 */
import type { CutoverErrorCode } from '../errors.ts';
import type { CainiaoDataSummary } from '../demo/generator.ts';
import type { OrderAppFault } from '../demo/order-app.ts';
import type { Output, ProgressUpdate } from '../output/output.ts';
import type { Side } from '../platform/roles.ts';
import type { DemoBusinessOptions } from './demo-business.ts';

/** The seeding summary the rehearsal needs: all but the load generator's id lists, which stay in the business's process. */
export type DemoSummary = Omit<CainiaoDataSummary, 'ids'> & { readonly loadMs: number };

export type DemoStartOptions = Omit<DemoBusinessOptions, 'out'> & { readonly outMode: Output['mode'] };

export type DemoCall =
  | { readonly op: 'loadStart' }
  | { readonly op: 'loadStop' }
  | { readonly op: 'checkLedger'; readonly side: Side }
  | { readonly op: 'setFault'; readonly fault: OrderAppFault | null }
  | { readonly op: 'stop' };

export type DemoParentMessage = { readonly type: 'start'; readonly options: DemoStartOptions } | { readonly type: 'call'; readonly id: number; readonly call: DemoCall };

/** A CutoverError as it crosses the channel. */
export interface WireError {
  readonly code: CutoverErrorCode;
  readonly message: string;
  readonly fix?: string;
  readonly problems?: string[];
}

export type DemoChildMessage =
  | { readonly type: 'out'; readonly method: 'info' | 'ok' | 'warn' | 'error' | 'step'; readonly topic: string; readonly message: string }
  | { readonly type: 'progress'; readonly update: ProgressUpdate }
  | { readonly type: 'done'; readonly topic: string }
  | {
      readonly type: 'ready';
      readonly summary: DemoSummary;
      readonly blueUrl: string;
      readonly greenUrl: string;
      readonly greenPid: number | null;
      readonly routerUrl: string;
      readonly routerAdminUrl: string;
    }
  | { readonly type: 'start-failed'; readonly error: WireError }
  | { readonly type: 'reply'; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly type: 'reply'; readonly id: number; readonly ok: false; readonly error: WireError };

import type { PacingConfig } from '../config/common-schema.ts';
import type { SourceHealth } from '../platform/roles.ts';

/** Why reads should wait now: the kind (for the figures) and a sentence with the numbers. */
export interface Stress {
  readonly kind: 'blue-p99' | 'active-sessions' | 'probe';
  readonly reason: string;
}

/**
 * The throttler's decision, pure: blue is under stress when a figure it could read is above its
 * budget. A figure nobody could read (no router, no session) never pauses anything: pacing must
 * not stall a phase on a missing signal.
 */
export function judgeStress(h: SourceHealth, limits: Pick<PacingConfig, 'maxBlueP99Ms' | 'maxActiveSessions' | 'maxProbeMs' | 'windowMs'>): Stress | null {
  if (h.blueP99Ms !== null && h.blueP99Ms > limits.maxBlueP99Ms) {
    return { kind: 'blue-p99', reason: `blue p99 ${h.blueP99Ms} ms over ${Math.round(limits.windowMs / 1000)} s > pacing.maxBlueP99Ms ${limits.maxBlueP99Ms} ms` };
  }
  if (h.activeSessions !== null && h.activeSessions > limits.maxActiveSessions) {
    return { kind: 'active-sessions', reason: `${h.activeSessions} active sessions on the source > pacing.maxActiveSessions ${limits.maxActiveSessions}` };
  }
  if (limits.maxProbeMs !== undefined && h.probeMs !== null && h.probeMs > limits.maxProbeMs) {
    return { kind: 'probe', reason: `the source answered select 1 in ${h.probeMs} ms > pacing.maxProbeMs ${limits.maxProbeMs} ms` };
  }
  return null;
}

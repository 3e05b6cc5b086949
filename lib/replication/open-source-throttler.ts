import type { PacingConfig } from '../config/common-schema.ts';
import { engineOfUrl } from '../engines/engine-of-url.ts';
import type { Output } from '../output/output.ts';
import type { TrafficRouter } from '../platform/roles.ts';
import { RouterClient } from '../platform/router-client.ts';
import { RouterAndSessionProbe } from '../throttle/source-health.ts';
import { SourceThrottler } from '../throttle/source-throttler.ts';

export interface ThrottledEnvironment {
  readonly pacing: PacingConfig;
  readonly source: { readonly url: string };
  readonly router?: { readonly adminUrl: string };
}

/**
 * The throttler of an environment (local control plane: it reads the kit's own router, so it lives
 * here and not beside the neutral throttling logic in lib/throttle/): blue's p99 from its router (when one is configured) and the
 * source's sessions (a PostgreSQL source; a MySQL-family one is judged by the router only).
 */
export function openSourceThrottler(env: ThrottledEnvironment, out: Output, router?: TrafficRouter): SourceThrottler {
  const routerRole = router ?? (env.router ? new RouterClient(env.router.adminUrl) : null);
  return new SourceThrottler(env.pacing, new RouterAndSessionProbe(sourceUrlOf(env), routerRole, env.pacing.windowMs), out);
}

/** The platform's role loader constructs roles from a class: `new SourceThrottlerRole(env, out)`. */
export class SourceThrottlerRole extends SourceThrottler {
  constructor(env: ThrottledEnvironment, out: Output) {
    super(env.pacing, new RouterAndSessionProbe(sourceUrlOf(env), env.router ? new RouterClient(env.router.adminUrl) : null, env.pacing.windowMs), out);
  }
}

function sourceUrlOf(env: ThrottledEnvironment): string | null {
  return engineOfUrl(env.source.url) === 'postgres' ? env.source.url : null;
}

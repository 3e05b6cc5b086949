import { RouterClient } from '../../lib/platform/router-client.ts';
import { startWeightedRouter, type RunningWeightedRouter, type WeightedRouterOptions } from '../../lib/router/weighted-router.ts';
import { startTinyUpstream, type TinyUpstream } from './tiny-upstream.ts';

export interface RouterRig {
  readonly blue: TinyUpstream;
  readonly green: TinyUpstream;
  readonly router: RunningWeightedRouter;
  readonly client: RouterClient;
  stop(): Promise<void>;
}

/** A real weighted router in front of two tiny upstreams, with an admin client; `stop()` ends all three. */
export async function startRouterRig(options: Partial<Omit<WeightedRouterOptions, 'blueUrl' | 'greenUrl'>> = {}): Promise<RouterRig> {
  const blue = await startTinyUpstream('blue');
  const green = await startTinyUpstream('green');
  const router = await startWeightedRouter({ ...options, blueUrl: blue.url, greenUrl: green.url });
  return {
    blue,
    green,
    router,
    client: new RouterClient(router.adminUrl),
    async stop() {
      await router.stop();
      await blue.stop();
      await green.stop();
    },
  };
}

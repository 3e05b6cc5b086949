/** A session that can be closed (a pg client, a mysql2 connection). */
interface Closable {
  end(): Promise<unknown>;
}

/**
 * Two sessions opened side by side (one waits for one set-up, not two). When one cannot be opened,
 * the other is closed — a side that is down (restarting) must not leave the other side's session
 * open — and the failure is thrown, the first side's before the second's.
 */
export async function openTogether<A extends Closable, B extends Closable>(first: Promise<A>, second: Promise<B>): Promise<[A, B]> {
  const [a, b] = await Promise.allSettled([first, second]);
  if (a.status === 'fulfilled' && b.status === 'fulfilled') return [a.value, b.value];
  for (const side of [a, b]) if (side.status === 'fulfilled') await side.value.end().catch(() => {});
  throw a.status === 'rejected' ? a.reason : (b as PromiseRejectedResult).reason;
}

import os from 'node:os';

/** Busy processes of a stream catching up: the source's walsender, the worker, the target's backend. */
const STREAM_PROCESSES = 3;

/**
 * Whether a worker catching up should take turns with the target (catch-up-batching.ts,
 * TargetsTurn): both databases are on this host (a loopback address or a Unix socket) and
 * it has fewer cores than the stream's three busy processes, so they compete for them.
 * `CUTOVER_CATCH_UP_TURNS=on|off` decides instead (benchmarks, tests).
 */
export function catchUpTakesTurns(urls: readonly string[], cores = os.availableParallelism(), forced = process.env.CUTOVER_CATCH_UP_TURNS): boolean {
  if (forced === 'on') return true;
  if (forced === 'off') return false;
  return cores < STREAM_PROCESSES && urls.every(onThisHost);
}

function onThisHost(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  // libpq's `?host=/run/postgresql`: a Unix socket
  const socketDir = parsed.searchParams.get('host');
  if (socketDir !== null) return socketDir.startsWith('/');
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  return host === '' || host === 'localhost' || host === '::1' || /^127\./.test(host);
}

import type { UpstreamMetrics } from '../platform/roles.ts';
import { BucketHistogram, LATENCY_BUCKETS_MS } from '../platform/histogram.ts';

/**
 * Counts what one upstream did: every attempt sent to it, its status class or transport error,
 * and its latency (request sent to response fully read). A read that failed on green and was
 * retried on blue is counted as green's failure here, whatever the client finally saw.
 * An attempt is counted once it completes, with its outcome: counted when sent, a window in
 * which earlier requests time out showed more failures than requests (95 of 15: "633 %").
 */
export class UpstreamRecorder {
  private requests = 0;
  private status2xx = 0;
  private status4xx = 0;
  private status5xx = 0;
  private errors = 0;
  private retriedOnBlue = 0;
  private readonly latency = new BucketHistogram(LATENCY_BUCKETS_MS);

  answered(status: number, latencyMs: number): void {
    this.requests++;
    if (status >= 500) this.status5xx++;
    else if (status >= 400) this.status4xx++;
    else if (status >= 200 && status < 400) this.status2xx++;
    this.latency.record(latencyMs);
  }

  /** A reset, a refused connection, a timeout, or a body cut off mid-way. */
  failed(latencyMs: number): void {
    this.requests++;
    this.errors++;
    this.latency.record(latencyMs);
  }

  retried(): void {
    this.retriedOnBlue++;
  }

  snapshot(): UpstreamMetrics {
    return {
      requests: this.requests,
      status2xx: this.status2xx,
      status4xx: this.status4xx,
      status5xx: this.status5xx,
      errors: this.errors,
      retriedOnBlue: this.retriedOnBlue,
      latencyBucketsMs: LATENCY_BUCKETS_MS,
      latencyCounts: this.latency.snapshot(),
    };
  }
}

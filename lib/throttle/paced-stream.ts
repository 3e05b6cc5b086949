import { Transform, type TransformCallback } from 'node:stream';
import type { Throttler } from '../platform/roles.ts';

/** A stream read is paced in slices of about this much streaming time, while chunks are fixed (else `pacing.chunkTargetMs`). */
export const SLICE_MS = 250;

/**
 * A pass-through stage for one long read (a COPY … TO STDOUT): after each slice of about
 * `sliceMs` of data it asks the throttler, and holds the data meanwhile, so backpressure stops the
 * server's COPY while blue is under stress (the read's session then waits on its socket, costing
 * blue nothing but the open snapshot).
 */
export class PacedStream extends Transform {
  private sliceStart = performance.now();

  constructor(
    private readonly throttler: Throttler,
    private readonly topic: string,
    private readonly sliceMs: number = throttler.sliceMs,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const worked = performance.now() - this.sliceStart;
    if (worked < this.sliceMs) {
      done(null, chunk);
      return;
    }
    this.throttler.pause(this.topic, worked).then(
      () => {
        this.sliceStart = performance.now();
        done(null, chunk);
      },
      (err: Error) => done(err),
    );
  }
}

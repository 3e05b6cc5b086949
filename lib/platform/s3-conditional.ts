/** S3 conditional-request outcomes (If-None-Match / If-Match on PutObject, GetObject misses). */
function status(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

/** 412: the object exists (If-None-Match: *) or changed (If-Match). */
export function isPreconditionFailed(err: unknown): boolean {
  return (err as { name?: string })?.name === 'PreconditionFailed' || status(err) === 412;
}

/** 409: a concurrent conditional write to the same key is in flight; retry the same request. */
export function isConditionalConflict(err: unknown): boolean {
  return (err as { name?: string })?.name === 'ConditionalRequestConflict' || status(err) === 409;
}

export function isNoSuchKey(err: unknown): boolean {
  const name = (err as { name?: string })?.name;
  return name === 'NoSuchKey' || name === 'NotFound' || status(err) === 404;
}

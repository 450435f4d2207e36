// The wait a server asks for in a refusal (`details.retry_after_ms` of a RATE_LIMITED handshake).

/** The refusal's `retry_after_ms` when it is a finite, non-negative number; otherwise undefined. */
export function retryAfterOf(
  error: { details?: Record<string, unknown> } | null | undefined,
): number | undefined {
  const value = error?.details?.retry_after_ms;
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

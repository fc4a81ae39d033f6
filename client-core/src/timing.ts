/** Tunables; the defaults suit production, tests shorten some. */
export interface Timing {
  /** How long to wait for any acknowledgement before treating the request as lost. */
  ackTimeoutMs: number;
  /** Wait this long after noticing a hole before asking for it: out-of-order broadcasts usually fill it first. */
  gapFillDelayMs: number;
  /** A presence version skipped this long (another pod's event may carry it) costs one `room:presence`. */
  presenceGraceMs: number;
  /** Exponential backoff for retries (sends, joins, refused handshakes): base and cap. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** Send "typing" at most this often while the user types... */
  typingThrottleMs: number;
  /** ...and "stopped typing" after this long without a keystroke. */
  typingIdleMs: number;
  /** Drop someone else's typing indicator if it is not refreshed within this time. */
  typingExpiryMs: number;
  /** Give up on a handover this long before the server's deadline. */
  handoverMarginMs: number;
  /** Time allowed for the make-before-break move that applies a new name. */
  renameTimeoutMs: number;
}

export const defaultTiming: Timing = {
  ackTimeoutMs: 10_000,
  gapFillDelayMs: 200,
  presenceGraceMs: 1_000,
  retryBaseMs: 500,
  retryMaxMs: 15_000,
  typingThrottleMs: 2_000,
  typingIdleMs: 3_000,
  typingExpiryMs: 6_000,
  handoverMarginMs: 250,
  renameTimeoutMs: 10_000,
};

export type Timer = ReturnType<typeof setTimeout>;

/** Exponential backoff with jitter (half fixed, half random), capped at `retryMaxMs`. */
export function backoff(timing: Timing, attempt: number): number {
  const ceiling = Math.min(timing.retryMaxMs, timing.retryBaseMs * 2 ** Math.min(attempt, 20));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

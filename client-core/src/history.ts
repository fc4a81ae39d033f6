import type { ChatMessage } from "@chat/protocol";

/**
 * Pure helpers over one room's history: an array sorted by `seq` without duplicates.
 * The arrays are treated as immutable so that React can compare them by reference.
 */

/** Most messages kept in memory per room; older ones fall off the top. */
export const MAX_MESSAGES_PER_ROOM = 1000;

/** Index of the first message with `seq >= target` (messages.length if none). */
export function lowerBound(messages: readonly ChatMessage[], target: number): number {
  let lo = 0;
  let hi = messages.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((messages[mid] as ChatMessage).seq < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function hasSeq(messages: readonly ChatMessage[], seq: number): boolean {
  return messages[lowerBound(messages, seq)]?.seq === seq;
}

/**
 * Insert messages in seq order, ignoring seqs already present. Returns the same array when
 * nothing was new, so callers can tell "no change" by reference.
 */
export function insertMessages(
  messages: readonly ChatMessage[],
  incoming: readonly ChatMessage[],
): readonly ChatMessage[] {
  let out: ChatMessage[] | null = null;
  for (const message of incoming) {
    const list: readonly ChatMessage[] = out ?? messages;
    const last = list[list.length - 1];
    // The common case, a live message at the end, costs no search and no shifting.
    if (last === undefined || message.seq > last.seq) {
      out ??= messages.slice();
      out.push(message);
      continue;
    }
    const at = lowerBound(list, message.seq);
    if (list[at]?.seq === message.seq) continue;
    out ??= messages.slice();
    out.splice(at, 0, message);
  }
  if (out === null) return messages;
  return out.length > MAX_MESSAGES_PER_ROOM ? out.slice(out.length - MAX_MESSAGES_PER_ROOM) : out;
}

/**
 * Move the resume cursor up over messages that follow it without a gap: the result is the
 * highest seq below which everything has been seen.
 */
export function advanceContiguous(contiguous: number, messages: readonly ChatMessage[]): number {
  let next = contiguous;
  for (let i = lowerBound(messages, next + 1); messages[i]?.seq === next + 1; i++) next++;
  return next;
}

/** True when a message beyond the cursor has arrived, i.e. something between is missing. */
export function hasGap(contiguous: number, messages: readonly ChatMessage[]): boolean {
  const last = messages[messages.length - 1];
  return last !== undefined && last.seq > contiguous;
}

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
  /** Scrollback keeps the oldest when over the cap (the page just asked for); everything else the newest. */
  keep: "newest" | "oldest" = "newest",
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
  if (out.length <= MAX_MESSAGES_PER_ROOM) return out;
  return keep === "newest" ? out.slice(out.length - MAX_MESSAGES_PER_ROOM) : out.slice(0, MAX_MESSAGES_PER_ROOM);
}

/**
 * Move the resume cursor up over seqs that follow it without a gap: messages, and `revisions`
 * (seqs of edits and deletions already received). The result is the highest seq below which
 * everything has been seen.
 */
export function advanceContiguous(
  contiguous: number,
  messages: readonly ChatMessage[],
  revisions: ReadonlySet<number> = new Set(),
): number {
  let next = contiguous;
  for (let i = lowerBound(messages, next + 1); ; next++) {
    if (messages[i]?.seq === next + 1) i++;
    else if (!revisions.has(next + 1)) break;
  }
  return next;
}

/** True when a message or revision beyond the cursor has arrived, i.e. something between is missing. */
export function hasGap(
  contiguous: number,
  messages: readonly ChatMessage[],
  revisions: ReadonlySet<number> = new Set(),
): boolean {
  const last = messages[messages.length - 1];
  return (last !== undefined && last.seq > contiguous) || [...revisions].some((r) => r > contiguous);
}

/**
 * Like `insertMessages`, but a seq already present is replaced when the incoming copy is a later
 * revision of it (higher `rev`): join answers and history pages carry current states.
 */
export function mergeMessages(
  messages: readonly ChatMessage[],
  incoming: readonly ChatMessage[],
  keep: "newest" | "oldest" = "newest",
): readonly ChatMessage[] {
  let out: ChatMessage[] | null = null;
  const added: ChatMessage[] = [];
  for (const message of incoming) {
    const list: readonly ChatMessage[] = out ?? messages;
    const at = lowerBound(list, message.seq);
    const held = list[at];
    if (held?.seq !== message.seq) added.push(message);
    else if ((message.rev ?? 0) > (held.rev ?? 0)) {
      out ??= messages.slice();
      out[at] = message;
    }
  }
  return insertMessages(out ?? messages, added, keep);
}

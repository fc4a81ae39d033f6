import type { ChatMessage } from "@chat/protocol";
import { describe, expect, it } from "vitest";
import { advanceContiguous, hasGap, insertMessages, MAX_MESSAGES_PER_ROOM } from "./history.js";

const msg = (seq: number): ChatMessage => ({
  id: `r:${seq}`,
  seq,
  room: "r",
  author: { id: "u1", name: "ada" },
  text: `#${seq}`,
  clientId: `c${seq}`,
  ts: seq,
});
const seqsOf = (list: readonly ChatMessage[]) => list.map((m) => m.seq);

describe("history", () => {
  it("inserts in seq order whatever the arrival order, ignoring duplicates", () => {
    let list: readonly ChatMessage[] = [];
    for (const seq of [3, 1, 5, 3, 2, 5, 4]) list = insertMessages(list, [msg(seq)]);
    expect(seqsOf(list)).toEqual([1, 2, 3, 4, 5]);
  });

  it("returns the same array when nothing is new, so renders can be skipped", () => {
    const list = insertMessages([], [msg(1), msg(2)]);
    expect(insertMessages(list, [msg(2), msg(1)])).toBe(list);
  });

  it("keeps only the newest messages beyond the per-room cap", () => {
    const many = Array.from({ length: MAX_MESSAGES_PER_ROOM + 5 }, (_, i) => msg(i + 1));
    const list = insertMessages([], many);
    expect(list).toHaveLength(MAX_MESSAGES_PER_ROOM);
    expect(list[0]?.seq).toBe(6);
  });

  it("moves the cursor over contiguous seqs only and reports the gap above it", () => {
    const list = insertMessages([], [msg(1), msg(2), msg(4)]);
    expect(advanceContiguous(0, list)).toBe(2);
    expect(hasGap(2, list)).toBe(true);
    const filled = insertMessages(list, [msg(3)]);
    expect(advanceContiguous(2, filled)).toBe(4);
    expect(hasGap(4, filled)).toBe(false);
  });
});

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { advance, connectAndJoin, createHarness, seqs, settle, until } from "./testing/harness.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const texts = (h: ReturnType<typeof createHarness>) =>
  h.state().rooms.general?.messages.map((m) => (m.deleted ? "(deleted)" : m.text));

describe("edits and deletions", () => {
  it("applies a live edit and a live delete by id, and the cursor moves over their seqs", async () => {
    const a = createHarness();
    await connectAndJoin(a, "ada", ["general"]);
    const b = createHarness({ server: a.server });
    await connectAndJoin(b, "bob", ["general"]);
    for (const t of ["one", "two"]) a.client.send("general", t);
    await until(() => b.state().rooms.general?.contiguous === 2, "bob has both");
    const [one, two] = a.state().rooms.general?.messages ?? [];
    expect(await settle(a.client.edit("general", one?.id ?? "", "one, edited"))).toBeNull();
    expect(await settle(a.client.delete("general", two?.id ?? ""))).toBeNull();
    await until(() => b.state().rooms.general?.contiguous === 4, "bob's cursor over both revisions");
    expect(texts(b)).toEqual(["one, edited", "(deleted)"]);
    expect(b.state().rooms.general?.messages[0]?.editedAt).toBeGreaterThan(0);
    expect(texts(a)).toEqual(["one, edited", "(deleted)"]);
    await advance(1_000);
    // A received revision seq is no hole: nobody re-joined to fill one.
    expect(a.server.requestsOf("room:join")).toHaveLength(2);
  });

  it("refuses an edit of someone else's message with the server's code", async () => {
    const a = createHarness();
    await connectAndJoin(a, "ada", ["general"]);
    const m = a.server.post("general", "not yours");
    await until(() => a.state().rooms.general?.contiguous === 1, "in");
    expect((await settle(a.client.edit("general", m.id, "mine now")))?.code).toBe("forbidden");
    expect((await settle(a.client.edit("general", m.id, "  ")))?.code).toBe("blank");
  });

  it("an offline client resumes with since and sees both the edit and the deletion", async () => {
    const h = createHarness();
    const m1 = h.server.post("general", "first");
    const m2 = h.server.post("general", "second");
    await connectAndJoin(h, "ada", ["general"]);
    h.server.accepting = false;
    h.server.latest.drop();
    await until(() => h.state().status === "reconnecting", "offline");
    h.server.revise("general", m1.seq, "first, edited");
    h.server.revise("general", m2.seq, null);
    h.server.post("general", "third");
    h.server.accepting = true;
    await until(() => h.state().rooms.general?.contiguous === 5, "caught up over revisions");
    expect(h.server.requestsOf("room:join").at(-1)?.payload).toEqual({ room: "general", since: 2 });
    expect(texts(h)).toEqual(["first, edited", "(deleted)", "third"]);
  });

  it("fills a hole left by a lost revision", async () => {
    const h = createHarness();
    const m1 = h.server.post("general", "first");
    await connectAndJoin(h, "ada", ["general"]);
    h.server.autoBroadcast = false;
    h.server.revise("general", m1.seq, "edited while the broadcast was lost"); // seq 2, never delivered
    const m3 = h.server.post("general", "third");
    h.server.deliver(h.server.latest, m3);
    await until(() => h.state().rooms.general?.contiguous === 3, "hole filled by a join");
    expect(texts(h)).toEqual(["edited while the broadcast was lost", "third"]);
  });
});

describe("a room reused after it expired", () => {
  it("resets when a live message of the fresh room arrives below the cursor", async () => {
    const h = createHarness();
    for (const t of ["a", "b", "c"]) h.server.post("general", t);
    await connectAndJoin(h, "ada", ["general"]);
    expect(h.state().rooms.general?.contiguous).toBe(3);
    h.server.expire("general");
    h.server.post("general", "new room, first message");
    await until(() => h.state().rooms.general?.notice !== null, "reset noticed");
    await until(() => h.state().rooms.general?.loaded === true, "re-joined");
    expect(seqs(h, "general")).toEqual([1]);
    expect(texts(h)).toEqual(["new room, first message"]);
    expect(h.state().rooms.general?.contiguous).toBe(1);
    h.server.post("general", "second");
    await until(() => h.state().rooms.general?.contiguous === 2, "follows the new room");
  });

  it("keeps ignoring a true duplicate below the cursor", async () => {
    const h = createHarness();
    const m = h.server.post("general", "a");
    h.server.post("general", "b");
    await connectAndJoin(h, "ada", ["general"]);
    h.server.deliver(h.server.latest, m);
    await advance(500);
    expect(h.state().rooms.general?.notice).toBeNull();
    expect(seqs(h, "general")).toEqual([1, 2]);
  });
});

describe("scrollback", () => {
  it("loads older pages before the oldest message until the start, tracking hasMore", async () => {
    const h = createHarness();
    h.server.historyPage = 50;
    for (let i = 1; i <= 120; i++) h.server.post("general", `m${i}`);
    await connectAndJoin(h, "ada", ["general"]);
    expect(seqs(h, "general")[0]).toBe(71);
    expect(h.state().rooms.general?.hasMore).toBe(true);
    await settle(h.client.loadOlder("general"));
    expect(seqs(h, "general")[0]).toBe(21);
    await settle(h.client.loadOlder("general"));
    expect(seqs(h, "general")[0]).toBe(1);
    expect(seqs(h, "general")).toHaveLength(120);
    expect(h.state().rooms.general?.hasMore).toBe(false);
    await settle(h.client.loadOlder("general"));
    const pages = h.server.requestsOf("room:history").map((r) => r.payload.before);
    expect(pages).toEqual([71, 21]);
  });
});

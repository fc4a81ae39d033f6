import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { advance, connectAndJoin, createHarness, until } from "./testing/harness.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const names = (h: ReturnType<typeof createHarness>) => h.state().rooms.general?.presence.map((u) => u.name);

describe("presence deltas (protocol 2)", () => {
  it("applies contiguous deltas without asking for the full list", async () => {
    const a = createHarness();
    await connectAndJoin(a, "ada", ["general"]);
    const b = createHarness({ server: a.server });
    await connectAndJoin(b, "bob", ["general"]);
    await until(() => names(a)?.length === 2, "ada sees bob");
    expect(names(a)).toEqual(["ada", "bob"]);
    b.client.stop();
    await until(() => names(a)?.length === 1, "bob gone");
    expect(names(a)).toEqual(["ada"]);
    await advance(3_000);
    expect(a.server.requestsOf("room:presence")).toHaveLength(0);
  });

  it("fetches room:presence once when a skipped version does not arrive", async () => {
    const a = createHarness();
    await connectAndJoin(a, "ada", ["general"]);
    const server = a.server;
    const version = server.room("general").presenceVersion;
    server.withheldPresence.add(version + 1); // bob's join never reaches ada...
    const b = createHarness({ server });
    await connectAndJoin(b, "bob", ["general"]);
    const c = createHarness({ server });
    await connectAndJoin(c, "cy", ["general"]); // ...but cy's (the next version) does.
    await until(() => names(a)?.includes("cy") ?? false, "cy shown");
    expect(server.requestsOf("room:presence")).toHaveLength(0); // within the grace period
    await until(() => server.requestsOf("room:presence").length === 1, "one fetch");
    await until(() => names(a)?.length === 3, "bob filled in");
    expect(names(a)).toEqual(["ada", "bob", "cy"]);
    await advance(3_000);
    expect(server.requestsOf("room:presence", a.server.sockets[0])).toHaveLength(1);
  });

  it("ignores a delta at or below the version it holds (a late duplicate)", async () => {
    const a = createHarness();
    await connectAndJoin(a, "ada", ["general"]);
    const b = createHarness({ server: a.server });
    await connectAndJoin(b, "bob", ["general"]);
    await until(() => names(a)?.length === 2, "ada sees bob");
    const v = a.server.room("general").presenceVersion;
    // A stale "bob left" from before his join (an older version) arrives late.
    a.server.latest.push("presence:delta", { room: "general", version: v - 1, joined: [], left: [] });
    a.server.sockets[0]?.push("presence:delta", {
      room: "general",
      version: v,
      joined: [],
      left: [{ id: "u2", name: "bob", version: v }],
    });
    await advance(2_000);
    expect(names(a)).toEqual(["ada", "bob"]);
    expect(a.server.requestsOf("room:presence")).toHaveLength(0);
  });

  it("still follows full lists from a protocol 1 server", async () => {
    const a = createHarness();
    a.server.protocol = 1;
    await connectAndJoin(a, "ada", ["general"]);
    const b = createHarness({ server: a.server });
    await connectAndJoin(b, "bob", ["general"]);
    await until(() => names(a)?.length === 2, "ada sees bob");
    b.client.stop();
    await until(() => names(a)?.length === 1, "bob gone");
  });
});

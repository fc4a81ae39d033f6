import { ErrorCode } from "@chat/protocol";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ChatClient, normalizeRoomName } from "./chat-client.js";
import { totalDisconnectedMs } from "./state.js";
import { MemoryStorage } from "./storage.js";
import { FakeServer } from "./testing/fake-server.js";
import { advance, connectAndJoin, createHarness, testTiming, until } from "./testing/harness.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("connection status", () => {
  it("is offline until a name is chosen, then connects and reports the pod", async () => {
    const h = createHarness();
    h.client.start();
    expect(h.state().status).toBe("offline");
    expect(h.server.sockets).toHaveLength(0);

    h.client.setName("ada");
    expect(h.state().status).toBe("reconnecting");
    await until(() => h.state().status === "connected", "connected");
    expect(h.state().pod).toBe("pod-1");
    expect(h.state().connections).toBe(1);
    expect(h.storage.getItem("chat.name")).toBe("ada");
    expect(h.server.latest.user?.name).toBe("ada");
  });

  it("counts time without a usable connection and the connections made", async () => {
    const h = createHarness();
    await connectAndJoin(h, "ada", ["general"]);
    expect(h.state().disconnectedMs).toBe(0);

    h.server.accepting = false;
    h.server.latest.drop();
    await until(() => h.state().status === "reconnecting", "reconnecting");
    const since = h.state().disconnectedSince as number;
    await advance(3_000);
    expect(totalDisconnectedMs(h.state(), Date.now())).toBeGreaterThanOrEqual(3_000);

    h.server.accepting = true;
    await until(() => h.state().status === "connected", "reconnected");
    const outage = h.state().disconnectedMs;
    expect(outage).toBeGreaterThanOrEqual(3_000);
    expect(outage).toBeLessThan(3_000 + 1_000);
    expect(Date.now() - since).toBeGreaterThanOrEqual(outage);
    expect(h.state().disconnectedSince).toBeNull();
    expect(h.state().connections).toBe(2);
  });

  it("reconnects by itself after the server closed the socket", async () => {
    const h = createHarness();
    await connectAndJoin(h, "ada", ["general"]);
    h.server.latest.kick();
    await until(() => h.state().status === "reconnecting", "kicked");
    await until(() => h.state().status === "connected", "back");
    expect(h.server.sockets).toHaveLength(1);
  });

  it("keeps retrying while the server refuses handshakes (full or draining), and says why", async () => {
    const h = createHarness();
    h.server.refusal = { code: ErrorCode.ServerFull, message: "too many connections" };
    h.client.setName("ada");
    h.client.start();
    await until(() => h.server.latest.handshakes >= 3, "several attempts");
    expect(h.state().status).toBe("reconnecting");
    expect(h.state().statusDetail).toBe("All servers are full; retrying.");

    h.server.refusal = null;
    await until(() => h.state().status === "connected", "admitted");
    expect(h.state().statusDetail).toBeNull();
  });

  it("stops and asks for another name when the server says the name is taken", async () => {
    const h = createHarness();
    h.server.refusal = { code: ErrorCode.NameTaken, message: "name is taken" };
    h.client.setName("ada");
    h.client.start();
    await until(() => h.state().nameError !== null, "refused");
    expect(h.state().status).toBe("offline");
    const attempts = h.server.latest.handshakes;
    await advance(10_000);
    expect(h.server.latest.handshakes).toBe(attempts);

    h.server.refusal = null;
    h.client.setName("ada2");
    await until(() => h.state().status === "connected", "connected with the new name");
    expect(h.state().nameError).toBeNull();
    expect(h.state().user?.name).toBe("ada2");
  });

  it("is offline while the device has no network", async () => {
    let online = true;
    const listeners = new Set<() => void>();
    const server = new FakeServer();
    const client = new ChatClient({
      createSocket: server.factory,
      storage: new MemoryStorage(),
      timing: testTiming,
      network: {
        isOnline: () => online,
        subscribe: (fn) => {
          listeners.add(fn);
          return () => listeners.delete(fn);
        },
      },
    });
    client.setName("ada");
    client.start();
    await until(() => client.getState().status === "connected", "connected");
    online = false;
    for (const fn of listeners) fn();
    expect(client.getState().status).toBe("offline");
    expect(client.getState().statusDetail).toBe("No network.");
    online = true;
    for (const fn of listeners) fn();
    expect(client.getState().status).toBe("connected");
    client.stop();
    expect(listeners.size).toBe(0);
  });
});

describe("rooms", () => {
  it("normalizes and validates room names", () => {
    expect(normalizeRoomName("  #General Chat ")).toBe("general-chat");
    const h = createHarness();
    expect(h.client.joinRoom("no/slashes")).toMatch(/a-z/);
    expect(h.client.joinRoom("")).toBe("Type a room name.");
    expect(h.client.joinRoom("x".repeat(41))).toMatch(/at most 40/);
    expect(h.client.joinRoom("#General")).toBeNull();
    expect(h.state().roomOrder).toEqual(["general"]);
    expect(h.state().activeRoom).toBe("general");
  });

  it("remembers joined rooms and the open one across a reload", async () => {
    const first = createHarness();
    await connectAndJoin(first, "ada", ["general", "random"]);
    first.client.openRoom("general");
    first.client.stop();
    const second = createHarness({ server: first.server, storage: first.storage });
    expect(second.state().roomOrder).toEqual(["general", "random"]);
    expect(second.state().activeRoom).toBe("general");
    second.client.start();
    await until(() => second.state().rooms.random?.loaded === true, "rejoined");
  });

  it("leaves a room: the server is told, the tab goes and the next one opens", async () => {
    const h = createHarness();
    await connectAndJoin(h, "ada", ["general", "random"]);
    h.client.leaveRoom("random");
    expect(h.state().roomOrder).toEqual(["general"]);
    expect(h.state().activeRoom).toBe("general");
    await until(() => h.server.requestsOf("room:leave").length === 1, "leave sent");
    await advance(10);
    expect(h.server.latest.rooms.has("random")).toBe(false);
  });

  it("reports a refused join next to the room and in the error banner", async () => {
    const h = createHarness();
    await connectAndJoin(h, "ada", ["general"]);
    h.server.interceptor = (req) =>
      req.event === "room:join"
        ? { ok: false, error: { code: ErrorCode.TooManyRooms, message: "at most 1 room" } }
        : undefined;
    h.client.joinRoom("random");
    await until(() => h.state().error !== null, "refused");
    expect(h.state().error).toBe("Could not join #random: You are in too many rooms; leave one first.");
    expect(h.state().rooms.random?.error).toBe(h.state().error);
  });

  it("explains a name already used in the room, and joins once renamed", async () => {
    const h = createHarness();
    await connectAndJoin(h, "ada", ["general"]);
    h.server.interceptor = (req) =>
      req.event === "room:join" && req.payload.room === "busy" && req.socket.user?.name === "ada"
        ? { ok: false, error: { code: ErrorCode.NameTaken, message: 'the name "ada" is in use in busy; pick another' } }
        : undefined;
    h.client.joinRoom("busy");
    await until(() => h.state().rooms.busy?.error != null, "refused");
    expect(h.state().error).toBe('Could not join #busy: the name "ada" is in use in busy; pick another');
    expect(h.state().nameError).toBe("That name is taken; pick another one.");

    h.client.setName("ada2");
    await until(() => h.state().rooms.busy?.loaded === true, "joined under the new name");
    expect(h.state().rooms.busy?.error).toBeNull();
    expect(h.state().nameError).toBeNull();
    expect(h.state().status).toBe("connected");
  });

  it("tracks presence from join answers and presence events", async () => {
    const a = createHarness();
    await connectAndJoin(a, "ada", ["general"]);
    const b = createHarness({ server: a.server });
    await connectAndJoin(b, "bob", ["general"]);
    await until(() => a.state().rooms.general?.presence.length === 2, "ada sees bob");
    expect(b.state().rooms.general?.presence.map((u) => u.name)).toEqual(["ada", "bob"]);
    b.client.stop();
    await until(() => a.state().rooms.general?.presence.length === 1, "bob gone");
  });
});

describe("typing", () => {
  it("throttles typing notices, says when typing stops, and expires stale indicators", async () => {
    const a = createHarness();
    await connectAndJoin(a, "ada", ["general"]);
    const b = createHarness({ server: a.server });
    await connectAndJoin(b, "bob", ["general"]);
    const typingSent = () => a.server.requestsOf("typing").filter((r) => r.socket === a.server.sockets[0]);

    for (let i = 0; i < 10; i++) {
      a.client.composerChanged("general", "hello".slice(0, (i % 5) + 1));
      await advance(100);
    }
    expect(typingSent().map((r) => r.payload.typing)).toEqual([true]);
    await until(() => b.state().rooms.general?.typing.length === 1, "bob sees ada typing");
    expect(b.state().rooms.general?.typing[0]?.user.name).toBe("ada");

    a.client.send("general", "hello");
    expect(typingSent().map((r) => r.payload.typing)).toEqual([true, false]);
    await until(() => b.state().rooms.general?.typing.length === 0, "stopped");

    // A "typing" whose "stopped" never comes (its sender's pod died, say) disappears on its own.
    b.server.latest.push("typing", { room: "general", user: { id: "ghost", name: "Ghost" }, typing: true });
    await until(() => b.state().rooms.general?.typing.length === 1, "ghost typing");
    await advance(5_000);
    expect(b.state().rooms.general?.typing).toHaveLength(1);
    await advance(1_500);
    expect(b.state().rooms.general?.typing).toEqual([]);
  });
});

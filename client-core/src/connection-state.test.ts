import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  ConnectionMachine,
  type ConnectionState,
  canTransition,
  connectionTransitions,
  IllegalTransitionError,
  statusOf,
} from "./connection-state.js";
import { connectAndJoin, createHarness, until } from "./testing/harness.js";

const states = Object.keys(connectionTransitions) as ConnectionState[];

describe("connection state machine", () => {
  it("refuses the transitions the table does not list, and reports them", () => {
    const changes: string[] = [];
    const refused: string[] = [];
    const m = new ConnectionMachine(
      (from, to) => changes.push(`${from}->${to}`),
      (e) => refused.push(`${e.from}->${e.to}`),
    );
    expect(m.to("connected")).toBe(false); // idle -> connected: no handshake happened
    expect(m.to("handing-over")).toBe(false);
    expect(m.state).toBe("idle");
    expect(m.to("connecting")).toBe(true);
    expect(m.to("handing-over")).toBe(false); // a handover needs a session first
    expect(m.to("connected")).toBe(true);
    expect(m.to("connected")).toBe(false); // staying put is no transition
    expect(m.to("handing-over")).toBe(true);
    expect(changes).toEqual(["idle->connecting", "connecting->connected", "connected->handing-over"]);
    expect(refused).toEqual(["idle->connected", "idle->handing-over", "connecting->handing-over"]);
  });

  it("throws on an illegal transition by default", () => {
    const m = new ConnectionMachine(() => {});
    expect(() => m.to("halted")).toThrow(IllegalTransitionError);
    expect(m.state).toBe("idle");
  });

  it("never allows a handover without a session, nor leaving halted without a new attempt", () => {
    for (const from of ["idle", "connecting", "reconnecting", "halted"] as const)
      expect(canTransition(from, "handing-over")).toBe(false);
    expect(canTransition("halted", "connected")).toBe(false);
    for (const from of states) expect(connectionTransitions[from]).not.toContain(from);
  });

  it("derives the status the UI shows from the state alone", () => {
    expect(states.map((s) => [s, statusOf(s)])).toEqual([
      ["idle", "offline"],
      ["connecting", "reconnecting"],
      ["connected", "connected"],
      ["handing-over", "connected"],
      ["reconnecting", "reconnecting"],
      ["offline", "offline"],
      ["halted", "offline"],
    ]);
  });
});

describe("a client's transitions", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("go connecting -> connected -> handing-over -> connected -> reconnecting -> connected -> idle", async () => {
    const h = createHarness();
    const seen: string[] = [];
    h.client.on("state", (from, to) => seen.push(`${from}->${to}`));
    await connectAndJoin(h, "ada", ["general"]);
    h.server.latest.push("server:draining", { deadline: Date.now() + 5_000 });
    await until(() => seen.includes("handing-over->connected"), "handover done");
    h.server.latest.drop();
    await until(() => h.state().connection === "connected" && seen.length === 6, "reconnected");
    h.client.stop();
    expect(seen).toEqual([
      "idle->connecting",
      "connecting->connected",
      "connected->handing-over",
      "handing-over->connected",
      "connected->reconnecting",
      "reconnecting->connected",
      "connected->idle",
    ]);
    expect(h.state().status).toBe("offline");
  });
});

import { describe, expect, it } from "vitest";
import { Lifecycle } from "./lifecycle.js";

describe("lifecycle", () => {
  it("is not ready and refuses connections until started", () => {
    const lc = new Lifecycle({ maxConnections: 3, lowWater: 1 }, false);
    expect(lc.readiness()).toMatchObject({ ready: false, reasons: ["starting"] });
    expect(lc.refusal()?.code).toBe("unavailable");
    lc.started();
    expect(lc.readiness()).toMatchObject({ ready: true, phase: "ready", redis: "none" });
    expect(lc.refusal()).toBeNull();
  });

  it("becomes full at the limit and ready again only at the low-water mark", () => {
    const lc = new Lifecycle({ maxConnections: 3, lowWater: 1 }, false);
    lc.started();
    for (let i = 0; i < 3; i++) lc.connectionOpened();
    expect(lc.readiness()).toMatchObject({ ready: false, reasons: ["full"] });
    expect(lc.refusal()?.code).toBe("server_full");
    lc.connectionClosed();
    // Below the limit: admits again, but stays unready (hysteresis).
    expect(lc.refusal()).toBeNull();
    expect(lc.readiness().ready).toBe(false);
    lc.connectionClosed();
    expect(lc.readiness().ready).toBe(true);
  });

  it("follows Redis without leaving its phase", () => {
    const lc = new Lifecycle({ maxConnections: 3, lowWater: 1 }, true);
    lc.started();
    expect(lc.readiness()).toMatchObject({ ready: false, reasons: ["redis_down"], phase: "ready" });
    lc.setRedisUp(true);
    expect(lc.readiness().ready).toBe(true);
    lc.setRedisUp(false);
    expect(lc.readiness()).toMatchObject({ ready: false, redis: "down" });
  });

  it("stops (still admitting), then drains (refusing), once", () => {
    const lc = new Lifecycle({ maxConnections: 3, lowWater: 1 }, false);
    lc.started();
    lc.stop();
    expect(lc.readiness()).toMatchObject({ ready: false, reasons: ["stopping"] });
    expect(lc.refusal()).toBeNull();
    expect(lc.beginDrain()).toBe(true);
    expect(lc.beginDrain()).toBe(false);
    expect(lc.refusal()?.code).toBe("draining");
    lc.connectionOpened();
    lc.connectionOpened();
    lc.connectionOpened();
    expect(lc.current).toBe("draining");
  });
});

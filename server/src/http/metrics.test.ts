import { describe, expect, it } from "vitest";
import { Lifecycle } from "../lifecycle/lifecycle.js";
import { createMetrics } from "./metrics.js";

describe("metrics", () => {
  it("counts accepted handshakes by the scrape, and keeps the total across scrapes", async () => {
    const metrics = createMetrics(new Lifecycle({ maxConnections: 10, lowWater: 5 }, false));
    const accepted = async () =>
      (await metrics.registry.metrics()).match(/chat_handshakes_total\{result="accepted",reason="ok"\} (\d+)/)?.[1];
    for (let i = 0; i < 3; i++) metrics.countAccepted();
    expect(await accepted()).toBe("3");
    metrics.countAccepted();
    expect(await accepted()).toBe("4");
    expect(await accepted()).toBe("4");
  });

  it("reports the event-loop delay since the last scrape", async () => {
    const metrics = createMetrics(new Lifecycle({ maxConnections: 10, lowWater: 5 }, false));
    const lagMax = async () =>
      Number((await metrics.registry.metrics()).match(/chat_event_loop_lag_seconds\{quantile="1"\} (\S+)/)?.[1]);
    await lagMax(); // starts a fresh interval
    // The sampler's first tick only sets its baseline: let it (and one more) pass before the block.
    await new Promise((r) => setTimeout(r, 120));
    const blockUntil = performance.now() + 200;
    while (performance.now() < blockUntil) {
      // The event loop is blocked: the sampler's next tick comes ~200 ms late.
    }
    await new Promise((r) => setTimeout(r, 30));
    expect(await lagMax()).toBeGreaterThan(0.15);
    // The next scrape covers only the time since this one, without the block.
    await new Promise((r) => setTimeout(r, 50));
    expect(await lagMax()).toBeLessThan(0.15);
  });
});

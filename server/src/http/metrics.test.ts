import { describe, expect, it } from "vitest";
import { Lifecycle } from "../lifecycle/lifecycle.js";
import { createMetrics } from "./metrics.js";

describe("metrics", () => {
  it("counts accepted handshakes by the scrape, and keeps the total across scrapes", async () => {
    const metrics = createMetrics(new Lifecycle({ maxConnections: 10, lowWater: 5 }, false));
    try {
      const accepted = async () =>
        (await metrics.registry.metrics()).match(/chat_handshakes_total\{result="accepted",reason="ok"\} (\d+)/)?.[1];
      for (let i = 0; i < 3; i++) metrics.countAccepted();
      expect(await accepted()).toBe("3");
      metrics.countAccepted();
      expect(await accepted()).toBe("4");
      expect(await accepted()).toBe("4");
    } finally {
      metrics.stop();
    }
  });
});

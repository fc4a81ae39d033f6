import { expect, it } from "vitest";
import { fuzzPod } from "./fuzz-pod.js";

// A sample of the raw-protocol fuzzer (the full run is `pnpm --filter @chat/server fuzz`).
it("survives hostile Engine.IO/Socket.IO traffic while a normal user keeps chatting", async () => {
  const outcome = await fuzzPod({
    cases: 1500,
    seed: 42,
    concurrency: 8,
    halfOpen: 10,
    slowloris: 10,
    timeoutMs: 60_000,
  });
  console.log(
    `fuzz: ${outcome.report.cases} cases over ${outcome.report.connections} connections in ${outcome.report.durationMs} ms; ` +
      `heap ${outcome.memory.heapBeforeMiB.toFixed(1)} -> ${outcome.memory.heapAfterMiB.toFixed(1)} MiB; control max ack ${outcome.control.maxAckMs} ms`,
  );
  expect(outcome.report.cases).toBe(1500);
  expect(outcome.report.probeTimeouts).toBe(0);
  expect(outcome.alive).toBe(true);
  expect(outcome.livez).toBe(200);
  expect(outcome.unhandled).toEqual([]);
  expect(outcome.control.acked).toBe(outcome.control.sent);
  expect(outcome.control.receivedInOrder).toBe(true);
  expect(outcome.memory.heapAfterMiB).toBeLessThan(outcome.memory.heapBeforeMiB + 32);
}, 120_000);

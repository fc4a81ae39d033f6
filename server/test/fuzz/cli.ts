import { parseArgs } from "node:util";
import { fuzzPod } from "./fuzz-pod.js";

// pnpm --filter @chat/server fuzz [--cases 100000] [--seed 1] [--concurrency 16]
const { values } = parseArgs({
  options: {
    cases: { type: "string", default: "100000" },
    seed: { type: "string", default: String(Date.now() % 100_000) },
    concurrency: { type: "string", default: "16" },
  },
});
const cases = Number(values.cases);
console.log(`fuzzing a pod with ${cases} cases, seed ${values.seed} (replay with --seed ${values.seed})`);
const outcome = await fuzzPod({
  cases,
  seed: Number(values.seed),
  concurrency: Number(values.concurrency),
  halfOpen: 50,
  slowloris: 50,
  timeoutMs: 30 * 60_000,
});
console.log(JSON.stringify(outcome, null, 2));
const ok =
  outcome.report.probeTimeouts === 0 &&
  outcome.alive &&
  outcome.livez === 200 &&
  outcome.unhandled.length === 0 &&
  outcome.control.receivedInOrder;
console.log(ok ? "PASS: 0 crashes, 0 unhandled rejections, control user unaffected" : "FAIL");
process.exit(ok ? 0 : 1);

import { parseArgs } from "node:util";
import { measureAckCost } from "./ack-cost.js";
import { type FailoverReport, runFailover, type Topology } from "./run.js";

// pnpm --filter @chat/server failover [--runs 3] [--topology sentinel|cluster|both] [--acks default|0|both] [--chat-ms 3000] [--no-cost]
const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    topology: { type: "string", default: "both" },
    acks: { type: "string", default: "both" },
    "chat-ms": { type: "string", default: "3000" },
    bots: { type: "string", default: "4" },
    "no-cost": { type: "boolean", default: false },
  },
});
if (!values["no-cost"]) {
  console.log("what waiting for replicas costs an append (store only, Sentinel master + 2 replicas on loopback):");
  for (const c of await measureAckCost()) {
    console.log(
      `  REDIS_MIN_REPLICAS_ACK=${c.replicas}: one at a time p50 ${c.p50Ms} ms, p99 ${c.p99Ms} ms; 64 in flight ${c.perSecond}/s`,
    );
  }
}
const topologies: Topology[] = values.topology === "both" ? ["sentinel", "cluster"] : [values.topology as Topology];
const acks: (number | undefined)[] =
  values.acks === "both" ? [undefined, 0] : [values.acks === "default" ? undefined : Number(values.acks)];
const runs = Number(values.runs);
const reports: FailoverReport[] = [];
let failed = false;
for (const topology of topologies) {
  for (const replicasAck of acks) {
    for (let run = 1; run <= runs; run++) {
      const report = await runFailover({
        topology,
        replicasAck,
        chatMs: Number(values["chat-ms"]),
        bots: Number(values.bots),
        log: (line) => console.log(`  ${topology} acks=${replicasAck ?? "default"} #${run}: ${line}`),
      });
      reports.push(report);
      console.log(JSON.stringify({ run, ...report }));
      // The promise holds only where replicas confirm each send.
      if (replicasAck !== 0 && (report.lost > 0 || report.duplicated > 0 || report.clientsMissing > 0)) failed = true;
    }
  }
}
console.log("\nsummary (per topology and REDIS_MIN_REPLICAS_ACK):");
for (const topology of topologies) {
  for (const replicasAck of acks) {
    const rs = reports.filter(
      (r) => r.topology === topology && r.replicasAck === (replicasAck === undefined ? "default" : String(replicasAck)),
    );
    const sum = (f: (r: FailoverReport) => number) => rs.reduce((s, r) => s + f(r), 0);
    const range = (f: (r: FailoverReport) => number) => `${Math.min(...rs.map(f))}-${Math.max(...rs.map(f))}`;
    console.log(
      `  ${topology.padEnd(8)} acks=${String(replicasAck ?? "default").padEnd(7)} runs=${rs.length} acknowledged=${sum((r) => r.acknowledged)} lost=${sum((r) => r.lost)} (in ${rs.filter((r) => r.lost > 0).length} runs) duplicated=${sum((r) => r.duplicated)} reusedSeqs=${sum((r) => r.reusedSeqs)} clientsMissing=${sum((r) => r.clientsMissing)} failover=${range((r) => r.failoverMs)} ms sendsRefused=${range((r) => r.sendsRefusedMs)} ms unready=${range((r) => r.unreadyMs)} ms ackP50=${range((r) => r.ackP50Ms)} ms`,
    );
  }
}
console.log(failed ? "FAIL: an acknowledged message was lost or duplicated with replica acks on" : "PASS");
process.exit(failed ? 1 : 0);

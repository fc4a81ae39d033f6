/**
 * A process that starts a rig, prints its children's pids as one JSON line, and waits to be
 * killed: no-orphans.test.ts kills it the ways a rig can die and checks what is left.
 */
import { FAST } from "../overrides.js";
import { startRig } from "../rig.js";

const rig = await startRig({ overrides: { ...FAST, replicas: 2 } });
const pids = rig.timeline.events.filter((e) => e.type === "pod-started").map((e) => Number(e.detail?.pid));
pids.push(rig.haproxy.proc.child.pid ?? 0);
console.log(JSON.stringify({ pids }));
setInterval(() => {}, 60_000);

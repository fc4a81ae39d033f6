/**
 * A process that starts a rig, prints its children's pids as one JSON line, and waits to be
 * killed: no-orphans.test.ts kills it the ways a rig can die and checks what is left.
 */
import { FAST } from "../src/overrides.js";
import { startRig } from "../src/rig.js";

const rig = await startRig({ overrides: { ...FAST, replicas: 2 } });
const pids = rig.pods().flatMap((p) => (p.pid === undefined ? [] : [p.pid]));
pids.push(rig.haproxy.proc.child.pid ?? 0);
console.log(JSON.stringify({ pids }));
setInterval(() => {}, 60_000);

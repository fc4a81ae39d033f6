import { meterFor, progress, round, share, sleep, withGenerators } from "../common.js";
import type { ConnectResult, JoinResult, Kind, WindowResult } from "../gen/messages.js";
import type { Profile } from "../profiles.js";
import { markServerProfiles, startCluster } from "../targets.js";

export interface JoinRow {
  target: Kind;
  /** Sockets joining the one room, spread over the pods. */
  members: number;
  pods: number;
  joined: number;
  failed: number;
  errors: string[];
  /** From the first join sent until the last presence event arrived. */
  ms: number;
  serverCpuS: number;
  redisCpuS: number;
  /** Events other than messages delivered meanwhile (presence), and their bytes. */
  presenceEvents: number;
  presenceBytes: number;
  /** Bytes of the join acks (ours carry the member list). */
  ackBytes: number;
  machineBusy: number;
}

const ROOM = "storm";
const POLL_MS = 500;
const QUIET_MS = 2000;

/** A join storm: `members` connected sockets join one room (concurrency 10 per generator). */
export async function joinStorm(kind: Kind, profile: Profile, members: number): Promise<JoinRow> {
  const j = profile.join;
  const label = `join ${kind} ×${members}`;
  progress(`${label}: starting redis + ${j.pods} pods`);
  const cluster = await startCluster(kind, { pods: j.pods });
  try {
    return await withGenerators(profile.generators, async (gens) => {
      const meter = meterFor(cluster, gens);
      const urls = cluster.pods.map((p) => p.url);
      progress(`${label}: connecting`);
      const conns = await gens.all<ConnectResult>(
        (i) => ({ cmd: "connect", role: "sub", urls, count: share(members, gens.size, i), concurrency: 25 }),
        600_000,
      );
      const connectFailed = conns.reduce((n, r) => n + r.failed, 0);
      if (connectFailed > 0) throw new Error(`${label}: ${connectFailed} connections failed: ${conns[0]?.errors[0]}`);
      // Let the connect work (and its session events) settle out of the measured window.
      await sleep(1000);
      await gens.all({ cmd: "window" });
      progress(`${label}: joining one room`);
      meter.reset();
      const joined = await gens.all<JoinResult>(
        { cmd: "join", role: "sub", room: ROOM, concurrency: j.concurrency },
        600_000,
      );
      // Until no presence event came for QUIET_MS: longer than a room's size announcements are
      // apart (1 s, room-wide) plus a pod's coalescing, so the last one is counted.
      let events = 0;
      let bytes = 0;
      let quietFor = 0;
      const deadline = Date.now() + 120_000;
      while (quietFor < QUIET_MS && Date.now() < deadline) {
        await sleep(POLL_MS);
        const w = await gens.all<WindowResult>({ cmd: "window" });
        const n = w.reduce((a, x) => a + x.otherEvents, 0);
        events += n;
        bytes += w.reduce((a, x) => a + x.otherBytes, 0);
        quietFor = n === 0 ? quietFor + POLL_MS : 0;
      }
      const cpu = meter.read();
      markServerProfiles(cluster.serverPids(), "close");
      return {
        target: kind,
        members,
        pods: j.pods,
        joined: joined.reduce((n, r) => n + r.ok, 0),
        failed: joined.reduce((n, r) => n + r.failed, 0),
        errors: joined.flatMap((r) => r.errors).slice(0, 3),
        // The final quiet windows are not part of the storm.
        ms: round(Math.max(0, cpu.wallS * 1000 - QUIET_MS), 0),
        serverCpuS: round(cpu.cpu.server ?? 0, 3),
        redisCpuS: round(cpu.cpu.redis ?? 0, 3),
        presenceEvents: events,
        presenceBytes: bytes,
        ackBytes: joined.reduce((n, r) => n + r.ackBytes, 0),
        machineBusy: round(cpu.machineBusy, 2),
      };
    });
  } finally {
    progress(`${label}: stopping`);
    await cluster.stop();
  }
}

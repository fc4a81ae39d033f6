import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { progress, round, share, sleep, withGenerators } from "../common.js";
import type { ConnectResult, Kind } from "../gen/messages.js";
import type { Profile } from "../profiles.js";
import { HEAP_SNAP_PRELOAD, startCluster } from "../targets.js";

export interface HeapRow {
  target: Kind;
  connections: number;
  /** Heap growth per connection, bytes, and what it is made of (self sizes by kind of object). */
  bytesPerConn: number;
  top: { what: string; bytesPerConn: number; countPerConn: number }[];
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** Self size and count per kind of object: `object:<constructor>`, `closure:<function>`, or the V8 type. */
function aggregate(file: string): Map<string, { bytes: number; count: number }> {
  const snap = JSON.parse(readFileSync(file, "utf8")) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const [fType, fName, fSize] = ["type", "name", "self_size"].map((f) => fields.indexOf(f)) as [number, number, number];
  const out = new Map<string, { bytes: number; count: number }>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + fType] as number] as string;
    const name = snap.strings[snap.nodes[i + fName] as number] ?? "";
    const key = type === "object" || type === "closure" ? `${type}:${name.slice(0, 60)}` : type;
    const e = out.get(key) ?? { bytes: 0, count: 0 };
    e.bytes += snap.nodes[i + fSize] as number;
    e.count++;
    out.set(key, e);
  }
  return out;
}

async function snapshot(pid: number, dir: string, n: number) {
  process.kill(pid, "SIGUSR2");
  const file = join(dir, `${pid}-${n}.heapsnapshot`);
  const deadline = Date.now() + 120_000;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`no heap snapshot from ${pid}`);
    await sleep(200);
  }
  return file;
}

/** One pod of `kind`, a heap snapshot before and after `profile.capacity.perPod` idle connections. */
export async function heap(kind: Kind, profile: Profile): Promise<HeapRow> {
  const perPod = profile.capacity.perPod;
  const dir = mkdtempSync(join(tmpdir(), "bench-heap-"));
  const label = `heap ${kind}`;
  progress(`${label}: starting redis + 1 pod`);
  const cluster = await startCluster(kind, {
    pods: 1,
    env: { NODE_OPTIONS: `--import=${HEAP_SNAP_PRELOAD}`, HEAP_SNAP_DIR: dir },
  });
  try {
    const pod = cluster.pods[0];
    if (!pod) throw new Error("no pod");
    return await withGenerators(profile.generators, async (gens) => {
      await sleep(1000);
      const before = await snapshot(pod.pid, dir, 1);
      progress(`${label}: ${perPod} idle connections`);
      const res = await gens.all<ConnectResult>(
        (i) => ({ cmd: "connect", role: "sub", urls: [pod.url], count: share(perPod, gens.size, i), concurrency: 25 }),
        600_000,
      );
      const connected = res.reduce((n, r) => n + r.ok, 0);
      await sleep(profile.capacity.settleMs);
      const after = await snapshot(pod.pid, dir, 2);
      progress(`${label}: reading the snapshots`);
      const a = aggregate(before);
      const b = aggregate(after);
      const diff = [...b].map(([what, e]) => ({
        what,
        bytesPerConn: round((e.bytes - (a.get(what)?.bytes ?? 0)) / connected, 1),
        countPerConn: round((e.count - (a.get(what)?.count ?? 0)) / connected, 2),
      }));
      const total = diff.reduce((s, d) => s + d.bytesPerConn, 0);
      return {
        target: kind,
        connections: connected,
        bytesPerConn: round(total, 0),
        top: diff.sort((x, y) => y.bytesPerConn - x.bytesPerConn).slice(0, 25),
      };
    });
  } finally {
    progress(`${label}: stopping`);
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

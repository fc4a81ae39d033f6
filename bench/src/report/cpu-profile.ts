import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { table } from "./tables.js";

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

export interface Frame {
  frame: string;
  selfMs: number;
  share: number;
}

/** Self time per function (summed over every node of that function), highest first. */
export function topFrames(file: string, limit = 15): { totalMs: number; frames: Frame[] } {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const f = byId.get(id);
    const us = profile.timeDeltas[i] ?? 0;
    if (!f || f.functionName === "(idle)") return;
    total += us;
    const where = f.url ? `${shorten(f.url)}:${f.lineNumber + 1}` : "";
    const key = `${f.functionName || "(anonymous)"} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + us);
  });
  const frames = [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([frame, us]) => ({ frame, selfMs: Math.round(us / 100) / 10, share: total > 0 ? us / total : 0 }));
  return { totalMs: Math.round(total / 1000), frames };
}

const shorten = (url: string) => {
  const path = url.replace(/^file:\/\//, "");
  const nm = path.lastIndexOf("node_modules/");
  if (nm >= 0) return path.slice(nm + "node_modules/".length).replace(/^\.pnpm\/[^/]+\/node_modules\//, "");
  const src = path.search(/(server|bench)\/dist\//);
  return src >= 0 ? path.slice(src) : basename(path);
};

/** A table per profile file written under `dir/<target>/` (one per server process). */
export function profileTables(dir: string, limit = 15): string {
  const files = readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".cpuprofile"));
  return files
    .sort()
    .map((f) => {
      const { totalMs, frames } = topFrames(join(dir, f), limit);
      return `\n${f}: ${totalMs} ms of samples (idle excluded), top ${limit} by self time\n\n${table(
        ["frame", "self ms", "share"],
        frames.map((x) => [x.frame, x.selfMs, `${(x.share * 100).toFixed(1)}%`]),
      )}`;
    })
    .join("\n");
}

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { table } from "./tables.js";

interface CpuProfile {
  startTime: number;
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

export interface Frame {
  frame: string;
  selfMs: number;
  share: number;
}

/**
 * A stretch of a run (the rollout) on the monotonic clock, in microseconds: V8 stamps a profile's
 * samples with the same CLOCK_MONOTONIC that process.hrtime reads, in every process of the machine.
 */
export interface ProfileWindow {
  label: string;
  fromUs: bigint | number;
  toUs: bigint | number;
}

const WINDOW_FILE = "window.json";

/** Remember the window in the profile directory (no-op when not profiling); the last one wins. */
export function writeProfileWindow(dir: string | undefined, w: ProfileWindow) {
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, WINDOW_FILE), JSON.stringify({ ...w, fromUs: Number(w.fromUs), toUs: Number(w.toUs) }));
}

/**
 * Self time per function (summed over every node of that function), highest first; with a
 * window, only the samples taken inside it.
 */
export function topFrames(file: string, limit = 15, window?: ProfileWindow): { totalMs: number; frames: Frame[] } {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const self = new Map<string, number>();
  let total = 0;
  let at = profile.startTime;
  const from = Number(window?.fromUs ?? Number.NEGATIVE_INFINITY);
  const to = Number(window?.toUs ?? Number.POSITIVE_INFINITY);
  profile.samples.forEach((id, i) => {
    const f = byId.get(id);
    const us = profile.timeDeltas[i] ?? 0;
    at += us;
    if (at < from || at > to) return;
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

/**
 * A table per profile file written under `dir/<target>/` (one per process); when a scenario left
 * a window (the rollout), a second table per file for the samples inside it.
 */
export function profileTables(dir: string, limit = 15): string {
  const files = readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".cpuprofile"));
  const windowFile = join(dir, WINDOW_FILE);
  const window = existsSync(windowFile) ? (JSON.parse(readFileSync(windowFile, "utf8")) as ProfileWindow) : undefined;
  const views: (ProfileWindow | undefined)[] = window ? [undefined, window] : [undefined];
  return files
    .sort()
    .flatMap((f) => views.map((w) => ({ f, w })))
    .map(({ f, w }) => {
      const { totalMs, frames } = topFrames(join(dir, f), limit, w);
      const what = w
        ? `during ${w.label} (${Math.round((Number(w.toUs) - Number(w.fromUs)) / 1000)} ms)`
        : "whole life";
      return `\n${f}, ${what}: ${totalMs} ms of samples (idle excluded), top ${limit} by self time\n\n${table(
        ["frame", "self ms", "share"],
        frames.map((x) => [x.frame, x.selfMs, `${(x.share * 100).toFixed(1)}%`]),
      )}`;
    })
    .join("\n");
}

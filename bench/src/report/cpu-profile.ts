import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { table } from "./tables.js";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface CpuProfile {
  startTime: number;
  nodes: { id: number; callFrame: CallFrame; children?: number[] }[];
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

/** With a window, only the samples taken inside it. */
export interface Profile {
  totalMs: number;
  /** Self time per function (summed over every node of that function), highest first. */
  frames: Frame[];
  /**
   * Every sample charged to the innermost frame of our own code (server or protocol) on its
   * stack: what each of our functions costs, including the libraries it calls. Samples with no
   * frame of ours on the stack (Socket.IO's own work, timers, GC) are "(no frame of ours)".
   */
  ours: Frame[];
}

const OUR_CODE = /\/(server|protocol)\/dist\//;

export function topFrames(file: string, limit = 15, window?: ProfileWindow): Profile {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const ours = new Map<string, number>();
  const add = (m: Map<string, number>, key: string, us: number) => m.set(key, (m.get(key) ?? 0) + us);
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
    let mine: CallFrame | undefined;
    for (let node: number | undefined = id; node !== undefined; node = parent.get(node)) {
      const url = byId.get(node)?.url ?? "";
      // The profiler's own work when the measured window opens (serializing what came before).
      if (url.endsWith("/cpu-prof.js")) return;
      if (!mine && OUR_CODE.test(url)) mine = byId.get(node);
    }
    total += us;
    add(self, label(f), us);
    add(ours, mine ? label(mine) : "(no frame of ours)", us);
  });
  const top = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([frame, us]) => ({ frame, selfMs: Math.round(us / 100) / 10, share: total > 0 ? us / total : 0 }));
  return { totalMs: Math.round(total / 1000), frames: top(self), ours: top(ours) };
}

const label = (f: CallFrame) => {
  const where = f.url ? `${shorten(f.url)}:${f.lineNumber + 1}` : "";
  return `${f.functionName || "(anonymous)"} ${where}`.trim();
};

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
      const { totalMs, frames, ours } = topFrames(join(dir, f), limit, w);
      const what = w
        ? `during ${w.label} (${Math.round((Number(w.toUs) - Number(w.fromUs)) / 1000)} ms)`
        : "whole life";
      const rows = (xs: Frame[]) => xs.map((x) => [x.frame, x.selfMs, `${(x.share * 100).toFixed(1)}%`]);
      const head = `\n${f}, ${what}: ${totalMs} ms of samples (idle excluded)`;
      const bySelf = `top ${limit} by self time\n\n${table(["frame", "self ms", "share"], rows(frames))}`;
      if (!f.startsWith("ours")) return `${head}, ${bySelf}`;
      const byOurs = `charged to the innermost frame of our code\n\n${table(["frame", "ms", "share"], rows(ours))}`;
      return `${head}, ${bySelf}\n\n${byOurs}`;
    })
    .join("\n");
}

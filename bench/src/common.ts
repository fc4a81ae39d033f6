import { GenPool } from "./gen/pool.js";
import { CpuMeter } from "./procstat.js";
import { type Cluster, markServerProfiles } from "./targets.js";

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const started = Date.now();
let lastLen = 0;

/** One progress line: what is running now, overwritten in place on a terminal. */
export function progress(text: string) {
  const line = `[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${text}`;
  if (process.stdout.isTTY) {
    process.stdout.write(`\r${line}${" ".repeat(Math.max(0, lastLen - line.length))}`);
    lastLen = line.length;
  } else if (!process.env.VITEST) console.log(line);
}

/** End the progress line so a table can follow. */
export function progressDone() {
  if (process.stdout.isTTY && lastLen > 0) process.stdout.write("\n");
  lastLen = 0;
}

/** Split `total` over `parts` as evenly as possible. */
export const share = (total: number, parts: number, i: number) =>
  Math.floor(total / parts) + (i < total % parts ? 1 : 0);

/** `profileWindow`: whether the first reset opens the servers' profiled window (--cpu-prof). */
export const meterFor = (cluster: Cluster, gens: GenPool, profileWindow = true) =>
  new CpuMeter(
    () => ({
      server: cluster.serverPids(),
      redis: cluster.redisPid ? [cluster.redisPid] : [],
      generators: gens.pids,
    }),
    // A scenario may close the window (join does) or place it itself (fan-out: its reference step).
    () => profileWindow && markServerProfiles(cluster.serverPids(), "open"),
  );

export const round = (x: number, digits = 2) => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

export interface RunContext {
  generators: number;
  /** Abort everything (Ctrl-C, a test timeout). */
  signal?: AbortSignal;
}

/** Start generators, run `fn`, always stop them. */
export async function withGenerators<T>(count: number, fn: (gens: GenPool) => Promise<T>): Promise<T> {
  const gens = await GenPool.start(count);
  try {
    return await fn(gens);
  } finally {
    await gens.stop();
  }
}

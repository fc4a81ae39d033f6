/**
 * No orphans, however the rig's process ends.
 *
 * - Normal exit: testkit's spawnManaged kills its children on 'exit'.
 * - SIGTERM / SIGHUP (a test runner stopping a worker, a closed terminal): Node would die without
 *   running 'exit' handlers, so the rig kills its children first, then lets the signal do what it
 *   would have done.
 * - SIGKILL of the rig itself: nothing runs. Every rig writes its children's pids to
 *   rig/.rig/<owner pid>.pids.json; the next rig (and the cluster specs' teardown) kills the
 *   children of owners that are gone, after checking each pid still runs what we started.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Managed } from "@chat/testkit";
import { REPO_ROOT } from "./manifest.js";

export const STATE_DIR = join(REPO_ROOT, "rig/.rig");

interface Child {
  pid: number;
  /** A substring of /proc/<pid>/cmdline that proves the pid was not reused by something else. */
  marker: string;
  what: string;
}

const children = new Map<number, Child>();
const dirs = new Set<string>();
const pidFile = join(STATE_DIR, `${process.pid}.pids.json`);
let hooked = false;

function save() {
  mkdirSync(STATE_DIR, { recursive: true });
  if (children.size === 0 && dirs.size === 0) rmSync(pidFile, { force: true });
  else
    writeFileSync(pidFile, JSON.stringify({ owner: process.pid, children: [...children.values()], dirs: [...dirs] }));
}

function killAll() {
  for (const c of children.values()) {
    try {
      process.kill(c.pid, "SIGKILL");
    } catch {}
  }
}

function hook() {
  if (hooked) return;
  hooked = true;
  for (const signal of ["SIGTERM", "SIGHUP"] as const) {
    // Only where nobody else decided what the signal means (the CLI installs its own handlers).
    if (process.listenerCount(signal) > 0) continue;
    process.once(signal, () => {
      killAll();
      rmSync(pidFile, { force: true });
      process.kill(process.pid, signal);
    });
  }
  process.once("exit", () => {
    killAll();
    rmSync(pidFile, { force: true });
  });
}

/** Remember a child process (and forget it once it has exited). */
export function track(proc: Managed, what: string, marker = what) {
  const pid = proc.child.pid;
  if (pid === undefined) return;
  hook();
  children.set(pid, { pid, marker, what });
  save();
  void proc.exited.then(() => {
    children.delete(pid);
    save();
  });
}

/** Remember a process we did not spawn ourselves (redis-server, started by testkit). */
export function trackPid(pid: number, what: string, marker: string) {
  hook();
  children.set(pid, { pid, marker, what });
  save();
}

export function untrackPid(pid: number) {
  children.delete(pid);
  save();
}

/** A temporary directory to remove if the owner dies. */
export function trackDir(dir: string, tracked = true) {
  if (tracked) dirs.add(dir);
  else dirs.delete(dir);
  save();
}

const cmdline = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return undefined;
  }
};

/** The process exists (signal 0 probes without signalling). */
export const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Pids whose command line contains `marker` (e.g. the redis-server process title). */
export function findPids(marker: string): number[] {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => cmdline(pid)?.includes(marker));
}

/** Kill what rigs that died without cleaning up left behind. Returns what was reaped. */
export function reapOrphans(): string[] {
  const reaped: string[] = [];
  let files: string[] = [];
  try {
    files = readdirSync(STATE_DIR).filter((f) => f.endsWith(".pids.json"));
  } catch {
    return reaped;
  }
  for (const f of files) {
    const path = join(STATE_DIR, f);
    let state: { owner: number; children: Child[]; dirs?: string[] };
    try {
      state = JSON.parse(readFileSync(path, "utf8"));
    } catch {
      rmSync(path, { force: true });
      continue;
    }
    if (state.owner === process.pid || alive(state.owner)) continue;
    for (const c of state.children) {
      if (!cmdline(c.pid)?.includes(c.marker)) continue;
      try {
        process.kill(c.pid, "SIGKILL");
        reaped.push(`${c.what} (pid ${c.pid})`);
      } catch {}
    }
    for (const d of state.dirs ?? []) rmSync(d, { recursive: true, force: true });
    rmSync(path, { force: true });
  }
  return reaped;
}

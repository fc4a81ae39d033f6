import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ; 100 on Linux everywhere that matters). */
const HZ = 100;

/** CPU seconds (user + system) a process has used, or undefined once it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / HZ; // utime, stime (fields 14, 15)
  } catch {
    return undefined;
  }
}

/** Resident set size in bytes (VmRSS of /proc/<pid>/status). */
export function rssBytes(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Whole-machine CPU counters from /proc/stat: busy and total jiffies over all cores. */
export function machineTicks(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = v;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

export function cores(): number {
  return (
    readFileSync("/proc/cpuinfo", "utf8")
      .split("\n")
      .filter((l) => l.startsWith("processor")).length || 1
  );
}

/** The pid of the redis-server listening on `port` (its process title is `redis-server 127.0.0.1:<port>`). */
export function findRedisPid(port: number): number | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, "utf8").replace(/\0/g, " ");
      if (cmd.includes("redis-server") && (cmd.includes(`:${port}`) || cmd.includes(`--port ${port}`))) {
        return Number(entry);
      }
    } catch {}
  }
  return undefined;
}

export interface CpuGroups {
  [group: string]: number[];
}

/** CPU use of groups of processes over a window, in CPU-seconds and in cores, plus the whole machine. */
export class CpuMeter {
  private start = new Map<number, number>();
  private machine = machineTicks();
  private t0 = process.hrtime.bigint();

  constructor(
    private readonly groups: () => CpuGroups,
    /** Called when the measured window opens again (see reset). */
    private readonly onReset: () => void = () => {},
  ) {
    this.restart();
  }

  /** Latest CPU seen per pid: a process that exits keeps what it used (call sample() while pods come and go). */
  private last = new Map<number, { group: string; cpu: number }>();

  /** The measured window starts now. */
  reset() {
    this.onReset();
    this.restart();
  }

  private restart() {
    this.start.clear();
    this.last.clear();
    for (const pids of Object.values(this.groups())) {
      for (const pid of pids) this.start.set(pid, cpuSeconds(pid) ?? 0);
    }
    this.start.set(process.pid, cpuSeconds(process.pid) ?? 0);
    this.sample();
    this.machine = machineTicks();
    this.t0 = process.hrtime.bigint();
  }

  /** Record the current CPU of every process of every group; a pid first seen now counts from 0 (it started in the window). */
  sample() {
    for (const [group, pids] of Object.entries(this.groups())) {
      for (const pid of pids) {
        const now = cpuSeconds(pid);
        if (now === undefined) continue;
        if (!this.start.has(pid)) this.start.set(pid, 0);
        this.last.set(pid, { group, cpu: now });
      }
    }
  }

  /** Per group, CPU-seconds used since reset as of the last sample() (a cheap read for timelines). */
  used(): Record<string, number> {
    const cpu: Record<string, number> = {};
    for (const [pid, { group, cpu: now }] of this.last)
      cpu[group] = (cpu[group] ?? 0) + now - (this.start.get(pid) ?? now);
    return cpu;
  }

  /** Per group: CPU-seconds used since reset; `wallS`; `machineBusy` (0..1 of all cores, every process on the box). */
  read(): { wallS: number; cpu: Record<string, number>; machineBusy: number; benchCores: number } {
    const wallS = Number(process.hrtime.bigint() - this.t0) / 1e9;
    this.sample();
    const cpu: Record<string, number> = {};
    for (const group of Object.keys(this.groups())) cpu[group] = 0;
    let bench = 0;
    for (const [pid, { group, cpu: now }] of this.last) {
      const used = now - (this.start.get(pid) ?? now);
      cpu[group] = (cpu[group] ?? 0) + used;
      bench += used;
    }
    const self = (cpuSeconds(process.pid) ?? 0) - (this.start.get(process.pid) ?? 0);
    cpu.orchestrator = self;
    bench += self;
    const m = machineTicks();
    const machineBusy = (m.busy - this.machine.busy) / Math.max(1, m.total - this.machine.total);
    return { wallS, cpu, machineBusy, benchCores: bench / wallS };
  }
}

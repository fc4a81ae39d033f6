/**
 * pnpm bench [--profile quick|full] [--scenario capacity|fanout|rollout|join|heap|all] [--targets ours,stock,ceiling]
 *            [--rollout rig|direct] [--repeat N] [--cpu-prof] [--ours-entry <other build>/server/dist/main.js]
 *
 * Runs each scenario against our server, the stock Socket.IO setup and the raw-ws ceiling in the
 * same invocation, prints tables with the ratios, and writes bench/results/<profile>/summary.json
 * and SVG charts (plus a timestamped copy under bench/results/raw/, which git ignores).
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { SERVER_ENTRY } from "@chat/testkit";
import { progress, progressDone } from "./common.js";
import { machineInfo, quietCheck } from "./env.js";
import type { Kind } from "./gen/messages.js";
import { WORKER_ENTRY } from "./gen/pool.js";
import { PROFILES } from "./profiles.js";
import { fanoutChart, rolloutChart } from "./report/charts.js";
import { profileTables } from "./report/cpu-profile.js";
import {
  capacityTable,
  fanoutBestTable,
  fanoutStepsTable,
  fanoutSummaryTable,
  goals,
  goalsTable,
  rolloutTable,
} from "./report/tables.js";
import { heapTable, joinTable, type Verdict, verdicts, verdictTable } from "./report/verdicts.js";
import { type CapacityRow, capacity } from "./scenarios/capacity.js";
import { type FanoutResult, fanout } from "./scenarios/fanout.js";
import { type HeapRow, heap } from "./scenarios/heap.js";
import { type JoinRow, joinStorm } from "./scenarios/join.js";
import { type RolloutResult, type RolloutVia, rollout } from "./scenarios/rollout.js";
import { profileServersInto, runOursFrom } from "./targets.js";

export const SCENARIOS = ["capacity", "fanout", "rollout", "join", "heap"] as const;
type Scenario = (typeof SCENARIOS)[number];

export interface BenchResult {
  profile: string;
  scenarios: Scenario[];
  command: string;
  startedAt: string;
  durationS: number;
  machine: ReturnType<typeof machineInfo>;
  quietBefore: ReturnType<typeof quietCheck>;
  capacity?: CapacityRow[];
  fanout?: FanoutResult[];
  rollout?: RolloutResult[];
  join?: JoinRow[];
  heap?: HeapRow[];
  goals?: ReturnType<typeof goals>;
  repeat: number;
  verdicts?: Verdict[];
  cpuProfiles?: string;
}

export interface RunOptions {
  profile: string;
  scenarios: Scenario[];
  targets?: Kind[];
  /** Directory for summary.json and charts; undefined = don't write. */
  outDir?: string;
  /**
   * How ours' pods are replaced in the rollout scenario: through the rig (HAProxy ingress +
   * rig.rollout(), the default) or the bench's direct sequence. Stock always uses the direct
   * sequence: the rig runs the manifests' server only.
   */
  rolloutVia?: RolloutVia;
  /** Run every target of every scenario this many times; verdicts use the median ratio. */
  repeat?: number;
  /** Start the servers with --cpu-prof into this directory and print their top self-time frames. */
  cpuProfDir?: string;
  print?: (text: string) => void;
}

export async function runBench(opts: RunOptions): Promise<BenchResult> {
  const base = PROFILES[opts.profile];
  if (!base) throw new Error(`unknown profile ${opts.profile}: ${Object.keys(PROFILES).join(", ")}`);
  const profile = structuredClone(base);
  if (opts.targets) profile.targets = opts.targets;
  if (!existsSync(SERVER_ENTRY)) throw new Error(`${SERVER_ENTRY} is missing: run 'pnpm build' at the repo root`);
  if (!existsSync(WORKER_ENTRY)) throw new Error(`${WORKER_ENTRY} is missing: run 'pnpm --filter @chat/bench build'`);
  const printed: string[] = [];
  const out = opts.print ?? ((t: string) => console.log(t));
  const print = (t: string) => {
    printed.push(t);
    out(t);
  };
  const started = Date.now();
  const result: BenchResult = {
    profile: profile.name,
    scenarios: opts.scenarios,
    command: `pnpm bench --profile ${profile.name} --scenario ${opts.scenarios.join(",")}${opts.targets ? ` --targets ${opts.targets.join(",")}` : ""}${opts.repeat && opts.repeat > 1 ? ` --repeat ${opts.repeat}` : ""}${opts.cpuProfDir ? " --cpu-prof" : ""}`,
    startedAt: new Date(started).toISOString(),
    durationS: 0,
    machine: machineInfo(profile.targets),
    quietBefore: quietCheck(),
    repeat: opts.repeat ?? 1,
  };
  const reps = Array.from({ length: result.repeat }, (_, i) => i);
  profileServersInto(opts.cpuProfDir);
  const has = (k: Kind) => profile.targets.includes(k);

  if (opts.scenarios.includes("capacity")) {
    result.capacity = [];
    for (const _ of reps) for (const kind of profile.targets) result.capacity.push(await capacity(kind, profile));
    progressDone();
    print(`\nCapacity: idle connections, ${profile.capacity.perPod}/pod × ${profile.capacity.pods} pods\n`);
    print(capacityTable(result.capacity));
  }
  if (opts.scenarios.includes("fanout")) {
    result.fanout = [];
    for (const _ of reps) for (const kind of profile.targets) result.fanout.push(await fanout(kind, profile));
    progressDone();
    print(
      `\nFan-out at the reference point: ${profile.fanout.subscribers} subscribers over ${profile.fanout.pods} pods, 20 msg/s into one room\n`,
    );
    print(fanoutSummaryTable(result.fanout));
    print(`\nFan-out: room join phase and best rate with p99 ≤ ${profile.fanout.maxP99Ms} ms\n`);
    print(fanoutBestTable(result.fanout));
    for (const r of result.fanout) print(`\nFan-out steps, ${r.target}\n\n${fanoutStepsTable(r)}`);
  }
  if (opts.scenarios.includes("rollout")) {
    result.rollout = [];
    for (const _ of reps)
      for (const kind of profile.targets.filter((k) => k !== "ceiling"))
        result.rollout.push(
          await rollout(kind, profile, kind === "ours" && opts.rolloutVia ? { via: opts.rolloutVia } : {}),
        );
    progressDone();
    print(
      `\nRollout: ${profile.rollout.clients} clients in ${profile.rollout.rooms} rooms, ${profile.rollout.rate} msg/s, every pod replaced\n`,
    );
    print(rolloutTable(result.rollout));
    for (const r of result.rollout)
      print(
        `${r.target}: ${r.method}; generators ${r.generators.map((g) => `${g.cores} cores (loop p99 ${g.loopDelayP99Ms} ms)`).join(", ")}${r.rigLogDir ? `; rig logs: ${r.rigLogDir}` : ""}`,
      );
  }
  if (opts.scenarios.includes("join")) {
    result.join = [];
    // The ceiling has no rooms to join.
    for (const members of profile.join.sizes)
      for (const _ of reps)
        for (const kind of profile.targets.filter((k) => k !== "ceiling"))
          result.join.push(await joinStorm(kind, profile, members));
    progressDone();
    print(
      `\nJoin storms: sockets over ${profile.join.pods} pods joining one room (${profile.join.concurrency} at a time per generator)\n`,
    );
    print(joinTable(result.join));
  }
  if (opts.scenarios.includes("heap")) {
    result.heap = [];
    for (const kind of profile.targets) result.heap.push(await heap(kind, profile));
    progressDone();
    for (const h of result.heap) {
      print(
        `\nHeap growth per idle connection, ${h.target}, ${h.connections} on one pod: ${h.bytesPerConn} B (self sizes, snapshot after minus before)\n`,
      );
      print(heapTable(h));
    }
  }
  result.goals = goals(result.capacity, result.fanout, result.rollout, 10_000);
  if (result.goals.length > 0) {
    print("\nTargets\n");
    print(goalsTable(result.goals));
  }
  result.verdicts = verdicts({ ...result, joinSize: profile.join.sizes[0] ?? 0 });
  if (result.verdicts.length > 0) {
    print(`\nTargets vs stock (${result.repeat} run${result.repeat > 1 ? "s" : ""} of each; verdict on the median)\n`);
    print(verdictTable(result.verdicts));
  }
  if (opts.cpuProfDir) {
    result.cpuProfiles = opts.cpuProfDir;
    progressDone();
    print(`\nCPU profiles (${opts.cpuProfDir}; open them in Chrome DevTools or speedscope)`);
    print(profileTables(opts.cpuProfDir));
  }
  if (has("ours") && result.fanout) {
    const join = result.fanout.find((r) => r.target === "ours")?.join;
    if (join)
      print(
        `\nours: joining ${profile.fanout.subscribers} sockets to one room took ${join.ms} ms, ${join.serverCpuS} server CPU-s, ${join.otherEvents} non-message events (presence) delivered`,
      );
  }
  result.durationS = Math.round((Date.now() - started) / 1000);
  if (opts.outDir) writeResults(result, opts.outDir, profile.fanout.maxP99Ms, printed.join("\n"), print);
  print(`\nDone in ${result.durationS} s.`);
  return result;
}

function writeResults(
  result: BenchResult,
  outDir: string,
  maxP99Ms: number,
  tables: string,
  print: (t: string) => void,
) {
  const dir = join(outDir, result.profile);
  const raw = join(outDir, "raw");
  mkdirSync(dir, { recursive: true });
  mkdirSync(raw, { recursive: true });
  const json = `${JSON.stringify(result, null, 1)}\n`;
  const name =
    result.scenarios.join(",") === "capacity,fanout,rollout,join" ? "summary" : `summary-${result.scenarios.join("-")}`;
  writeFileSync(join(dir, `${name}.json`), json);
  writeFileSync(join(raw, `${result.profile}-${result.startedAt.replace(/[:.]/g, "-")}.json`), json);
  const head = `# ${result.command}\n\n${result.startedAt}, ${result.durationS} s; ${result.machine.cpuModel} × ${result.machine.cores}, Node ${result.machine.node}; load before: ${result.quietBefore.uptime}\n`;
  writeFileSync(join(dir, `${name.replace("summary", "tables")}.md`), `${head}\n${tables}\n`);
  if (result.fanout?.length) writeFileSync(join(dir, "fanout-p99.svg"), fanoutChart(result.fanout, maxP99Ms));
  for (const r of result.rollout ?? []) writeFileSync(join(dir, `rollout-${r.target}.svg`), rolloutChart(r));
  print(`\nResults: ${join(dir, `${name}.json`)} (+ charts in ${dir})`);
}

async function main() {
  // `pnpm bench -- --scenario join` hands the CLI a literal "--", after which parseArgs reads
  // nothing as an option: the run would silently ignore every flag and measure everything.
  const args = process.argv.slice(2);
  if (args[0] === "--") args.shift();
  const { values, positionals } = parseArgs({
    args,
    options: {
      profile: { type: "string", default: "quick" },
      scenario: { type: "string", default: "all" },
      targets: { type: "string" },
      out: { type: "string" },
      rollout: { type: "string" },
      repeat: { type: "string", default: "1" },
      "cpu-prof": { type: "boolean", default: false },
      "ours-entry": { type: "string" },
    },
    allowPositionals: true,
  });
  if (positionals.length > 0)
    throw new Error(`unexpected arguments: ${positionals.join(" ")} (flags: see the top of bench/src/cli.ts)`);
  const scenarios: Scenario[] =
    values.scenario === "all"
      ? // "all" is the comparison; heap snapshots are their own, slower run.
        ["capacity", "fanout", "rollout", "join"]
      : (values.scenario.split(",") as Scenario[]);
  for (const s of scenarios) {
    if ((s as string) === "tuning")
      throw new Error("the tuning scenario is retired: docs/performance.md keeps its findings");
    if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s}: ${SCENARIOS}`);
  }
  const rolloutVia = values.rollout as RolloutVia | undefined;
  if (rolloutVia !== undefined && rolloutVia !== "rig" && rolloutVia !== "direct")
    throw new Error(`--rollout ${rolloutVia}: rig or direct`);
  const outDir = values.out ?? fileURLToPath(new URL("../results", import.meta.url));
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 10) throw new Error(`--repeat ${values.repeat}: 1 to 10`);
  const cpuProfDir = values["cpu-prof"]
    ? join(outDir, "raw", `cpu-${new Date().toISOString().replace(/[:.]/g, "-")}`)
    : undefined;
  // Not with --rollout rig: the rig starts server/dist itself.
  runOursFrom(values["ours-entry"]);
  const ctrl = new AbortController();
  process.once("SIGINT", () => {
    progress("interrupted: stopping (children are killed on exit)");
    ctrl.abort();
    process.exit(130);
  });
  await runBench({
    profile: values.profile,
    scenarios,
    targets: values.targets?.split(",") as Kind[] | undefined,
    outDir,
    ...(rolloutVia ? { rolloutVia } : {}),
    repeat,
    ...(cpuProfDir ? { cpuProfDir } : {}),
  });
  process.exit(0);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    progressDone();
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  });
}

/**
 * A few seconds of each scenario against every target, so the bench cannot rot. Not a
 * measurement: the smoke profile is tiny and runs on a busy machine.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runBench } from "./cli.js";

const quiet = () => {};

describe("bench smoke (profile smoke)", () => {
  it("capacity: every target takes its idle connections and reports memory", async () => {
    const r = await runBench({ profile: "smoke", scenarios: ["capacity"], print: quiet });
    expect(r.capacity?.map((c) => c.target)).toEqual(["ours", "stock", "ceiling"]);
    for (const c of r.capacity ?? []) {
      expect(c.failed, `${c.target}: ${c.errors.join("; ")}`).toBe(0);
      expect(c.connected).toBe(50);
      expect(c.rssMiB).toBeGreaterThan(0);
      // Every target's admin endpoint reports V8's spaces (ours through prom-client, the others /stats).
      expect(Object.keys(c.spacesKiBPerConn)).toEqual(expect.arrayContaining(["new", "old", "code", "large_object"]));
      expect(Number.isFinite(c.heapTotalKiBPerConn) && Number.isFinite(c.externalKiBPerConn)).toBe(true);
    }
  });

  it("fan-out: every subscriber gets every message, latency is measured", async () => {
    const r = await runBench({ profile: "smoke", scenarios: ["fanout"], print: quiet });
    for (const f of r.fanout ?? []) {
      const step = f.steps[0];
      expect(step, f.target).toBeDefined();
      expect(f.members).toBe(42);
      expect(step?.latency.count, f.target).toBeGreaterThan(0);
      expect(step?.deliveriesPerS, f.target).toBeGreaterThan(0.5 * (step?.expectedPerS ?? 0));
      // CPU comes in 10 ms ticks: a tiny window may see none.
      expect(step?.deliveriesPerServerCpuS, f.target).toBeGreaterThanOrEqual(0);
    }
  });

  it("rollout: ours hands over without loss through the rig's ingress; stock reconnects", async () => {
    const r = await runBench({ profile: "smoke", scenarios: ["rollout"], targets: ["ours", "stock"], print: quiet });
    const ours = r.rollout?.find((x) => x.target === "ours");
    const stock = r.rollout?.find((x) => x.target === "stock");
    expect(ours?.via).toBe("rig");
    expect(ours?.clients).toBe(40); // every user started on the shipped client core
    expect(ours?.events.some((e) => e.what.startsWith("sigterm"))).toBe(true);
    expect(stock?.via).toBe("direct");
    expect(ours?.sent).toBeGreaterThan(0);
    expect(ours?.lost, JSON.stringify(ours?.errorsSample)).toBe(0);
    expect(ours?.duplicated).toBe(0);
    expect(ours?.handovers).toBeGreaterThan(0);
    expect(stock?.reconnects).toBeGreaterThan(0);
    expect(ours?.delayBySecond.length).toBeGreaterThan(0);
  });

  it("join, repeated and profiled: every socket joins, ours announces presence, verdicts pair the runs", async () => {
    const out: string[] = [];
    const dir = mkdtempSync(join(tmpdir(), "bench-prof-"));
    const r = await runBench({
      profile: "smoke",
      scenarios: ["join"],
      targets: ["ours", "stock"],
      repeat: 2,
      cpuProfDir: dir,
      print: (t) => out.push(t),
    });
    expect(r.join?.map((j) => j.target)).toEqual(["ours", "stock", "ours", "stock"]);
    for (const j of r.join ?? []) expect(j.joined, `${j.target}: ${j.errors.join("; ")}`).toBe(40);
    // Deltas reached the members (the sockets declare protocol 2); stock has no presence.
    expect(r.join?.filter((j) => j.target === "ours").every((j) => j.presenceEvents > 0)).toBe(true);
    expect(r.join?.filter((j) => j.target === "stock").every((j) => j.presenceEvents === 0)).toBe(true);
    expect(r.verdicts?.find((v) => v.goal.startsWith("join"))?.values).toHaveLength(2);
    // Two runs × (2 ours + 2 stock pods) wrote a profile each, and their frames were printed.
    expect(out.join("\n").match(/\.cpuprofile, whole life: \d+ ms/g)).toHaveLength(8);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("bench command line", () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ["--import", "tsx", "src/cli.ts", ...args], { encoding: "utf8", timeout: 30_000 });

  it("takes its flags after a `--` (pnpm bench -- --scenario x) instead of ignoring them", () => {
    // Were the flags ignored, this would start measuring everything instead of refusing.
    const r = cli("--", "--scenario", "nope");
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("unknown scenario nope");
  });

  it("refuses stray arguments", () => {
    const r = cli("join");
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("unexpected arguments: join");
  });
});

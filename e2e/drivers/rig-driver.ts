import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FAST, mergeOverrides, type Rig, type RigOverrides, startRig } from "@chat/rig";
import type { ClusterDriver, ClusterPod } from "./driver.js";

/** Rig-only knobs (a kind cluster runs its manifests as deployed). */
export interface RigDriverOptions {
  /** Extra overrides on top of FAST. */
  overrides?: RigOverrides;
  logDir?: string;
}

/**
 * The cluster specs' default target: the local rig with the FAST overrides (short drain window,
 * grace period and preStop delay, probes ten times as often), listed in the timeline.
 */
export class RigDriver implements ClusterDriver {
  readonly target = "rig";

  private constructor(readonly rig: Rig) {}

  static async start(opts: RigDriverOptions = {}): Promise<RigDriver> {
    return new RigDriver(await startRig({ overrides: mergeOverrides(FAST, opts.overrides), logDir: opts.logDir }));
  }

  get baseUrl() {
    return this.rig.url;
  }

  get defaultReplicas() {
    return this.rig.model.replicas;
  }

  get log() {
    return this.rig.log;
  }

  async pods(): Promise<ClusterPod[]> {
    return this.rig.pods().map((p) => ({
      name: p.name,
      ready: p.ready,
      terminating: p.phase === "terminating",
      ...(p.connections === undefined ? {} : { connections: p.connections }),
    }));
  }

  rollout() {
    return this.rig.rollout();
  }

  kill(pod: string) {
    return this.rig.kill(pod);
  }

  scale(replicas: number) {
    return this.rig.scale(replicas);
  }

  restartRedis() {
    return this.rig.restartRedis();
  }

  async reset() {
    if (this.rig.pods().length !== this.defaultReplicas) await this.rig.scale(this.defaultReplicas);
  }

  async collectArtifacts(dir: string): Promise<string[]> {
    mkdirSync(dir, { recursive: true });
    const files: string[] = [];
    const timeline = join(dir, "timeline.json");
    writeFileSync(timeline, JSON.stringify(this.rig.log, null, 1));
    files.push(timeline);
    for (const f of readdirSync(this.rig.logDir)) {
      const from = join(this.rig.logDir, f);
      if (!existsSync(from)) continue;
      copyFileSync(from, join(dir, f));
      files.push(join(dir, f));
    }
    return files;
  }

  stop() {
    return this.rig.stop();
  }
}

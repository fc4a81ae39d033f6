/**
 * The cluster specs against a real kind cluster (E2E_TARGET=kind): the chat deployed from
 * k8s/overlays/kind behind its ingress on http://localhost, every operation a kubectl command.
 *
 * This machine has no container engine, so this driver has never run here; kind-driver.test.ts
 * checks the commands it builds and how it reads kubectl's answers.
 */
import { execFile, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { ClusterLog, type DeploymentModel, loadDeployment } from "@chat/rig";
import { delay } from "@chat/testkit";
import type { ClusterDriver, ClusterPod } from "./driver.js";

/** Runs `kubectl <args>` and returns its stdout; rejects with kubectl's stderr. */
export type Kubectl = (args: string[]) => Promise<string>;

/** Runs `<binary> <args>` and returns its stdout; rejects with the tool's stderr. */
const execTool =
  (binary: string) =>
  async (args: string[]): Promise<string> => {
    try {
      const { stdout } = await promisify(execFile)(binary, args, { maxBuffer: 32 << 20 });
      return stdout;
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`${binary} ${args.join(" ")} failed: ${e.stderr?.trim() || e.message}`);
    }
  };

export const execKubectl: Kubectl = execTool("kubectl");

/** Runs `docker <args>` (kind's nodes are containers) and returns its stdout. */
export type Docker = (args: string[]) => Promise<string>;

export const execDocker: Docker = execTool("docker");

/** A long-running `kubectl <args>` (logs -f) whose output so far can be read at any time. */
export interface Follower {
  output(): string;
  stop(): void;
}
export type Follow = (args: string[]) => Follower;

export const spawnFollow: Follow = (args) => {
  let text = "";
  const child = spawn("kubectl", args, { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.on("data", (d: Buffer) => {
    text += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    text += d.toString();
  });
  child.on("error", (err) => {
    text += `\n(kubectl ${args.join(" ")}: ${err.message})\n`;
  });
  return { output: () => text, stop: () => child.kill() };
};

export interface KindOptions {
  kubectl?: Kubectl;
  /** Runs commands on the kind nodes (default: the docker CLI). */
  docker?: Docker;
  /** Streams a pod's logs while it lives (default: spawned `kubectl logs -f`). */
  follow?: Follow;
  /** The ingress (default http://localhost, where k8s/kind/cluster.yaml publishes port 80). */
  baseUrl?: string;
  /** kubectl context (default: kind-chat, the cluster k8s/kind/cluster.yaml creates). */
  context?: string;
  /** How often to look at the pods while waiting (default 1 s). */
  pollMs?: number;
  /** Bound on each operation (default 300 s). */
  timeoutMs?: number;
}

type Model = Pick<DeploymentModel, "name" | "namespace" | "selector" | "replicas" | "graceMs">;

interface PodJson {
  metadata: { name: string; deletionTimestamp?: string };
  spec?: { nodeName?: string };
  status?: {
    phase?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { name: string; containerID?: string; restartCount?: number }[];
  };
}

/** The node a pod runs on and its chat container (id without the runtime prefix). Pure; unit-tested. */
export function parseContainer(json: string, container = "chat") {
  const pod = JSON.parse(json) as PodJson;
  const status = pod.status?.containerStatuses?.find((c) => c.name === container);
  const id = status?.containerID?.replace(/^[a-z]+:\/\//, "");
  if (!pod.spec?.nodeName || !id) {
    throw new Error(`pod ${pod.metadata.name}: no node or no running ${container} container to kill`);
  }
  return { node: pod.spec.nodeName, id, restarts: status?.restartCount ?? 0 };
}

/** Pods as kubectl reports them. Pure; unit-tested. */
export function parsePods(json: string): ClusterPod[] {
  const list = JSON.parse(json) as { items: PodJson[] };
  return list.items
    .filter((p) => p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed")
    .map((p) => ({
      name: p.metadata.name,
      ready: p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
      terminating: p.metadata.deletionTimestamp !== undefined,
    }));
}

/** Cluster events for what changed between two looks at the pods. Pure; unit-tested. */
export function diffPods(before: ClusterPod[], after: ClusterPod[], log: ClusterLog) {
  const old = new Map(before.map((p) => [p.name, p]));
  for (const p of after) {
    const was = old.get(p.name);
    if (!was) log.add("pod-created", { pod: p.name });
    if (p.ready && !was?.ready) log.add("pod-ready", { pod: p.name });
    if (!p.ready && was?.ready) log.add("pod-unready", { pod: p.name });
    if (p.terminating && !was?.terminating) log.add("pod-terminating", { pod: p.name });
    old.delete(p.name);
  }
  for (const gone of old.keys()) log.add("pod-exited", { pod: gone });
}

export class KindDriver implements ClusterDriver {
  readonly target = "kind";
  readonly log = new ClusterLog();
  readonly baseUrl: string;
  private readonly kubectl: Kubectl;
  private readonly docker: Docker;
  private readonly follow: Follow;
  /** Every chat pod's log since it was first seen ready, kept after the pod is gone. */
  private readonly logs = new Map<string, Follower>();
  private readonly pollMs: number;
  private readonly timeoutMs: number;
  private readonly context: string;
  private seen: ClusterPod[] = [];
  private hpa: { minReplicas: number; maxReplicas: number } | undefined;

  constructor(
    private readonly model: Model,
    opts: KindOptions = {},
  ) {
    this.kubectl = opts.kubectl ?? execKubectl;
    this.docker = opts.docker ?? execDocker;
    this.follow = opts.follow ?? spawnFollow;
    this.baseUrl = opts.baseUrl ?? process.env.E2E_BASE_URL ?? "http://localhost";
    this.context = opts.context ?? process.env.E2E_KUBE_CONTEXT ?? "kind-chat";
    this.pollMs = opts.pollMs ?? 1000;
    this.timeoutMs = opts.timeoutMs ?? 300_000;
  }

  /** Read the overlay's Deployment (namespace, name, selector, replicas) and check the cluster has it. */
  static async connect(opts: KindOptions = {}): Promise<KindDriver> {
    const driver = new KindDriver(await loadDeployment("k8s/overlays/kind"), opts);
    try {
      await driver.run("get", `deployment/${driver.model.name}`, "-o", "name");
    } catch (err) {
      throw new Error(
        `E2E_TARGET=kind needs a kind cluster running the chat (docs/rig.md, "Against kind"): ${(err as Error).message}`,
      );
    }
    driver.seen = await driver.pods();
    return driver;
  }

  get defaultReplicas() {
    return this.model.replicas;
  }

  private get deployment() {
    return `deployment/${this.model.name}`;
  }

  private get selector() {
    return Object.entries(this.model.selector)
      .map(([k, v]) => `${k}=${v}`)
      .join(",");
  }

  /** Every command names its context and namespace: never whatever kubectl happens to point at. */
  run(...args: string[]): Promise<string> {
    return this.kubectl(this.scoped(args));
  }

  private scoped(args: string[]) {
    return ["--context", this.context, "--namespace", this.model.namespace ?? "default", ...args];
  }

  /**
   * Streams the log of each pod from when it is first seen ready: a pod that is deleted later
   * (rollout, scale down) takes its log out of the API with it, and the artifacts need it.
   */
  private followLogs(pods: ClusterPod[]) {
    for (const p of pods) {
      if (!p.ready || this.logs.has(p.name)) continue;
      this.logs.set(p.name, this.follow(this.scoped(["logs", "-f", "--timestamps", "-c", "chat", p.name])));
    }
  }

  async pods(): Promise<ClusterPod[]> {
    const pods = parsePods(await this.run("get", "pods", "-l", this.selector, "-o", "json"));
    this.followLogs(pods);
    return pods;
  }

  /** Poll the pods (recording changes in the cluster log) until `done` holds, within the operation bound. */
  private async waitPods(what: string, done: (pods: ClusterPod[]) => boolean) {
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const pods = await this.pods();
      diffPods(this.seen, pods, this.log);
      this.seen = pods;
      if (done(pods)) return;
      if (Date.now() > deadline) {
        throw new Error(`timed out after ${this.timeoutMs} ms waiting for ${what}: ${JSON.stringify(pods)}`);
      }
      await delay(this.pollMs);
    }
  }

  private settled(replicas: number) {
    return (pods: ClusterPod[]) => pods.length === replicas && pods.every((p) => p.ready && !p.terminating);
  }

  private async operation(op: string, detail: Record<string, unknown>, run: () => Promise<void>) {
    const started = this.log.add("operation-started", { detail: { op, ...detail } });
    try {
      await run();
    } catch (err) {
      this.log.add("operation-finished", { detail: { op, error: (err as Error).message } });
      throw err;
    }
    this.log.add("operation-finished", { detail: { op, ms: Date.now() - started.t } });
  }

  rollout() {
    return this.operation("rollout", {}, async () => {
      const replicas = (await this.pods()).filter((p) => !p.terminating).length;
      await this.run("rollout", "restart", this.deployment);
      await this.run("rollout", "status", this.deployment, `--timeout=${Math.round(this.timeoutMs / 1000)}s`);
      // rollout status returns once the new pods are available; old ones may still be draining.
      await this.waitPods("the old pods to exit", this.settled(replicas));
    });
  }

  /**
   * A crash: the chat container is killed on its node by the container runtime (SIGKILL, no
   * preStop, no SIGTERM, no drain), then the kubelet restarts it in the same pod. Not
   * `kubectl delete pod --grace-period=0 --force`: that removes only the API object, and the
   * kubelet still stops the container gracefully (preStop, SIGTERM), which is a drain.
   */
  kill(pod: string) {
    return this.operation("kill", { pod }, async () => {
      const replicas = (await this.pods()).filter((p) => !p.terminating).length;
      const { node, id, restarts } = parseContainer(await this.run("get", "pod", pod, "-o", "json"));
      // kind names each node's container after the node.
      await this.docker(["exec", node, "crictl", "stop", "--timeout", "0", id]);
      this.log.add("killed", { pod, detail: { node, container: id } });
      await this.waitFor(`${pod}'s chat container to restart`, async () => {
        return parseContainer(await this.run("get", "pod", pod, "-o", "json")).restarts > restarts;
      });
      await this.waitPods(`${pod} ready again after its restart`, this.settled(replicas));
    });
  }

  private async waitFor(what: string, done: () => Promise<boolean>) {
    const deadline = Date.now() + this.timeoutMs;
    while (!(await done().catch(() => false))) {
      if (Date.now() > deadline) throw new Error(`timed out after ${this.timeoutMs} ms waiting for ${what}`);
      await delay(this.pollMs);
    }
  }

  scale(replicas: number) {
    return this.operation("scale", { replicas }, async () => {
      // The HPA (minReplicas 3) would undo a scale below its minimum: pin it for the test, reset() restores it.
      await this.pinAutoscaler(replicas);
      await this.run("scale", this.deployment, `--replicas=${replicas}`);
      await this.waitPods(`${replicas} ready pods and none terminating`, this.settled(replicas));
    });
  }

  restartRedis() {
    return this.operation("redis-restart", {}, async () => {
      const replicas = (await this.pods()).filter((p) => !p.terminating).length;
      await this.run("rollout", "restart", "statefulset/redis");
      this.log.add("redis-stopped");
      await this.run("rollout", "status", "statefulset/redis", `--timeout=${Math.round(this.timeoutMs / 1000)}s`);
      this.log.add("redis-started");
      await this.waitPods("every chat pod ready again", this.settled(replicas));
    });
  }

  async reset() {
    if ((await this.pods()).length !== this.model.replicas) await this.scale(this.model.replicas);
    if (this.hpa) {
      await this.run("patch", `hpa/${this.model.name}`, "--type=merge", "-p", JSON.stringify({ spec: this.hpa }));
      this.hpa = undefined;
    }
  }

  private async pinAutoscaler(replicas: number) {
    let hpa: { spec: { minReplicas?: number; maxReplicas: number } };
    try {
      hpa = JSON.parse(await this.run("get", `hpa/${this.model.name}`, "-o", "json"));
    } catch {
      return; // no autoscaler in this overlay
    }
    this.hpa ??= { minReplicas: hpa.spec.minReplicas ?? 1, maxReplicas: hpa.spec.maxReplicas };
    const spec = { minReplicas: replicas, maxReplicas: Math.max(replicas, 1) };
    await this.run("patch", `hpa/${this.model.name}`, "--type=merge", "-p", JSON.stringify({ spec }));
  }

  async collectArtifacts(dir: string): Promise<string[]> {
    mkdirSync(dir, { recursive: true });
    const files: string[] = [];
    const save = async (name: string, args: string[]) => {
      let text: string;
      try {
        text = await this.run(...args);
      } catch (err) {
        text = String(err);
      }
      writeFileSync(join(dir, name), text);
      files.push(join(dir, name));
    };
    writeFileSync(join(dir, "timeline.json"), JSON.stringify(this.log, null, 1));
    files.push(join(dir, "timeline.json"));
    await save("pods.txt", ["get", "pods", "-o", "wide"]);
    await save("events.txt", ["get", "events", "--sort-by=.lastTimestamp"]);
    // Per pod: what was streamed while it lived (also for pods deleted since), then, for pods
    // still here, the log of the container before its last restart (a kill, a crash).
    mkdirSync(join(dir, "logs"), { recursive: true });
    for (const [name, follower] of this.logs) {
      const file = join(dir, "logs", `${name}.log`);
      writeFileSync(file, follower.output());
      files.push(file);
    }
    for (const p of await this.pods().catch(() => [] as ClusterPod[])) {
      if (!this.logs.has(p.name))
        await save(join("logs", `${p.name}.log`), ["logs", "--timestamps", "-c", "chat", p.name]);
      await save(join("logs", `${p.name}.previous.log`), ["logs", "--previous", "--timestamps", "-c", "chat", p.name]);
    }
    return files;
  }

  async stop() {
    for (const follower of this.logs.values()) follower.stop();
  }
}

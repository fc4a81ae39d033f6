/**
 * One pod as the kubelet runs it: the container's command from the deploy artifact (the image's
 * /app), as the image's non-root user when the rig can switch users, with the Deployment's environment,
 * the startup / readiness / liveness probes at their periods and thresholds, and the termination
 * sequence of a deleted pod: preStop httpGet, then SIGTERM, then SIGKILL once the grace period
 * (counted from the start of termination) is over.
 */
import { chownSync, createWriteStream, mkdirSync } from "node:fs";
import { join } from "node:path";
import { freePort, type Managed, spawnManaged } from "@chat/testkit";
import { containerArgv, IMAGE_ENV, IMAGE_USER, mapWorkingDir } from "./artifact.js";
import type { ClusterLog } from "./cluster-log.js";
import type { DeploymentModel, PodPort, ProbeModel } from "./manifest.js";
import { track } from "./reaper.js";

export type PodPhase = "starting" | "running" | "terminating" | "exited";

/** What a pod's container runs: the command, its arguments, environment, directory and user. */
export interface PodProcess {
  command: string;
  args: string[];
  env: Record<string, string>;
  /** The working directory: the container's workingDir mapped into the artifact. */
  cwd: string;
  /** The user and group the process runs as (the image's 10001:10001 when the rig is root). */
  uid: number;
  gid: number;
}

/**
 * The user a pod runs as: the manifest's runAsUser/runAsGroup (else the image's USER) when the
 * rig is root and can switch to it; otherwise the rig's own user, which the rig reports.
 */
export function podUser(model: Pick<DeploymentModel, "runAsUser" | "runAsGroup">) {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  if (uid !== 0) return { uid, gid, switched: false };
  return { uid: model.runAsUser ?? IMAGE_USER.uid, gid: model.runAsGroup ?? IMAGE_USER.gid, switched: true };
}

export interface PodContext {
  model: DeploymentModel;
  /** The rig's redis-server, in place of the manifest's in-cluster address. */
  redisUrl: string;
  /** The deploy artifact's root, standing in for the image's /app (see artifact.ts). */
  artifact: string;
  logDir: string;
  log: ClusterLog;
  /** Called on every state change the controllers care about. */
  onChange: (pod: RigPod) => void;
  /** Called when the process ends without the pod being deleted (a crash). */
  onCrash?: (pod: RigPod) => void;
  /** Profile each pod's Node with `--cpu-prof` into `<dir>/<pod name>/` (see RigOptions). */
  cpuProfileDir?: string;
}

export class RigPod {
  readonly createdAt = Date.now();
  phase: PodPhase = "starting";
  /** The startup probe has passed (or there is none). */
  started = false;
  ready = false;
  readySince: number | undefined;
  /** Set once the pod is being deleted (gracefully or by force). */
  deleting = false;
  exitCode: number | string | undefined;
  /** Open connections as the pod reported them in its last readiness answer. */
  connections: number | undefined;
  publicPort = 0;
  adminPort = 0;
  /** Set once the process is spawned. */
  pid: number | undefined;
  process: PodProcess | undefined;
  /** Resolves with the exit code (or signal) once the process is gone. */
  readonly exited: Promise<number | string>;
  private resolveExited!: (code: number | string) => void;
  private proc: Managed | undefined;
  private termination: Promise<void> | undefined;

  constructor(
    readonly name: string,
    readonly revision: string,
    private readonly ctx: PodContext,
  ) {
    this.exited = new Promise((resolve) => {
      this.resolveExited = resolve;
    });
    ctx.log.add("pod-created", { pod: name, detail: { revision } });
  }

  get url() {
    return `http://127.0.0.1:${this.publicPort}`;
  }

  get adminUrl() {
    return `http://127.0.0.1:${this.adminPort}`;
  }

  /** The process is gone (a method, so checks after an await are not narrowed away). */
  gone(): boolean {
    return this.phase === "exited";
  }

  /** Ready for at least minReadySeconds: what the Deployment controller counts as available. */
  available(now = Date.now()) {
    return (
      this.ready &&
      !this.deleting &&
      this.readySince !== undefined &&
      now - this.readySince >= this.ctx.model.minReadyMs
    );
  }

  output() {
    return this.proc?.output() ?? "";
  }

  async start(): Promise<void> {
    const { model, redisUrl, logDir, log, artifact } = this.ctx;
    this.publicPort = await freePort();
    this.adminPort = await freePort();
    if (this.deleting) return; // deleted before it got to run
    const fieldValues: Record<string, string> = {
      "metadata.name": this.name,
      "metadata.namespace": model.namespace ?? "",
    };
    const fromFields = Object.fromEntries(
      Object.entries(model.fieldEnv).map(([k, path]) => [k, fieldValues[path] ?? ""]),
    );
    const [command = "", ...containerArgs] = containerArgv(model.command, model.args);
    const user = podUser(model);
    // Node refuses --cpu-prof in NODE_OPTIONS, so the flag goes on the command line.
    const profileDir =
      this.ctx.cpuProfileDir && command === "node" ? join(this.ctx.cpuProfileDir, this.name) : undefined;
    if (profileDir) {
      mkdirSync(profileDir, { recursive: true });
      if (user.switched) chownSync(profileDir, user.uid, user.gid);
    }
    const args = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`, ...containerArgs] : containerArgs;
    const spec: PodProcess = {
      // `node` is the image's Node on its PATH; the rig's own Node stands in for it.
      command: command === "node" ? process.execPath : command,
      args,
      cwd: mapWorkingDir(artifact, model.workingDir),
      uid: user.uid,
      gid: user.gid,
      env: {
        PATH: process.env.PATH ?? "",
        ...IMAGE_ENV,
        ...model.env,
        ...fromFields,
        // Local stand-ins for the cluster's network (reported by the rig as such).
        REDIS_URL: redisUrl,
        HOST: "127.0.0.1",
        PORT: String(this.publicPort),
        ADMIN_PORT: String(this.adminPort),
      },
    };
    // Own process group: a Ctrl-C in the terminal reaches the rig, which terminates pods in order.
    const proc = spawnManaged(spec.command, spec.args, {
      detached: true,
      env: spec.env,
      cwd: spec.cwd,
      ...(user.switched ? { uid: spec.uid, gid: spec.gid } : {}),
    });
    this.proc = proc;
    this.process = spec;
    this.pid = proc.child.pid;
    track(proc, `pod ${this.name}`, spec.args.join(" "));
    const logFile = createWriteStream(join(logDir, `${this.name}.log`));
    // Two streams into one file: neither may end it; the process's exit does.
    proc.child.stdout?.pipe(logFile, { end: false });
    proc.child.stderr?.pipe(logFile, { end: false });
    proc.child.once("close", () => logFile.end());
    this.phase = "running";
    log.add("pod-started", {
      pod: this.name,
      detail: { pid: proc.child.pid, port: this.publicPort, adminPort: this.adminPort, uid: spec.uid },
    });
    void proc.exited.then((code) => {
      this.phase = "exited";
      this.exitCode = code;
      this.ready = false;
      log.add("pod-exited", {
        pod: this.name,
        detail: { code, expected: this.deleting, ...(this.deleting ? {} : { output: proc.output().slice(-2000) }) },
      });
      this.resolveExited(code);
      if (!this.deleting) this.ctx.onCrash?.(this);
      this.ctx.onChange(this);
    });
    this.ctx.onChange(this);
    void this.runProbes();
  }

  /**
   * Graceful deletion, as the kubelet does it: the pod leaves the endpoints (the endpoints
   * controller reacts to `deleting`), the preStop hook runs, SIGTERM follows, and SIGKILL comes
   * when the grace period, counted from now, is over. Idempotent.
   */
  terminate(reason: string): Promise<void> {
    this.termination ??= this.runTermination(reason);
    return this.termination;
  }

  /** `kubectl delete pod --grace-period=0 --force`, or a crash: SIGKILL now. */
  kill(reason: string) {
    this.deleting = true;
    if (this.phase !== "exited") {
      this.ctx.log.add("killed", { pod: this.name, detail: { reason, signal: "SIGKILL" } });
      this.proc?.child.kill("SIGKILL");
    }
    if (!this.proc) this.markNeverStarted();
    this.ctx.onChange(this);
  }

  private async runTermination(reason: string) {
    const { model, log } = this.ctx;
    const t0 = Date.now();
    const deadline = t0 + model.graceMs;
    this.deleting = true;
    if (this.phase !== "exited") this.phase = "terminating";
    log.add("pod-terminating", { pod: this.name, detail: { reason, gracePeriodMs: model.graceMs } });
    this.ctx.onChange(this);
    if (!this.proc) return this.markNeverStarted();

    const killer = setTimeout(
      () => {
        if (this.phase === "exited") return;
        log.add("killed", { pod: this.name, detail: { reason: "grace period over", signal: "SIGKILL" } });
        this.proc?.child.kill("SIGKILL");
      },
      Math.max(0, deadline - Date.now()),
    );
    if (model.preStop && this.phase !== "exited") {
      const url = `${this.portUrl(model.preStop.port)}${model.preStop.path}`;
      log.add("prestop", { pod: this.name, detail: { url: model.preStop.path } });
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())) });
        await res.text();
        log.add("prestop-done", { pod: this.name, detail: { status: res.status, ms: Date.now() - t0 } });
      } catch (err) {
        log.add("prestop-done", {
          pod: this.name,
          detail: { error: (err as Error).message, ms: Date.now() - t0 },
        });
      }
    }
    if (this.phase !== "exited") {
      log.add("sigterm", { pod: this.name });
      this.proc.child.kill("SIGTERM");
    }
    await this.exited;
    clearTimeout(killer);
  }

  private markNeverStarted() {
    if (this.phase === "exited") return;
    this.phase = "exited";
    this.exitCode = "never started";
    this.ctx.log.add("pod-exited", { pod: this.name, detail: { code: "never started", expected: true } });
    this.resolveExited("never started");
    this.ctx.onChange(this);
  }

  private portUrl(port: PodPort) {
    return port === "admin" ? this.adminUrl : this.url;
  }

  /** Sleep that ends early when the pod exits, so probe loops never outlive it. */
  private async pause(ms: number) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise((r) => (timer = setTimeout(r, ms))), this.exited]);
    clearTimeout(timer);
  }

  /** One probe: success is a 2xx/3xx within the timeout. The body's `connections` is kept. */
  private async probe(p: ProbeModel): Promise<{ ok: boolean; status: number | string }> {
    try {
      const res = await fetch(`${this.portUrl(p.port)}${p.path}`, { signal: AbortSignal.timeout(p.timeoutMs) });
      const text = await res.text();
      try {
        const body = JSON.parse(text) as { connections?: unknown };
        if (typeof body.connections === "number") this.connections = body.connections;
      } catch {}
      return { ok: res.status >= 200 && res.status < 400, status: res.status };
    } catch (err) {
      return { ok: false, status: (err as Error).name === "TimeoutError" ? "timeout" : "refused" };
    }
  }

  private async runProbes() {
    const { startupProbe, readinessProbe, livenessProbe } = this.ctx.model;
    if (startupProbe) {
      await this.pause(startupProbe.initialDelayMs);
      for (let failures = 0; !this.gone(); ) {
        const r = await this.probe(startupProbe);
        if (r.ok) break;
        if (++failures >= startupProbe.failureThreshold) {
          this.ctx.log.add("probe-failed", {
            pod: this.name,
            detail: { probe: "startup", status: r.status, failures },
          });
          this.kill("startup probe failed");
          return;
        }
        await this.pause(startupProbe.periodMs);
      }
    }
    if (this.phase === "exited") return;
    this.started = true;
    if (readinessProbe) void this.readinessLoop(readinessProbe);
    else this.setReady(true, "no readiness probe");
    if (livenessProbe) void this.livenessLoop(livenessProbe);
  }

  private async readinessLoop(p: ProbeModel) {
    await this.pause(p.initialDelayMs);
    let successes = 0;
    let failures = 0;
    while (!this.gone()) {
      const r = await this.probe(p);
      if (this.gone()) return;
      if (r.ok) {
        failures = 0;
        if (++successes >= p.successThreshold && !this.ready) this.setReady(true, r.status);
      } else {
        successes = 0;
        if (++failures >= p.failureThreshold && this.ready) this.setReady(false, r.status);
      }
      await this.pause(p.periodMs);
    }
  }

  private async livenessLoop(p: ProbeModel) {
    await this.pause(p.initialDelayMs);
    let failures = 0;
    while (!this.gone()) {
      const r = await this.probe(p);
      if (r.ok) failures = 0;
      else if (++failures >= p.failureThreshold && this.phase === "running") {
        this.ctx.log.add("probe-failed", {
          pod: this.name,
          detail: { probe: "liveness", status: r.status, failures },
        });
        // The kubelet would restart the container in place; the rig replaces the pod instead.
        void this.terminate("liveness probe failed");
        return;
      }
      await this.pause(p.periodMs);
    }
  }

  private setReady(ready: boolean, status: number | string) {
    this.ready = ready;
    this.readySince = ready ? Date.now() : undefined;
    this.ctx.log.add(ready ? "pod-ready" : "pod-unready", { pod: this.name, detail: { probe: status } });
    this.ctx.onChange(this);
    // The Deployment controller re-checks availability once minReadySeconds have passed.
    if (ready && this.ctx.model.minReadyMs > 0) {
      setTimeout(() => {
        if (this.available()) {
          this.ctx.log.add("pod-available", { pod: this.name });
          this.ctx.onChange(this);
        }
      }, this.ctx.model.minReadyMs + 5).unref();
    } else if (ready) {
      this.ctx.log.add("pod-available", { pod: this.name });
    }
  }
}

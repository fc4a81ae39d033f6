/**
 * The local cluster rig: a real redis-server, N chat pods run like the kubelet runs them, and
 * HAProxy as the sticky ingress, all on loopback, all configured from the manifests.
 *
 *   const rig = await startRig({ overrides: FAST });
 *   await rig.rollout();          // kubectl rollout restart + rollout status
 *   await rig.kill(pod);          // kubectl delete pod --grace-period=0 --force
 *   await rig.scale(1);           // kubectl scale
 *   await rig.restartRedis();     // kubectl rollout restart statefulset/redis
 *   rig.log.events                // what happened, when (the cluster log)
 *   rig.redisUrl, rig.pods()      // Redis, and each pod's pid, ports and process (command, args, env, cwd, uid)
 *   rig.artifact                  // the deploy artifact the pods run (the image's /app)
 *   await rig.stop();
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { delay, type RedisHandle, startRedis } from "@chat/testkit";
import { type Artifact, ensureArtifact, IMAGE_USER } from "./artifact.js";
import { ClusterLog } from "./cluster-log.js";
import { DeploymentController, Endpoints } from "./controllers.js";
import { type HaproxyHandle, startHaproxy } from "./haproxy.js";
import { DEFAULT_OVERLAY, type DeploymentModel, loadDeployment, REPO_ROOT } from "./manifest.js";
import { type AppliedOverride, applyOverrides, type RigOverrides } from "./overrides.js";
import { type PodProcess, podUser, RigPod } from "./pod.js";
import { findPids, reapOrphans, trackDir, trackPid, untrackPid } from "./reaper.js";

/** Where each run's pod, HAProxy and Redis logs and its cluster log go (`rig/artifacts/<run>`). */
export const RIG_LOGS_DIR = join(REPO_ROOT, "rig/artifacts");
const KEEP_RIG_LOGS = 8;

export interface RigOptions {
  /** Kustomize overlay to render (default k8s/overlays/kind). */
  overlay?: string;
  /** Test-time departures from the manifests; each is reported in the cluster log. */
  overrides?: RigOverrides;
  /** HAProxy's port on 127.0.0.1 (default: a free one). */
  port?: number;
  /** HAProxy server slots, i.e. the most pods that can exist at once (default 32). */
  slots?: number;
  /** Where pod, HAProxy and Redis logs and the cluster log (timeline.json) go (default rig/artifacts/<run>). */
  logDir?: string;
  /** Bound on each operation (rollout, scale, ...), like progressDeadlineSeconds (default 120 s). */
  operationTimeoutMs?: number;
  /** Run pods from this artifact root instead of building the workspace's (tests of broken artifacts). */
  artifactRoot?: string;
  /**
   * Run every pod under V8's CPU profiler (`node --cpu-prof`), writing `<dir>/<pod name>/*.cpuprofile`
   * when the pod exits; `stop()` then terminates pods gracefully (preStop, SIGTERM) instead of
   * SIGKILL, so that the last pods write theirs too. Reported as an `override` of kind `local`.
   */
  cpuProfileDir?: string;
}

export interface PodStatus {
  name: string;
  revision: string;
  phase: RigPod["phase"];
  ready: boolean;
  /** In the ingress's rotation (HAProxy slot `ready`). */
  routed: boolean;
  slot: string | undefined;
  connections: number | undefined;
  createdAt: number;
  url: string;
  adminUrl: string;
  /** The pod's two listeners on 127.0.0.1 (0 until it has started). */
  port: number;
  adminPort: number;
  /** The process id, once started (a pod deleted before it ran has none). */
  pid: number | undefined;
  /** What the pod runs: command, arguments and environment (undefined until started). */
  process: PodProcess | undefined;
}

export interface Rig {
  readonly url: string;
  /** Everything that happened to the cluster, in order; tests add their clients' events. */
  readonly log: ClusterLog;
  /** The rig's redis-server (what every pod's REDIS_URL says). */
  readonly redisUrl: string;
  readonly model: DeploymentModel;
  readonly overrides: AppliedOverride[];
  readonly logDir: string;
  readonly haproxy: HaproxyHandle;
  /** The deploy artifact every pod runs from (stands in for the image's /app). */
  readonly artifact: Artifact;
  /** Pods that still run (terminating ones included), oldest first; with `exited`, every pod ever created. */
  pods(opts?: { exited?: boolean }): PodStatus[];
  /** The redis-server's process id (a new one after `restartRedis`). */
  redisPid(): number | undefined;
  /** `kubectl rollout restart` + `rollout status`, and wait until every old pod has exited. */
  rollout(): Promise<void>;
  /** Force-delete (SIGKILL) a pod; resolves once its replacement is available. */
  kill(pod: string): Promise<void>;
  /** Graceful delete of one pod (the full termination sequence); resolves once replaced. */
  deletePod(pod: string): Promise<void>;
  scale(replicas: number): Promise<void>;
  /** Stop Redis (SIGTERM; its AOF is on), keep it down `downMs`, start it, wait for the pods. */
  restartRedis(opts?: { downMs?: number }): Promise<void>;
  waitSettled(timeoutMs?: number): Promise<void>;
  /** Tear everything down (SIGKILL pods, stop HAProxy and Redis) and write the cluster log. */
  stop(): Promise<void>;
}

export async function startRig(opts: RigOptions = {}): Promise<Rig> {
  const reaped = reapOrphans();
  const overlay = opts.overlay ?? DEFAULT_OVERLAY;
  const manifest = await loadDeployment(overlay);
  const { model, applied } = applyOverrides(manifest, opts.overrides ?? {});
  const timeoutMs = opts.operationTimeoutMs ?? 120_000;
  // What the image holds, built once per set of inputs (a hash) and reused by later runs.
  const artifact: Artifact = opts.artifactRoot
    ? { root: opts.artifactRoot, hash: "given", reused: true, ms: 0 }
    : await ensureArtifact();

  const logDir = opts.logDir ?? newLogDir();
  mkdirSync(logDir, { recursive: true });
  // Unix socket paths are short (108 bytes): the socket lives in /tmp, the logs in artifacts.
  const runDir = mkdtempSync(join(tmpdir(), "chat-rig-"));
  trackDir(runDir);

  const log = new ClusterLog();
  const resources: { redis?: RedisHandle; haproxy?: HaproxyHandle } = {};
  const cleanupPartial = async () => {
    await resources.haproxy?.stop();
    await resources.redis?.destroy();
    rmSync(runDir, { recursive: true, force: true });
    trackDir(runDir, false);
  };

  let redisPid: number | undefined;
  const trackRedis = (redis: RedisHandle) => {
    if (redisPid !== undefined) untrackPid(redisPid);
    const marker = `redis-server 127.0.0.1:${redis.port}`;
    redisPid = findPids(marker)[0];
    if (redisPid !== undefined) trackPid(redisPid, "redis-server", marker);
  };

  try {
    resources.redis = await startRedis({ appendonly: true });
    trackRedis(resources.redis);
    trackDir(resources.redis.dir);
    resources.haproxy = await startHaproxy({
      dir: runDir,
      port: opts.port,
      slots: opts.slots,
      logFile: join(logDir, "haproxy.log"),
    });
  } catch (err) {
    await cleanupPartial();
    throw err;
  }
  const redis = resources.redis;
  const haproxy = resources.haproxy;
  copyFileSync(haproxy.configPath, join(logDir, "haproxy.cfg"));

  log.add("rig-started", {
    detail: { source: model.source, url: haproxy.url, redis: redis.url, logDir, ...(reaped.length ? { reaped } : {}) },
  });
  log.add("artifact", {
    detail: { root: artifact.root, hash: artifact.hash, reused: artifact.reused, ms: artifact.ms },
  });
  const user = podUser(model);
  if (!user.switched) {
    // Only root can switch users: pods then run as the rig's own user, which is reported.
    log.add("override", {
      detail: {
        field: "securityContext.runAsUser",
        manifest: model.runAsUser ?? IMAGE_USER.uid,
        rig: `${user.uid} (the rig's own user; only root can switch)`,
        kind: "local",
      },
    });
  }
  for (const o of applied) log.add("override", { detail: { ...o, kind: "test" } });
  // Local stand-ins for the cluster network, reported so nobody mistakes them for the manifests' values.
  for (const [field, value] of Object.entries({
    REDIS_URL: redis.url,
    HOST: "127.0.0.1",
    PORT: "a free port per pod",
    ADMIN_PORT: "a free port per pod",
  })) {
    log.add("override", {
      detail: { field: `env.${field}`, manifest: model.env[field], rig: value, kind: "local" },
    });
  }

  const endpoints = new Endpoints(haproxy, log);
  let controller: DeploymentController;
  if (opts.cpuProfileDir) {
    mkdirSync(opts.cpuProfileDir, { recursive: true });
    log.add("override", {
      detail: {
        field: "command",
        manifest: "node",
        rig: `node --cpu-prof (into ${opts.cpuProfileDir})`,
        kind: "local",
      },
    });
  }
  const podCtx = {
    model,
    redisUrl: redis.url,
    ...(opts.cpuProfileDir ? { cpuProfileDir: opts.cpuProfileDir } : {}),
    artifact: artifact.root,
    logDir,
    log,
    onChange: (pod: RigPod) => {
      void endpoints.sync(pod);
      controller.reconcile();
    },
    onCrash: () => controller.crashed(),
  };
  controller = new DeploymentController(model, (name, revision) => new RigPod(name, revision, podCtx), log);

  const find = (name: string) => {
    const pod = controller.pods.find((p) => p.name === name && p.phase !== "exited");
    if (!pod)
      throw new Error(`no running pod named ${name}; pods: ${controller.running.map((p) => p.name).join(", ")}`);
    return pod;
  };
  /** Every operation: cluster-log brackets, then "settled" (including HAProxy having caught up). */
  const operation = async (op: string, detail: Record<string, unknown>, run: () => Promise<void> | void) => {
    const started = log.add("operation-started", { detail: { op, ...detail } });
    try {
      await run();
      await controller.waitSettled(timeoutMs);
      await endpoints.flushed();
    } catch (err) {
      log.add("operation-finished", { detail: { op, error: (err as Error).message } });
      throw err;
    }
    log.add("operation-finished", { detail: { op, ms: Date.now() - started.t } });
  };

  let stopped = false;
  const rig: Rig = {
    url: haproxy.url,
    log,
    redisUrl: redis.url,
    model,
    overrides: applied,
    logDir,
    haproxy,
    artifact,
    pods: ({ exited = false } = {}) =>
      (exited ? controller.pods : controller.running).map((p) => ({
        name: p.name,
        revision: p.revision,
        phase: p.phase,
        ready: p.ready,
        routed: endpoints.isRouted(p.name),
        slot: endpoints.slotOf(p.name),
        connections: p.connections,
        createdAt: p.createdAt,
        url: p.url,
        adminUrl: p.adminUrl,
        port: p.publicPort,
        adminPort: p.adminPort,
        pid: p.pid,
        process: p.process,
      })),
    redisPid: () => redisPid,
    rollout: () => operation("rollout", {}, () => controller.restart()),
    kill: (name) => operation("kill", { pod: name }, () => find(name).kill("kubectl delete --grace-period=0 --force")),
    deletePod: (name) =>
      operation("delete", { pod: name }, () => {
        void find(name).terminate("kubectl delete pod");
      }),
    scale: (replicas) => operation("scale", { replicas }, () => controller.scale(replicas)),
    restartRedis: ({ downMs = 1000 } = {}) =>
      operation("redis-restart", { downMs }, async () => {
        await redis.stop();
        log.add("redis-stopped");
        await delay(downMs);
        await redis.start();
        trackRedis(redis);
        log.add("redis-started");
      }),
    waitSettled: (ms = timeoutMs) => controller.waitSettled(ms),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      controller.stop();
      const running = controller.running;
      // A profiled pod writes its profile only on a normal exit: the graceful sequence (bounded
      // by the grace period's SIGKILL) instead of the teardown's SIGKILL.
      if (opts.cpuProfileDir) for (const p of running) void p.terminate("rig teardown (profiled)");
      else for (const p of running) p.kill("rig teardown");
      await Promise.all(running.map((p) => p.exited));
      await haproxy.stop();
      writeFileSync(join(logDir, "redis.log"), redis.output());
      await redis.destroy();
      if (redisPid !== undefined) untrackPid(redisPid);
      trackDir(redis.dir, false);
      rmSync(runDir, { recursive: true, force: true });
      trackDir(runDir, false);
      log.add("rig-stopped");
      writeFileSync(join(logDir, "timeline.json"), JSON.stringify(log, null, 1));
    },
  };

  try {
    await operation("create", { replicas: model.replicas }, () => controller.reconcile());
  } catch (err) {
    await rig.stop();
    throw new Error(`${(err as Error).message}\nlogs: ${logDir}`);
  }
  return rig;
}

/** A fresh log dir under rig/artifacts, keeping only the last few runs. */
function newLogDir() {
  const root = RIG_LOGS_DIR;
  mkdirSync(root, { recursive: true });
  const old = readdirSync(root)
    .map((d) => ({ d, t: statSync(join(root, d)).mtimeMs }))
    .sort((a, b) => b.t - a.t)
    .slice(KEEP_RIG_LOGS - 1);
  for (const { d } of old) rmSync(join(root, d), { recursive: true, force: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  return join(root, `${stamp}-${process.pid}`);
}

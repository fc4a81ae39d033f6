/**
 * The two controllers of the control plane that matter for a rollout, in miniature:
 *
 * - Endpoints: a pod is routed to while it is ready and not being deleted, as an EndpointSlice
 *   lists it. Here "routed to" is a HAProxy slot in state `ready`; leaving is `maint`.
 * - Deployment: keeps `replicas` pods of the current revision, replaces pods that die, and rolls
 *   to a new revision within maxSurge / maxUnavailable, counting a pod as available once it has
 *   been ready for minReadySeconds, deleting the old pods in the order the ReplicaSet
 *   controller would (unready first, then the most recently ready).
 */
import { createHash, randomInt } from "node:crypto";
import type { ClusterLog } from "./cluster-log.js";
import type { HaproxyHandle } from "./haproxy.js";
import { type DeploymentModel, resolveRollingUpdate } from "./manifest.js";
import type { RigPod } from "./pod.js";

export class Endpoints {
  /** Free slots, least recently used first: a slot is reused as late as possible, so a stale cookie rarely lands on a new pod. */
  private readonly free: string[];
  private readonly slots = new Map<string, string>();
  private readonly routed = new Set<string>();
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly haproxy: HaproxyHandle,
    private readonly log: ClusterLog,
  ) {
    this.free = [...haproxy.slots];
  }

  slotOf(pod: string) {
    return this.slots.get(pod);
  }

  isRouted(pod: string) {
    return this.routed.has(pod);
  }

  /** Bring HAProxy in line with the pod's state. Commands run one at a time, in order. */
  sync(pod: RigPod): Promise<void> {
    this.queue = this.queue
      .then(() => this.apply(pod))
      .catch((err: Error) => {
        this.log.add("rig-error", { pod: pod.name, detail: { error: `endpoints: ${err.message}` } });
      });
    return this.queue;
  }

  /** Resolves once every change queued so far has reached HAProxy. */
  flushed() {
    return this.queue;
  }

  private async apply(pod: RigPod) {
    let slot = this.slots.get(pod.name);
    if (!slot && pod.phase === "running" && !pod.deleting) {
      slot = this.free.shift();
      if (!slot) throw new Error(`no free HAProxy slot for ${pod.name} (all ${this.haproxy.slots.length} in use)`);
      this.slots.set(pod.name, slot);
      await this.haproxy.setAddress(slot, pod.publicPort);
    }
    if (!slot) return;
    const want = pod.ready && !pod.deleting && pod.phase === "running";
    if (want && !this.routed.has(pod.name)) {
      await this.haproxy.setState(slot, "ready");
      this.routed.add(pod.name);
      this.log.add("endpoint-added", { pod: pod.name, detail: { slot } });
    } else if (!want && this.routed.has(pod.name)) {
      await this.haproxy.setState(slot, "maint");
      this.routed.delete(pod.name);
      const reason = pod.deleting ? "terminating" : pod.phase === "exited" ? "exited" : "unready";
      this.log.add("endpoint-removed", { pod: pod.name, detail: { slot, reason } });
    }
    if (pod.phase === "exited") {
      this.slots.delete(pod.name);
      this.free.push(slot);
    }
  }
}

const ALPHABET = "bcdfghjklmnpqrstvwxz2456789"; // what Kubernetes uses for generated names
const encode = (bytes: Buffer, n: number) =>
  [...bytes.subarray(0, n)].map((b) => ALPHABET[b % ALPHABET.length]).join("");
/** A pod-template-hash look-alike: 10 characters derived from the template. */
export const templateHash = (template: unknown) =>
  encode(createHash("sha256").update(JSON.stringify(template)).digest(), 10);
const suffix = () => Array.from({ length: 5 }, () => ALPHABET[randomInt(ALPHABET.length)]).join("");

/** Deletion order of the ReplicaSet controller: not started, not ready, then most recently ready, then newest. */
export function deletionOrder(a: RigPod, b: RigPod): number {
  const rank = (p: RigPod) => (p.started ? 1 : 0) + (p.ready ? 1 : 0);
  return rank(a) - rank(b) || (b.readySince ?? 0) - (a.readySince ?? 0) || b.createdAt - a.createdAt;
}

// Kubelet's CrashLoopBackOff starts at 10 s and caps at 5 min; the rig's is shorter, so a test
// sees the loop (and its error) within its bounds, without spawning a process per millisecond.
const CRASH_BACKOFF_MS = 500;
const CRASH_BACKOFF_MAX_MS = 5000;

export type PodFactory = (name: string, revision: string) => RigPod;

export class DeploymentController {
  readonly pods: RigPod[] = [];
  replicas: number;
  revision: string;
  private restarts = 0;
  private stopped = false;
  /** Crash-loop backoff: pods that exited on their own, in a row, and when the next may start. */
  private crashes = 0;
  private backoffUntil = 0;
  private backoffTimer: NodeJS.Timeout | undefined;
  private readonly waiters = new Set<(stopped?: Error) => void>();

  constructor(
    private readonly model: DeploymentModel,
    private readonly createPod: PodFactory,
    private readonly log: ClusterLog,
  ) {
    this.replicas = model.replicas;
    this.revision = templateHash({ env: model.env, restart: 0 });
  }

  /** Pods that count: neither being deleted nor gone. */
  get active() {
    return this.pods.filter((p) => !p.deleting && p.phase !== "exited");
  }

  /** Pods still running, including those terminating. */
  get running() {
    return this.pods.filter((p) => p.phase !== "exited");
  }

  /** `kubectl rollout restart`: a new pod template (a new restartedAt annotation), hence a new revision. */
  restart() {
    this.restarts++;
    this.revision = templateHash({ env: this.model.env, restart: this.restarts, at: Date.now() });
    this.reconcile();
  }

  scale(replicas: number) {
    if (!Number.isInteger(replicas) || replicas < 0)
      throw new Error(`replicas must be an integer >= 0, got ${replicas}`);
    this.replicas = replicas;
    this.reconcile();
  }

  /** The current revision fully rolled out, and every deleted pod gone. */
  settled(now = Date.now()) {
    const active = this.active;
    return (
      active.length === this.replicas &&
      active.every((p) => p.revision === this.revision && p.available(now)) &&
      this.pods.every((p) => !p.deleting || p.phase === "exited")
    );
  }

  waitSettled(timeoutMs: number): Promise<void> {
    if (this.settled()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (stopped?: Error) => {
        if (stopped) {
          cleanup();
          return reject(stopped);
        }
        if (!this.settled()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        const state = this.pods
          .filter((p) => p.phase !== "exited")
          .map((p) => `${p.name} ${p.phase}${p.ready ? " ready" : ""}${p.deleting ? " deleting" : ""}`);
        // A pod that keeps crashing says why in its output: the error must show it.
        const crashed = [...this.pods].reverse().find((p) => p.phase === "exited" && !p.deleting);
        const why = crashed
          ? `\n${this.crashes} pod(s) exited on their own; the last, ${crashed.name} (exit ${String(crashed.exitCode)}), printed:\n${crashed.output().slice(-1500)}`
          : "";
        reject(new Error(`deployment not settled after ${timeoutMs} ms: ${state.join(", ") || "no pods"}${why}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  /** Stop reconciling (teardown): no more pods are created or deleted. */
  stop() {
    this.stopped = true;
    clearTimeout(this.backoffTimer);
    for (const w of [...this.waiters]) w(new Error("the rig was stopped"));
  }

  /** Re-evaluate after any change; synchronous, so counts are never stale. */
  reconcile() {
    if (this.stopped) return;
    const now = Date.now();
    if (this.crashes > 0 && this.settled(now)) this.crashes = 0;
    const active = this.active;
    const current = active.filter((p) => p.revision === this.revision);
    const old = active.filter((p) => p.revision !== this.revision);

    if (old.length === 0) {
      // Steady state: the ReplicaSet keeps the count.
      const diff = this.replicas - current.length;
      for (let i = 0; i < diff && this.mayStart(); i++) this.spawn();
      if (diff < 0) for (const p of [...current].sort(deletionOrder).slice(0, -diff)) void p.terminate("scale down");
    } else {
      const { maxSurge, maxUnavailable } = resolveRollingUpdate(
        this.replicas,
        this.model.maxSurge,
        this.model.maxUnavailable,
      );
      // Scale up the new ReplicaSet within the surge.
      const up = this.mayStart()
        ? Math.min(this.replicas - current.length, this.replicas + maxSurge - active.length)
        : 0;
      for (let i = 0; i < up; i++) current.push(this.spawn());
      // Scale down the old one without dropping below minAvailable.
      const all = active.length + Math.max(0, up);
      const minAvailable = this.replicas - maxUnavailable;
      const newUnavailable = current.filter((p) => !p.available(now)).length;
      let budget = all - minAvailable - newUnavailable;
      const unhealthy = old.filter((p) => !p.available(now)).sort(deletionOrder);
      for (const p of unhealthy) {
        if (budget <= 0) break;
        void p.terminate("rolling update (unavailable old pod)");
        budget--;
      }
      const available = active.filter((p) => p.available(now)).length;
      const healthy = old.filter((p) => p.available(now)).sort(deletionOrder);
      const down = Math.min(budget, available - minAvailable, healthy.length);
      for (const p of healthy.slice(0, Math.max(0, down))) void p.terminate("rolling update");
    }
    for (const w of [...this.waiters]) w();
  }

  /** A pod's process ended without being deleted: the kubelet's CrashLoopBackOff, shortened. */
  crashed() {
    this.crashes++;
    const backoffMs = Math.min(CRASH_BACKOFF_MS * 2 ** (this.crashes - 1), CRASH_BACKOFF_MAX_MS);
    this.backoffUntil = Date.now() + backoffMs;
    this.log.add("crash-backoff", { detail: { crashes: this.crashes, backoffMs } });
  }

  /** Room for a new pod now, or a reconcile once the crash backoff is over. */
  private mayStart(): boolean {
    const wait = this.backoffUntil - Date.now();
    if (wait <= 0) return true;
    this.backoffTimer ??= setTimeout(() => {
      this.backoffTimer = undefined;
      this.reconcile();
    }, wait);
    return false;
  }

  private spawn(): RigPod {
    const pod = this.createPod(`${this.model.name}-${this.revision}-${suffix()}`, this.revision);
    this.pods.push(pod);
    void pod.start().catch((err: Error) => {
      this.log.add("rig-error", { pod: pod.name, detail: { error: `start: ${err.message}` } });
      pod.kill("failed to start");
    });
    return pod;
  }
}

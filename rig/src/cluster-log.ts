/**
 * What happened to the cluster, in order, with wall-clock times: the rig records every pod
 * lifecycle step, endpoint change, Redis restart and operation here; tests add their clients'
 * sends and disconnects; charts and reports read it back. Times are epoch ms (Date.now()), the
 * same clock as every process on this machine, browsers included.
 */

export type ClusterEventType =
  // Rig and operations
  | "rig-started"
  | "rig-stopped"
  | "rig-error"
  | "crash-backoff"
  | "artifact"
  | "override"
  | "operation-started"
  | "operation-finished"
  // Pods (the kubelet's view)
  | "pod-created"
  | "pod-started"
  | "pod-ready"
  | "pod-unready"
  | "probe-failed"
  | "pod-available"
  | "pod-terminating"
  | "prestop"
  | "prestop-done"
  | "sigterm"
  | "killed"
  | "pod-exited"
  // Endpoints (what the ingress routes to)
  | "endpoint-added"
  | "endpoint-removed"
  // Redis
  | "redis-stopped"
  | "redis-started"
  // Clients (added by tests)
  | "client-send"
  | "client-ack"
  | "client-disconnected"
  | "client-connected"
  | "client-note";

export interface ClusterEvent {
  /** Epoch ms. */
  t: number;
  type: ClusterEventType;
  pod?: string;
  /** A browser or bot, for client events. */
  client?: string;
  /** Anything else worth keeping: exit code, signal, probe status, HAProxy slot, reason... */
  detail?: Record<string, unknown>;
}

type Listener = (e: ClusterEvent) => void;

export class ClusterLog {
  readonly events: ClusterEvent[] = [];
  readonly startedAt = Date.now();
  private readonly listeners = new Set<Listener>();

  add(type: ClusterEventType, fields: Omit<ClusterEvent, "t" | "type"> = {}): ClusterEvent {
    const e: ClusterEvent = { t: Date.now(), type, ...fields };
    this.events.push(e);
    for (const l of this.listeners) l(e);
    return e;
  }

  /** Record something that happened elsewhere at time `e.t` (a browser's log, read afterwards). */
  insert(e: ClusterEvent) {
    let at = this.events.length;
    while (at > 0 && (this.events[at - 1]?.t ?? 0) > e.t) at--;
    this.events.splice(at, 0, e);
  }

  /** Subscribe; returns the unsubscribe function. */
  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Events since `t` (inclusive) of the given types (all types when none given). */
  since(t: number, ...types: ClusterEventType[]): ClusterEvent[] {
    return this.events.filter((e) => e.t >= t && (types.length === 0 || types.includes(e.type)));
  }

  /**
   * The first event (already recorded at or after `after`, or yet to come) that matches, within
   * a bounded time. Event-driven: no polling.
   */
  waitFor(what: string, match: (e: ClusterEvent) => boolean, { after = 0, timeoutMs = 30_000 } = {}) {
    const seen = this.events.find((e) => e.t >= after && match(e));
    if (seen) return Promise.resolve(seen);
    return new Promise<ClusterEvent>((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const off = this.on((e) => {
        if (!match(e)) return;
        clearTimeout(timer);
        off();
        resolve(e);
      });
    });
  }

  toJSON() {
    return { startedAt: this.startedAt, events: this.events };
  }
}

/** One line per event, for logs and the CLI: `+12.345s pod-ready chat-6c9f7d8b4-x2kqz`. */
export function formatEvent(e: ClusterEvent, origin: number): string {
  const at = `+${((e.t - origin) / 1000).toFixed(3)}s`.padStart(10);
  const who = e.pod ?? e.client ?? "";
  const detail = e.detail && Object.keys(e.detail).length > 0 ? ` ${JSON.stringify(e.detail)}` : "";
  return `${at} ${e.type.padEnd(18)} ${who}${detail}`.trimEnd();
}

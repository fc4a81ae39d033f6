import { EventEmitter } from "node:events";
import { ErrorCode, type RefusalBody } from "@chat/protocol";

/**
 * One state machine for readiness; `/readyz` and the handshake gate both read it.
 *
 *   starting -> ready <-> full (hysteresis) ; any -> stopping -> draining -> closed
 *
 * Redis being down makes the pod unready without leaving its phase, so it returns by itself.
 */
export type Phase = "starting" | "ready" | "full" | "stopping" | "draining" | "closed";

export interface Readiness {
  ready: boolean;
  phase: Phase;
  reasons: string[];
  connections: number;
  maxConnections: number;
  redis: "up" | "down" | "none";
}

export interface CapacityLimits {
  maxConnections: number;
  lowWater: number;
}

export class Lifecycle extends EventEmitter<{ change: [Readiness] }> {
  private phase: Phase = "starting";
  private redisUp: boolean | null;
  private count = 0;

  constructor(
    private readonly limits: CapacityLimits,
    redisConfigured: boolean,
  ) {
    super();
    this.redisUp = redisConfigured ? false : null;
  }

  get connections() {
    return this.count;
  }

  get current(): Phase {
    return this.phase;
  }

  /** Stopping or later: the pod is on its way out. */
  get leaving(): boolean {
    return this.phase === "stopping" || this.phase === "draining" || this.phase === "closed";
  }

  started() {
    if (this.phase === "starting") this.set(this.count >= this.limits.maxConnections ? "full" : "ready");
  }

  setRedisUp(up: boolean) {
    if (this.redisUp === null || this.redisUp === up) return;
    this.redisUp = up;
    this.emit("change", this.readiness());
  }

  connectionOpened() {
    this.count++;
    if (this.phase === "ready" && this.count >= this.limits.maxConnections) this.set("full");
  }

  connectionClosed() {
    this.count--;
    if (this.phase === "full" && this.count <= this.limits.lowWater) this.set("ready");
  }

  /** preStop: leave the endpoints at once but keep serving while the removal propagates. */
  stop() {
    if (!this.leaving) this.set("stopping");
  }

  /** Returns false when a drain had already begun. */
  beginDrain(): boolean {
    if (this.phase === "draining" || this.phase === "closed") return false;
    this.set("draining");
    return true;
  }

  close() {
    this.set("closed");
  }

  readiness(): Readiness {
    const reasons: string[] = [];
    if (this.phase !== "ready") reasons.push(this.phase);
    if (this.redisUp === false) reasons.push("redis_down");
    return {
      ready: reasons.length === 0,
      phase: this.phase,
      reasons,
      connections: this.count,
      maxConnections: this.limits.maxConnections,
      redis: this.redisUp === null ? "none" : this.redisUp ? "up" : "down",
    };
  }

  /** Why a new connection must be refused (HTTP 503), or null to admit it. */
  refusal(): RefusalBody | null {
    switch (this.phase) {
      case "starting":
        return { code: ErrorCode.Unavailable, message: "the server is starting" };
      case "draining":
      case "closed":
        return { code: ErrorCode.Draining, message: "the server is shutting down; connect to another" };
      default:
        // Admission uses the hard limit; readiness uses the low-water mark, so sticky
        // reconnects are not bounced while the load balancer already sends new users elsewhere.
        return this.count >= this.limits.maxConnections
          ? { code: ErrorCode.ServerFull, message: `the server is full (${this.limits.maxConnections} connections)` }
          : null;
    }
  }

  private set(phase: Phase) {
    if (this.phase === phase) return;
    this.phase = phase;
    this.emit("change", this.readiness());
  }
}

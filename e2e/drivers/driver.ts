/**
 * What the cluster specs need from a cluster, and nothing else: the same specs run against the
 * local rig (default) and against a kind cluster (E2E_TARGET=kind; see select-driver.ts).
 */
import type { ClusterLog } from "@chat/rig";

export interface ClusterPod {
  name: string;
  /** Passing its readiness probe. */
  ready: boolean;
  /** Being deleted (draining or about to be killed). */
  terminating: boolean;
  /** Open sockets, when the driver can see them (the rig reads them off /readyz). */
  connections?: number;
}

export interface ClusterDriver {
  readonly target: "rig" | "kind";
  /** The ingress: what browsers and bots connect to. */
  readonly baseUrl: string;
  /** The replica count the manifests ask for; `reset()` returns to it. */
  readonly defaultReplicas: number;
  /** Cluster events with wall-clock times; specs add their clients' events to it. */
  readonly log: ClusterLog;
  pods(): Promise<ClusterPod[]>;
  /** `kubectl rollout restart deployment/chat`; resolves once rolled out and every old pod is gone. */
  rollout(): Promise<void>;
  /**
   * Crash a pod: its server gets SIGKILL with no preStop and no drain; resolves once it is
   * replaced and ready (the rig starts a new pod; on kind the kubelet restarts the container).
   */
  kill(pod: string): Promise<void>;
  /** Resolves once exactly `replicas` pods run, all ready, none terminating. */
  scale(replicas: number): Promise<void>;
  /** Restart Redis; resolves once Redis and every chat pod are ready again. */
  restartRedis(): Promise<void>;
  /** Back to the manifests' shape (replica count, autoscaler) after a spec changed it. */
  reset(): Promise<void>;
  /** Copy what helps debug a failure (logs, timeline, pod list) into `dir`; returns the files. */
  collectArtifacts(dir: string): Promise<string[]>;
  stop(): Promise<void>;
}

export type Target = ClusterDriver["target"];

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireBinary } from "./binaries.js";
import { type Managed, spawnManaged, stopProcess } from "./processes.js";
import { redisPing } from "./redis.js";
import { freePort, waitFor } from "./wait.js";

export interface RedisClusterHandle {
  ports: number[];
  /** `host:port,…` for REDIS_CLUSTER_NODES. */
  seeds: string;
  /**
   * Stop one node (SIGTERM, or SIGKILL with `hard`): without replicas its slots become
   * unavailable; with them, a replica takes over after cluster-node-timeout.
   */
  stopNode(index: number, hard?: boolean): Promise<void>;
  /** Start a stopped node again on the same port and data. */
  startNode(index: number): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * A real Redis Cluster of `masters` masters, each with `replicas` replicas (default none), on
 * free loopback ports, created with `redis-cli --cluster create`. AOF is on, so a restarted
 * node keeps its data and slots. The first `masters` ports are the masters, as created.
 */
export async function startRedisCluster(masters = 3, { replicas = 0 } = {}): Promise<RedisClusterHandle> {
  const server = requireBinary("redis-server", "redis-server");
  const cli = requireBinary("redis-cli", "redis-tools");
  const ports = await Promise.all(Array.from({ length: masters * (1 + replicas) }, () => freePort()));
  const dirs = ports.map(() => mkdtempSync(join(tmpdir(), "chat-cluster-")));
  const procs: (Managed | undefined)[] = [];

  const startNode = async (i: number) => {
    const port = ports[i] as number;
    const p = spawnManaged(server, [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dirs[i] as string,
      "--cluster-enabled",
      "yes",
      "--cluster-config-file",
      "nodes.conf",
      "--cluster-node-timeout",
      "2000",
      // One shard down must not stop the others (the default stops the whole cluster).
      "--cluster-require-full-coverage",
      "no",
      "--appendonly",
      "yes",
      "--appendfsync",
      "always",
      "--save",
      "",
      // A replica's first sync starts at once (the default waits 5 s to batch replicas).
      "--repl-diskless-sync-delay",
      "0",
    ]);
    procs[i] = p;
    await waitFor(`cluster node ${port}`, async () => {
      if (p.child.exitCode !== null) throw new Error(`redis-server exited: ${p.output()}`);
      return redisPing(port);
    });
  };
  await Promise.all(ports.map((_, i) => startNode(i)));

  const create = spawnManaged(cli, [
    "--cluster",
    "create",
    ...ports.map((p) => `127.0.0.1:${p}`),
    "--cluster-replicas",
    String(replicas),
    "--cluster-yes",
  ]);
  const code = await create.exited;
  if (code !== 0) throw new Error(`redis-cli --cluster create failed (${code}):\n${create.output()}`);
  const clusterOk = async () => {
    const info = spawnManaged(cli, ["-p", String(ports[0]), "cluster", "info"]);
    await info.exited;
    return info.output().includes("cluster_state:ok");
  };
  await waitFor("cluster_state:ok", clusterOk, { timeoutMs: 20_000, intervalMs: 200 });
  const syncedReplicas = async () => {
    let synced = 0;
    for (const port of ports) {
      const info = spawnManaged(cli, ["-p", String(port), "info", "replication"]);
      await info.exited;
      if (info.output().includes("role:slave") && info.output().includes("master_link_status:up")) synced++;
      // …and every node has heard (by gossip) who replicates whom.
      const nodes = spawnManaged(cli, ["-p", String(port), "cluster", "nodes"]);
      await nodes.exited;
      if (
        nodes
          .output()
          .split("\n")
          .filter((l) => l.includes("slave")).length !==
        masters * replicas
      )
        return false;
    }
    return synced === masters * replicas;
  };
  await waitFor("replicas in sync", syncedReplicas, { timeoutMs: 20_000, intervalMs: 200 });

  return {
    ports,
    seeds: ports.map((p) => `127.0.0.1:${p}`).join(","),
    async stopNode(i, hard = false) {
      const p = procs[i];
      if (p) await stopProcess(p, hard ? "SIGKILL" : "SIGTERM");
    },
    async startNode(i) {
      await startNode(i);
      await waitFor("cluster_state:ok", clusterOk, { timeoutMs: 20_000, intervalMs: 200 });
    },
    async destroy() {
      await Promise.all(procs.map((p) => (p ? stopProcess(p, "SIGKILL") : undefined)));
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  };
}

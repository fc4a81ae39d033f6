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
  /** Stop one master (its slots become unavailable), then start it again on the same port and data. */
  stopNode(index: number): Promise<void>;
  startNode(index: number): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * A real Redis Cluster of `masters` masters (no replicas) on free loopback ports, created with
 * `redis-cli --cluster create`. AOF is on, so a restarted master keeps its data and slots.
 */
export async function startRedisCluster(masters = 3): Promise<RedisClusterHandle> {
  const server = requireBinary("redis-server", "redis-server");
  const cli = requireBinary("redis-cli", "redis-tools");
  const ports = await Promise.all(Array.from({ length: masters }, () => freePort()));
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
    ]);
    procs[i] = p;
    await waitFor(`cluster node ${port}`, async () => {
      if (p.child.exitCode !== null) throw new Error(`redis-server exited: ${p.output()}`);
      return redisPing(port);
    });
  };
  await Promise.all(ports.map((_, i) => startNode(i)));

  const create = spawnManaged(cli, ["--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-yes"]);
  const code = await create.exited;
  if (code !== 0) throw new Error(`redis-cli --cluster create failed (${code}):\n${create.output()}`);
  const clusterOk = async () => {
    const info = spawnManaged(cli, ["-p", String(ports[0]), "cluster", "info"]);
    await info.exited;
    return info.output().includes("cluster_state:ok");
  };
  await waitFor("cluster_state:ok", clusterOk, { timeoutMs: 20_000, intervalMs: 200 });

  return {
    ports,
    seeds: ports.map((p) => `127.0.0.1:${p}`).join(","),
    async stopNode(i) {
      const p = procs[i];
      if (p) await stopProcess(p, "SIGTERM");
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

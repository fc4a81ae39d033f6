import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireBinary } from "./binaries.js";
import { type Managed, spawnManaged, stopProcess } from "./processes.js";
import { type RedisHandle, redisPing, startRedis } from "./redis.js";
import { freePort, waitFor } from "./wait.js";

export interface RedisSentinelOptions {
  /** Replicas of the master (default 2: one still replicates after the other is promoted). */
  replicas?: number;
  masterName?: string;
  /** Sentinel's down-after-milliseconds: how long the master must be silent to be judged down. */
  downAfterMs?: number;
  failoverTimeoutMs?: number;
}

export interface RedisSentinelHandle {
  masterName: string;
  /** `host:port,…` of the three Sentinels, for REDIS_SENTINELS. */
  sentinels: string;
  /** Every data node (master first, as started), by port. */
  nodes: Map<number, RedisHandle>;
  /** The port Sentinel names as master now (asked of the first Sentinel that answers). */
  master(): Promise<number>;
  /** Ports of the nodes replicating the current master with their link up. */
  replicasOf(master: number): Promise<number[]>;
  /** SIGKILL the current master; resolves with its port. */
  killMaster(): Promise<number>;
  /**
   * Resolves once Sentinel names a master other than `old`, that master takes writes, and
   * `replicas` replicas (default: every live one) replicate it again.
   */
  waitForFailover(old: number, opts?: { timeoutMs?: number; replicas?: number }): Promise<number>;
  destroy(): Promise<void>;
}

const CLI = () => requireBinary("redis-cli", "redis-tools");

/** Run redis-cli against a loopback port; resolves with its output lines. */
async function cli(port: number, ...args: string[]): Promise<string[]> {
  const p = spawnManaged(CLI(), ["-h", "127.0.0.1", "-p", String(port), ...args]);
  await p.exited;
  return p.output().trim().split("\n");
}

const infoField = (lines: string[], field: string) =>
  lines
    .find((l) => l.startsWith(`${field}:`))
    ?.slice(field.length + 1)
    .trim();

/**
 * A master, `replicas` replicas and three Sentinels (quorum 2) on free loopback ports. Failure
 * detection is fast (1 s down-after by default), so a failover takes a few seconds. No
 * persistence: this rig tests failover, not restarts. destroy() kills everything.
 */
export async function startRedisSentinel(opts: RedisSentinelOptions = {}): Promise<RedisSentinelHandle> {
  const server = requireBinary("redis-server", "redis-server");
  const masterName = opts.masterName ?? "mymaster";
  const replicaCount = opts.replicas ?? 2;
  // A replica's first sync starts at once (the default waits 5 s to batch replicas).
  const syncArgs = ["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"];
  const nodes = new Map<number, RedisHandle>();
  const sentinelProcs: Managed[] = [];
  const dir = mkdtempSync(join(tmpdir(), "chat-sentinel-"));
  const destroy = async () => {
    await Promise.all(sentinelProcs.map((p) => stopProcess(p, "SIGKILL")));
    await Promise.all([...nodes.values()].map((n) => n.destroy()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const master = await startRedis({ extraArgs: syncArgs });
    nodes.set(master.port, master);
    for (let i = 0; i < replicaCount; i++) {
      const r = await startRedis({ extraArgs: [...syncArgs, "--replicaof", "127.0.0.1", String(master.port)] });
      nodes.set(r.port, r);
    }
    const live = new Set(nodes.keys());
    const replicasOf = async (port: number) => {
      const ports: number[] = [];
      for (const p of live) {
        if (p === port) continue;
        const info = await cli(p, "INFO", "replication");
        if (infoField(info, "master_port") === String(port) && infoField(info, "master_link_status") === "up") {
          ports.push(p);
        }
      }
      return ports;
    };
    await waitFor("replicas in sync", async () => (await replicasOf(master.port)).length === replicaCount, {
      timeoutMs: 20_000,
      intervalMs: 100,
    });

    const sentinelPorts = await Promise.all([0, 1, 2].map(() => freePort()));
    for (const [i, port] of sentinelPorts.entries()) {
      const conf = join(dir, `sentinel-${i}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          "bind 127.0.0.1",
          `dir ${dir}`,
          `sentinel monitor ${masterName} 127.0.0.1 ${master.port} 2`,
          `sentinel down-after-milliseconds ${masterName} ${opts.downAfterMs ?? 1000}`,
          `sentinel failover-timeout ${masterName} ${opts.failoverTimeoutMs ?? 3000}`,
          `sentinel parallel-syncs ${masterName} ${replicaCount}`,
          "",
        ].join("\n"),
      );
      const p = spawnManaged(server, [conf, "--sentinel"]);
      sentinelProcs.push(p);
      await waitFor(`sentinel on port ${port}`, async () => {
        if (p.child.exitCode !== null) throw new Error(`sentinel exited: ${p.output()}`);
        return redisPing(port);
      });
    }
    // Ready when every Sentinel knows the replicas and the two other Sentinels (hello messages
    // travel every 2 s through the master), so that a quorum can form at once.
    await waitFor(
      "sentinels know each other and the replicas",
      async () => {
        for (const port of sentinelPorts) {
          const lines = await cli(port, "SENTINEL", "master", masterName);
          const field = (k: string) => lines[lines.indexOf(k) + 1];
          if (field("num-other-sentinels") !== "2" || field("num-slaves") !== String(replicaCount)) return false;
        }
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );

    const currentMaster = async () => {
      for (const port of sentinelPorts) {
        const lines = await cli(port, "SENTINEL", "get-master-addr-by-name", masterName);
        const masterPort = Number(lines[1]);
        if (masterPort > 0) return masterPort;
      }
      throw new Error("no Sentinel names a master");
    };
    return {
      masterName,
      sentinels: sentinelPorts.map((p) => `127.0.0.1:${p}`).join(","),
      nodes,
      master: currentMaster,
      replicasOf,
      async killMaster() {
        const port = await currentMaster();
        await nodes.get(port)?.stop(true);
        live.delete(port);
        return port;
      },
      async waitForFailover(old, { timeoutMs = 30_000, replicas } = {}) {
        const want = replicas ?? live.size - 1;
        return waitFor(
          `failover away from ${old}`,
          async () => {
            const port = await currentMaster().catch(() => old);
            if (port === old) return undefined;
            const role = infoField(await cli(port, "INFO", "replication"), "role");
            if (role !== "master") return undefined;
            return (await replicasOf(port)).length >= want ? port : undefined;
          },
          { timeoutMs, intervalMs: 100 },
        );
      },
      destroy,
    };
  } catch (err) {
    await destroy();
    throw err;
  }
}

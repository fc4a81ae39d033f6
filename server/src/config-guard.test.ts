import { describe, expect, it } from "vitest";
import { ConfigError, ENV_NAMES, loadConfig } from "./config.js";
import { editDistance, isServiceLink, OWNED_PREFIXES, unknownVariables } from "./config-guard.js";

const SECRET = "guard-test-secret-0123456789";

describe("the typo guard", () => {
  it("names an unknown owned variable and the closest known one", () => {
    expect(
      unknownVariables({ REDIS_ULR: "redis://x", SLOW_CLIENT_MAX_BUFER_BYTES: "1", PATH: "/bin" }, ENV_NAMES),
    ).toEqual([
      { name: "REDIS_ULR", closest: "REDIS_URL" },
      { name: "SLOW_CLIENT_MAX_BUFER_BYTES", closest: "SLOW_CLIENT_MAX_BUFFER_BYTES" },
    ]);
  });

  it("leaves variables outside its prefixes alone", () => {
    expect(
      unknownVariables({ NODE_OPTIONS: "--x", HOSTNAME: "pod", CHAT_SERVICE_PORT: "80", TZ: "UTC" }, ENV_NAMES),
    ).toEqual([]);
  });

  it("accepts what the kubelet injects for a Service named redis (or redis-sentinel)", () => {
    const injected = {
      REDIS_SERVICE_HOST: "10.96.0.12",
      REDIS_SERVICE_PORT: "6379",
      REDIS_SERVICE_PORT_REDIS: "6379",
      REDIS_PORT: "tcp://10.96.0.12:6379",
      REDIS_PORT_6379_TCP: "tcp://10.96.0.12:6379",
      REDIS_PORT_6379_TCP_PROTO: "tcp",
      REDIS_PORT_6379_TCP_PORT: "6379",
      REDIS_PORT_6379_TCP_ADDR: "10.96.0.12",
      REDIS_SENTINEL_SERVICE_HOST: "10.96.0.13",
      REDIS_SENTINEL_PORT_26379_TCP_ADDR: "10.96.0.13",
    };
    expect(unknownVariables(injected, ENV_NAMES)).toEqual([]);
    // …and the pod starts, in embedded mode: these say nothing about where Redis is.
    expect(loadConfig(injected).mode).toBe("embedded");
  });

  it("still refuses REDIS_PORT typed by hand (a port, not a Service link)", () => {
    expect(isServiceLink("REDIS_PORT", "6379")).toBe(false);
    expect(isServiceLink("REDIS_PORT", "tcp://10.0.0.1:6379")).toBe(true);
    expect(unknownVariables({ REDIS_PORT: "6379" }, ENV_NAMES).map((u) => u.name)).toEqual(["REDIS_PORT"]);
  });

  it("owns only prefixes that the schema uses", () => {
    for (const prefix of OWNED_PREFIXES)
      expect(
        ENV_NAMES.some((n) => n.startsWith(prefix)),
        prefix,
      ).toBe(true);
  });

  it("measures edit distance", () => {
    expect(editDistance("REDIS_ULR", "REDIS_URL")).toBe(2);
    expect(editDistance("", "abc")).toBe(3);
    expect(editDistance("same", "same")).toBe(0);
  });
});

describe("Redis settings", () => {
  const fails = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error("loadConfig accepted it");
  };

  it("picks the mode from the one variable that says where Redis is", () => {
    expect(loadConfig({}).mode).toBe("embedded");
    expect(loadConfig({ REDIS_URL: "redis://r:6379", SESSION_SECRET: SECRET }).mode).toBe("standalone");
    expect(loadConfig({ REDIS_CLUSTER_NODES: "a:6379,b:6379", SESSION_SECRET: SECRET }).mode).toBe("cluster");
    const s = loadConfig({ REDIS_SENTINELS: "s1:26379, s2:26379", SESSION_SECRET: SECRET });
    expect(s).toMatchObject({
      mode: "sentinel",
      REDIS_SENTINELS: ["s1:26379", "s2:26379"],
      REDIS_SENTINEL_MASTER: "mymaster",
    });
    // Empty means unset, as for every variable (the cluster component empties REDIS_URL).
    expect(loadConfig({ REDIS_URL: "", REDIS_CLUSTER_NODES: "a:6379", SESSION_SECRET: SECRET }).mode).toBe("cluster");
  });

  it("refuses two ways to reach Redis, naming them", () => {
    expect(
      fails({
        REDIS_URL: "redis://r:6379",
        REDIS_CLUSTER_NODES: "a:1",
        REDIS_SENTINELS: "s:2",
        SESSION_SECRET: SECRET,
      }),
    ).toMatch(/REDIS_URL, REDIS_CLUSTER_NODES, REDIS_SENTINELS: set only one of/);
  });

  it("refuses embedded mode when any Redis variable is set", () => {
    expect(fails({ REDIS_PASSWORD: "pw" })).toMatch(/REDIS_PASSWORD: set, but none of REDIS_URL/);
    expect(fails({ REDIS_SENTINEL_MASTER: "m", REDIS_MIN_REPLICAS_ACK: "1" })).toMatch(
      /REDIS_SENTINEL_MASTER, REDIS_MIN_REPLICAS_ACK: set, but none/,
    );
  });

  it("refuses Sentinel settings without Sentinels, and seeds that are not host:port", () => {
    expect(fails({ REDIS_URL: "redis://r:6379", REDIS_SENTINEL_MASTER: "m", SESSION_SECRET: SECRET })).toMatch(
      /REDIS_SENTINEL_MASTER: only used with REDIS_SENTINELS/,
    );
    expect(fails({ REDIS_SENTINELS: "s1", SESSION_SECRET: SECRET })).toMatch(/REDIS_SENTINELS: "s1" is not host:port/);
    expect(fails({ REDIS_SENTINELS: "s1:26379" })).toMatch(/SESSION_SECRET: is required with Redis/);
  });

  it("lists every problem at once", () => {
    const message = fails({ REDIS_ULR: "redis://r", PORT: "x" });
    expect(message).toMatch(/REDIS_ULR/);
    expect(message).toMatch(/PORT/);
  });
});

/**
 * The kind driver cannot run on a machine without a container engine, so its contract is
 * checked here: the exact kubectl commands each operation runs, and how kubectl's JSON is read.
 */

import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClusterLog } from "@chat/rig";
import { describe, expect, it } from "vitest";
import {
  type Docker,
  diffPods,
  type Follow,
  KindDriver,
  type Kubectl,
  parseContainer,
  parsePods,
} from "./kind-driver.js";

const pod = (name: string, ready: boolean, terminating = false) => ({
  metadata: { name, ...(terminating ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}) },
  status: { phase: "Running", conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
});
const podList = (...items: ReturnType<typeof pod>[]) => JSON.stringify({ items });

/** One pod as `kubectl get pod <name> -o json` shows it: its node and chat container. */
const podJson = (name: string, restarts: number) =>
  JSON.stringify({
    metadata: { name },
    spec: { nodeName: "chat-worker2" },
    status: {
      containerStatuses: [{ name: "chat", containerID: `containerd://abc${restarts}`, restartCount: restarts }],
    },
  });

/** A fake kubectl: records every call and answers `get pods` from a script of pod lists. */
function fakeKubectl(podLists: string[], hpa = { spec: { minReplicas: 3, maxReplicas: 12 } }, podJsons: string[] = []) {
  const calls: string[][] = [];
  let i = 0;
  let j = 0;
  const kubectl: Kubectl = async (args) => {
    calls.push(args);
    const rest = args.slice(4).join(" ");
    if (rest.startsWith("get pods")) return podLists[Math.min(i++, podLists.length - 1)] ?? podList();
    if (rest.startsWith("get pod ")) return podJsons[Math.min(j++, podJsons.length - 1)] ?? "{}";
    if (rest.startsWith("get hpa/chat")) return JSON.stringify(hpa);
    if (rest.startsWith("logs --previous")) throw new Error("previous terminated container not found");
    if (rest.startsWith("logs")) return `log of ${args.at(-1)}\n`;
    return "";
  };
  // Without the context/namespace prefix, for readable expectations.
  const commands = () => calls.map((c) => c.slice(4).join(" "));
  return { kubectl, calls, commands };
}

const model = {
  name: "chat",
  namespace: "chat",
  selector: { "app.kubernetes.io/name": "chat", "app.kubernetes.io/component": "server" },
  replicas: 3,
  graceMs: 45_000,
};
const three = podList(pod("chat-a", true), pod("chat-b", true), pod("chat-c", true));
const docker = () => {
  const calls: string[][] = [];
  const run: Docker = async (args) => {
    calls.push(args);
    return "";
  };
  return { run, calls };
};
/** Log followers that hand out a fixed text per pod, and remember what they were asked. */
const follower = () => {
  const started: string[][] = [];
  const follow: Follow = (args) => {
    started.push(args);
    return { output: () => `streamed log of ${args.at(-1)}\n`, stop: () => {} };
  };
  return { follow, started };
};
const driver = (k: Kubectl, d = docker().run, f = follower().follow) =>
  new KindDriver(model, { kubectl: k, docker: d, follow: f, pollMs: 1, timeoutMs: 5000 });

describe("kind driver commands", () => {
  it("scopes every command to the kind context and the chat namespace", async () => {
    const k = fakeKubectl([three]);
    await driver(k.kubectl).pods();
    expect(k.calls[0]).toEqual([
      "--context",
      "kind-chat",
      "--namespace",
      "chat",
      "get",
      "pods",
      "-l",
      "app.kubernetes.io/name=chat,app.kubernetes.io/component=server",
      "-o",
      "json",
    ]);
  });

  it("rollout: restart, rollout status, then waits for the old pods to be gone", async () => {
    const draining = podList(pod("chat-a", false, true), pod("chat-d", true), pod("chat-e", true), pod("chat-f", true));
    const done = podList(pod("chat-d", true), pod("chat-e", true), pod("chat-f", true));
    const k = fakeKubectl([three, draining, done]);
    const d = driver(k.kubectl);
    await d.rollout();
    expect(k.commands()).toEqual([
      "get pods -l app.kubernetes.io/name=chat,app.kubernetes.io/component=server -o json",
      "rollout restart deployment/chat",
      "rollout status deployment/chat --timeout=5s",
      "get pods -l app.kubernetes.io/name=chat,app.kubernetes.io/component=server -o json",
      "get pods -l app.kubernetes.io/name=chat,app.kubernetes.io/component=server -o json",
    ]);
    expect(d.log.events.map((e) => `${e.type} ${e.pod ?? ""}`.trim())).toContain("pod-exited chat-a");
  });

  it("kill: SIGKILLs the chat container on its node (no preStop, no SIGTERM), then waits for its restart", async () => {
    const k = fakeKubectl(
      [three, podList(pod("chat-a", false), pod("chat-b", true), pod("chat-c", true)), three],
      undefined,
      [podJson("chat-a", 0), podJson("chat-a", 0), podJson("chat-a", 1)],
    );
    const d = docker();
    const drv = driver(k.kubectl, d.run);
    await drv.kill("chat-a");
    // Not `kubectl delete --force`: that only removes the API object, the kubelet still drains.
    expect(k.commands().some((c) => c.startsWith("delete"))).toBe(false);
    expect(d.calls).toEqual([["exec", "chat-worker2", "crictl", "stop", "--timeout", "0", "abc0"]]);
    expect(k.commands().filter((c) => c === "get pod chat-a -o json")).toHaveLength(3);
    expect(drv.log.events.map((e) => e.type)).toContain("killed");
  });

  it("kill: refuses a pod without a running chat container, before touching any node", async () => {
    const k = fakeKubectl([three], undefined, [JSON.stringify({ metadata: { name: "chat-a" }, status: {} })]);
    const d = docker();
    await expect(driver(k.kubectl, d.run).kill("chat-a")).rejects.toThrow(/no node or no running chat container/);
    expect(d.calls).toEqual([]);
  });

  it("artifacts: keeps the log of every pod it saw, also of pods deleted since, and each restart's previous log", async () => {
    const before = podList(pod("chat-a", true), pod("chat-b", true), pod("chat-c", true));
    const draining = podList(pod("chat-a", false, true), pod("chat-b", true), pod("chat-c", true), pod("chat-d", true));
    const after = podList(pod("chat-b", true), pod("chat-c", true), pod("chat-d", true));
    const k = fakeKubectl([before, draining, after]);
    const f = follower();
    const drv = driver(k.kubectl, docker().run, f.follow);
    await drv.rollout();
    expect(f.started.map((a) => a.slice(4).join(" "))).toEqual([
      "logs -f --timestamps -c chat chat-a",
      "logs -f --timestamps -c chat chat-b",
      "logs -f --timestamps -c chat chat-c",
      "logs -f --timestamps -c chat chat-d",
    ]);
    const dir = mkdtempSync(join(tmpdir(), "kind-artifacts-"));
    try {
      await drv.collectArtifacts(dir);
      const logs = readdirSync(join(dir, "logs")).sort();
      expect(logs).toContain("chat-a.log");
      expect(readFileSync(join(dir, "logs", "chat-a.log"), "utf8")).toBe("streamed log of chat-a\n");
      expect(logs).toContain("chat-d.previous.log");
      expect(k.commands()).toContain("logs --previous --timestamps -c chat chat-d");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("scale: pins the autoscaler (its minReplicas would undo the scale), scales, and reset() restores both", async () => {
    const one = podList(pod("chat-a", true));
    const k = fakeKubectl([podList(pod("chat-a", true), pod("chat-b", false, true)), one, one, three]);
    const d = driver(k.kubectl);
    await d.scale(1);
    expect(k.commands().slice(0, 3)).toEqual([
      "get hpa/chat -o json",
      'patch hpa/chat --type=merge -p {"spec":{"minReplicas":1,"maxReplicas":1}}',
      "scale deployment/chat --replicas=1",
    ]);
    await d.reset();
    expect(k.commands()).toContain("scale deployment/chat --replicas=3");
    expect(k.commands().at(-1)).toBe('patch hpa/chat --type=merge -p {"spec":{"minReplicas":3,"maxReplicas":12}}');
  });

  it("restartRedis: restarts the StatefulSet and waits for it and for the chat pods", async () => {
    const k = fakeKubectl([three]);
    await driver(k.kubectl).restartRedis();
    expect(k.commands()).toEqual([
      "get pods -l app.kubernetes.io/name=chat,app.kubernetes.io/component=server -o json",
      "rollout restart statefulset/redis",
      "rollout status statefulset/redis --timeout=5s",
      "get pods -l app.kubernetes.io/name=chat,app.kubernetes.io/component=server -o json",
    ]);
  });

  it("gives up after its bound, saying what it waited for", async () => {
    const k = fakeKubectl([three], undefined, [podJson("chat-a", 0)]);
    const d = new KindDriver(model, { kubectl: k.kubectl, docker: docker().run, pollMs: 1, timeoutMs: 20 });
    await expect(d.kill("chat-a")).rejects.toThrow(
      /timed out after 20 ms waiting for chat-a's chat container to restart/,
    );
  });
});

describe("reading kubectl's answers", () => {
  it("finds a pod's node and chat container id", () => {
    expect(parseContainer(podJson("chat-a", 2))).toEqual({ node: "chat-worker2", id: "abc2", restarts: 2 });
  });

  it("reads readiness and termination, and ignores finished pods", () => {
    const json = JSON.stringify({
      items: [pod("a", true), pod("b", false, true), { metadata: { name: "c" }, status: { phase: "Failed" } }],
    });
    expect(parsePods(json)).toEqual([
      { name: "a", ready: true, terminating: false },
      { name: "b", ready: false, terminating: true },
    ]);
  });

  it("turns two looks at the pods into timeline events", () => {
    const t = new ClusterLog();
    diffPods(
      [
        { name: "a", ready: true, terminating: false },
        { name: "b", ready: true, terminating: false },
      ],
      [
        { name: "b", ready: false, terminating: true },
        { name: "c", ready: true, terminating: false },
      ],
      t,
    );
    expect(t.events.map((e) => `${e.type} ${e.pod}`)).toEqual([
      "pod-unready b",
      "pod-terminating b",
      "pod-created c",
      "pod-ready c",
      "pod-exited a",
    ]);
  });
});

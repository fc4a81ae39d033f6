/**
 * The kind driver cannot run on a machine without a container engine, so its contract is
 * checked here: the exact kubectl commands each operation runs, and how kubectl's JSON is read.
 */

import { ClusterLog } from "@chat/rig";
import { describe, expect, it } from "vitest";
import { diffPods, KindDriver, type Kubectl, parsePods } from "./kind-driver.js";

const pod = (name: string, ready: boolean, terminating = false) => ({
  metadata: { name, ...(terminating ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}) },
  status: { phase: "Running", conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
});
const podList = (...items: ReturnType<typeof pod>[]) => JSON.stringify({ items });

/** A fake kubectl: records every call and answers `get pods` from a script of pod lists. */
function fakeKubectl(podLists: string[], hpa = { spec: { minReplicas: 3, maxReplicas: 12 } }) {
  const calls: string[][] = [];
  let i = 0;
  const kubectl: Kubectl = async (args) => {
    calls.push(args);
    const rest = args.slice(4).join(" ");
    if (rest.startsWith("get pods")) return podLists[Math.min(i++, podLists.length - 1)] ?? podList();
    if (rest.startsWith("get hpa/chat")) return JSON.stringify(hpa);
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
const driver = (k: Kubectl) => new KindDriver(model, { kubectl: k, pollMs: 1, timeoutMs: 5000 });

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

  it("kill: force-deletes with no grace, then waits for a ready replacement", async () => {
    const k = fakeKubectl([
      three,
      podList(pod("chat-b", true), pod("chat-c", true), pod("chat-g", false)),
      podList(pod("chat-b", true), pod("chat-c", true), pod("chat-g", true)),
    ]);
    await driver(k.kubectl).kill("chat-a");
    expect(k.commands()).toContain("delete pod chat-a --grace-period=0 --force");
    expect(k.commands().filter((c) => c.startsWith("get pods"))).toHaveLength(3);
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
    const k = fakeKubectl([three, podList(pod("chat-b", true), pod("chat-c", true))]);
    const d = new KindDriver(model, { kubectl: k.kubectl, pollMs: 1, timeoutMs: 20 });
    await expect(d.kill("chat-a")).rejects.toThrow(/timed out after 20 ms waiting for a replacement for chat-a/);
  });
});

describe("reading kubectl's answers", () => {
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

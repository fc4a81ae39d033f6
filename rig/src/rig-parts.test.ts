import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireBinary } from "@chat/testkit";
import { describe, expect, it } from "vitest";
import { containerArgv, IMAGE_CMD, mapWorkingDir } from "./artifact.js";
import { type ClusterEvent, ClusterLog } from "./cluster-log.js";
import { DeploymentController, deletionOrder } from "./controllers.js";
import { renderConfig, TEMPLATE } from "./haproxy.js";
import {
  type DeploymentModel,
  loadDeployment,
  parseDeployment,
  preStopDelayMs,
  resolveRollingUpdate,
} from "./manifest.js";
import { applyOverrides, FAST } from "./overrides.js";
import type { RigPod } from "./pod.js";

const FIXTURE = `
apiVersion: v1
kind: ConfigMap
metadata: { name: cfg-abc }
data: { PORT: "8080", ADMIN_PORT: "9090", DRAIN_WINDOW_MS: "10000", HANDOVER_TIMEOUT_MS: "5000", SHUTDOWN_TIMEOUT_MS: "25000" }
---
apiVersion: v1
kind: Secret
metadata: { name: sec-abc }
data: { SESSION_SECRET: ${Buffer.from("a-dev-secret-of-some-length").toString("base64")} }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: chat, namespace: chat }
spec:
  replicas: 4
  minReadySeconds: 7
  selector: { matchLabels: { app: chat } }
  strategy: { type: RollingUpdate, rollingUpdate: { maxSurge: 25%, maxUnavailable: 0 } }
  template:
    spec:
      terminationGracePeriodSeconds: 40
      containers:
        - name: chat
          ports: [{ name: http, containerPort: 8080 }, { name: admin, containerPort: 9090 }]
          envFrom: [{ configMapRef: { name: cfg-abc } }]
          env:
            - { name: POD_NAME, valueFrom: { fieldRef: { fieldPath: metadata.name } } }
            - { name: SESSION_SECRET, valueFrom: { secretKeyRef: { name: sec-abc, key: SESSION_SECRET } } }
            - { name: DRAIN_WINDOW_MS, value: "8000" }
          readinessProbe: { httpGet: { path: /readyz, port: http }, periodSeconds: 5, failureThreshold: 2 }
          livenessProbe: { httpGet: { path: /livez, port: 8080 } }
          lifecycle: { preStop: { httpGet: { path: "/drain?delay_ms=5000", port: admin } } }
`;

describe("reading the Deployment", () => {
  it("takes replicas, strategy, probes, preStop, grace and env from the rendered YAML, with Kubernetes' defaults", () => {
    const m = parseDeployment(FIXTURE);
    expect(m).toMatchObject({
      name: "chat",
      namespace: "chat",
      selector: { app: "chat" },
      replicas: 4,
      maxSurge: "25%",
      maxUnavailable: 0,
      minReadyMs: 7000,
      graceMs: 40_000,
      startupProbe: undefined,
      readinessProbe: {
        path: "/readyz",
        port: "public",
        periodMs: 5000,
        timeoutMs: 1000,
        failureThreshold: 2,
        successThreshold: 1,
      },
      livenessProbe: { path: "/livez", port: "public", periodMs: 10_000, failureThreshold: 3 },
      preStop: { path: "/drain?delay_ms=5000", port: "admin" },
      fieldEnv: { POD_NAME: "metadata.name" },
    });
    // env entries win over envFrom, as in the kubelet; secrets are decoded.
    expect(m.env).toMatchObject({
      DRAIN_WINDOW_MS: "8000",
      SESSION_SECRET: "a-dev-secret-of-some-length",
      PORT: "8080",
    });
    expect(preStopDelayMs(m.preStop)).toBe(5000);
  });

  it("says what it cannot model instead of guessing", () => {
    expect(() =>
      parseDeployment(FIXTURE.replace("httpGet: { path: /livez, port: 8080 }", "exec: { command: [true] }")),
    ).toThrow(/livenessProbe is not an httpGet/);
    expect(() => parseDeployment(FIXTURE.replace("port: admin } } }", "port: 1234 } } }"))).toThrow(
      /neither PORT nor ADMIN_PORT/,
    );
    expect(() => parseDeployment(FIXTURE, "nope")).toThrow(/no Deployment named 'nope'/);
  });

  it("resolves rolling-update percentages like the Deployment controller", () => {
    expect(resolveRollingUpdate(4, "25%", 0)).toEqual({ maxSurge: 1, maxUnavailable: 0 });
    expect(resolveRollingUpdate(3, "25%", "25%")).toEqual({ maxSurge: 1, maxUnavailable: 0 });
    expect(resolveRollingUpdate(10, "25%", "25%")).toEqual({ maxSurge: 3, maxUnavailable: 2 });
    expect(resolveRollingUpdate(3, 0, 0)).toEqual({ maxSurge: 0, maxUnavailable: 1 });
  });

  it("reads the real overlay (kubectl kustomize k8s/overlays/kind)", async () => {
    const m = await loadDeployment();
    expect(m.source).toBe("kubectl kustomize k8s/overlays/kind");
    expect(m.readinessProbe?.path).toBe("/readyz");
    expect(m.preStop?.port).toBe("admin");
    expect(m.env.SESSION_SECRET?.length).toBeGreaterThanOrEqual(16);
    expect(m.fieldEnv.POD_NAME).toBe("metadata.name");
    expect(Number(m.env.SHUTDOWN_TIMEOUT_MS)).toBeGreaterThan(0);
    // How the container starts, and as whom: what the rig's pods run.
    expect(m).toMatchObject({ command: IMAGE_CMD, workingDir: "/app", runAsUser: 10001, runAsGroup: 10001 });
  });

  it("starts the container as Kubernetes does: command replaces the image's CMD, args alone replace it too", () => {
    expect(parseDeployment(FIXTURE)).toMatchObject({ command: undefined, args: undefined, workingDir: undefined });
    expect(containerArgv(undefined, undefined)).toEqual(IMAGE_CMD);
    expect(containerArgv(["node", "x.js"], ["--a"])).toEqual(["node", "x.js", "--a"]);
    expect(containerArgv(undefined, ["node", "y.js"])).toEqual(["node", "y.js"]);
    expect(() => parseDeployment(FIXTURE.replace("- name: chat\n", "- name: chat\n          command: node\n"))).toThrow(
      /command must be a list of strings/,
    );
  });

  it("maps the image's WORKDIR (/app) to the artifact's root and refuses directories outside it", () => {
    expect(mapWorkingDir("/tmp/a", undefined)).toBe("/tmp/a");
    expect(mapWorkingDir("/tmp/a", "/app")).toBe("/tmp/a");
    expect(mapWorkingDir("/tmp/a", "/app/server")).toBe("/tmp/a/server");
    expect(() => mapWorkingDir("/tmp/a", "/srv")).toThrow(/outside the image's \/app/);
  });
});

describe("overrides", () => {
  it("lists every departure from the manifests and keeps their invariants", () => {
    const { model, applied } = applyOverrides(parseDeployment(FIXTURE), FAST);
    expect(model.preStop?.path).toBe("/drain?delay_ms=500");
    expect(model.readinessProbe?.periodMs).toBe(500);
    expect(model.env.SHUTDOWN_TIMEOUT_MS).toBe("6000");
    expect(applied).toContainEqual({ field: "terminationGracePeriodSeconds", manifest: 40, rig: 10 });
    expect(applied).toContainEqual({
      field: "preStop.httpGet.path",
      manifest: "/drain?delay_ms=5000",
      rig: "/drain?delay_ms=500",
    });
    expect(applied).toContainEqual({ field: "env.DRAIN_WINDOW_MS", manifest: "8000", rig: "2000" });
  });

  it("refuses overrides that break the manifests' own rules", () => {
    const m = parseDeployment(FIXTURE);
    expect(() => applyOverrides(m, { env: { SHUTDOWN_TIMEOUT_MS: "9000" } })).toThrow(/must exceed DRAIN_WINDOW_MS/);
    expect(() => applyOverrides(m, { terminationGracePeriodSeconds: 20 })).toThrow(/must cover the preStop delay/);
  });
});

describe("HAProxy config from haproxy/haproxy.cfg", () => {
  const render = () =>
    renderConfig(readFileSync(TEMPLATE, "utf8"), { bindPort: 18080, socketPath: "/tmp/x.sock", slots: 4 });

  it("keeps the template's affinity, timeouts, redispatch and retries, and replaces only the servers", () => {
    const cfg = render();
    for (const line of [
      /cookie SERVERID insert indirect nocache/,
      /timeout tunnel 1h/,
      /option redispatch/,
      /retry-on conn-failure empty-response 503/,
      /balance leastconn/,
    ]) {
      expect(cfg).toMatch(line);
    }
    expect(cfg).toMatch(/bind 127\.0\.0\.1:18080/);
    expect(cfg).not.toMatch(/bind :8080/);
    expect(cfg).toMatch(/stats socket \/tmp\/x\.sock mode 600 level admin expose-fd listeners/);
    expect(cfg).not.toMatch(/server chat-1 /);
    expect(cfg.match(/^\s*server slot-\d\d 127\.0\.0\.1:1 cookie slot-\d\d disabled no-check$/gm)).toHaveLength(4);
    expect(cfg).toMatch(/no option persist/);
  });

  it("is a config haproxy accepts (haproxy -c)", () => {
    const haproxy = requireBinary("haproxy", "haproxy");
    const dir = mkdtempSync(join(tmpdir(), "rig-cfg-"));
    try {
      writeFileSync(join(dir, "h.cfg"), render().replace("/tmp/x.sock", join(dir, "s.sock")));
      const out = execFileSync(haproxy, ["-c", "-f", join(dir, "h.cfg")], { encoding: "utf8", stdio: "pipe" });
      expect(out).toMatch(/Configuration file is valid/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Pods that do what the test says, when it says: the controller's decisions, step by step. */
class FakePod {
  phase: RigPod["phase"] = "starting";
  started = false;
  ready = false;
  readySince: number | undefined;
  deleting = false;
  readonly createdAt = Date.now() + Math.random();
  constructor(
    readonly name: string,
    readonly revision: string,
  ) {}
  available() {
    return this.ready && !this.deleting;
  }
  async start() {
    this.phase = "running";
  }
  async terminate() {
    this.deleting = true;
    this.phase = "terminating";
  }
  kill() {
    this.deleting = true;
    this.phase = "exited";
  }
  up() {
    void this.start();
    this.becomeReady();
  }
  becomeReady() {
    this.started = true;
    this.ready = true;
    this.readySince = Date.now();
  }
}

const model = (
  replicas: number,
  maxSurge: DeploymentModel["maxSurge"],
  maxUnavailable: DeploymentModel["maxUnavailable"],
) => ({ ...parseDeployment(FIXTURE), replicas, maxSurge, maxUnavailable, minReadyMs: 0 }) as DeploymentModel;

function simulateRollout(m: DeploymentModel) {
  const pods: FakePod[] = [];
  const c = new DeploymentController(
    m,
    (name, rev) => {
      const p = new FakePod(name, rev);
      pods.push(p);
      return p as unknown as RigPod;
    },
    new ClusterLog(),
  );
  c.reconcile();
  for (const p of pods) p.up();
  c.reconcile();
  expect(c.settled()).toBe(true);

  const seen = { maxRunning: 0, minAvailable: Number.POSITIVE_INFINITY, steps: 0 };
  c.restart();
  while (!c.settled() && seen.steps++ < 100) {
    const active = pods.filter((p) => !p.deleting && p.phase !== "exited");
    seen.maxRunning = Math.max(seen.maxRunning, active.length);
    seen.minAvailable = Math.min(seen.minAvailable, active.filter((p) => p.available()).length);
    // One thing happens per step: a new pod becomes ready, or a terminating pod exits.
    const next = pods.find((p) => p.phase === "starting") ?? pods.find((p) => !p.ready && !p.deleting);
    const leaving = pods.find((p) => p.phase === "terminating");
    if (next) {
      void next.start();
      next.becomeReady();
    } else if (leaving) leaving.phase = "exited";
    c.reconcile();
  }
  return { pods, c, seen };
}

describe("Deployment controller", () => {
  it("rolls 3 pods with maxSurge 1 / maxUnavailable 0: never fewer than 3 available, never more than 4 running", () => {
    const { c, seen, pods } = simulateRollout(model(3, 1, 0));
    expect(c.settled()).toBe(true);
    expect(seen).toMatchObject({ maxRunning: 4, minAvailable: 3 });
    expect(pods).toHaveLength(6);
  });

  it("rolls 10 pods with 25% / 25%: at most 13 running, at least 8 available", () => {
    const { c, seen } = simulateRollout(model(10, "25%", "25%"));
    expect(c.settled()).toBe(true);
    expect(seen.maxRunning).toBeLessThanOrEqual(13);
    expect(seen.minAvailable).toBeGreaterThanOrEqual(8);
  });

  it("replaces a pod that dies, and scales down unready pods first, then the most recently ready", () => {
    const pods: FakePod[] = [];
    const c = new DeploymentController(
      model(3, 1, 0),
      (name, rev) => {
        const p = new FakePod(name, rev);
        pods.push(p);
        return p as unknown as RigPod;
      },
      new ClusterLog(),
    );
    c.reconcile();
    for (const p of pods) p.up();
    pods[0]?.kill();
    c.reconcile();
    expect(pods).toHaveLength(4);
    const [a, b] = [pods[1] as FakePod, pods[2] as FakePod];
    b.readySince = (a.readySince ?? 0) + 1000;
    c.scale(1);
    // The replacement is not ready: it goes first; then the most recently ready of the others.
    expect(pods[3]?.deleting).toBe(true);
    expect(b.deleting).toBe(true);
    expect(a.deleting).toBe(false);
    expect([a, b].sort((x, y) => deletionOrder(x as unknown as RigPod, y as unknown as RigPod))[0]).toBe(b);
  });
});

describe("cluster chart", () => {
  it("draws pods, endpoints, operations and clients in the window, and escapes text", async () => {
    const { renderChart } = await import("./chart.js");
    const t0 = 1_000_000;
    const ev = (
      dt: number,
      type: ClusterEvent["type"],
      pod?: string,
      detail?: Record<string, unknown>,
    ): ClusterEvent => ({
      t: t0 + dt,
      type,
      ...(pod ? { pod } : {}),
      ...(detail ? { detail } : {}),
    });
    const svg = renderChart({
      title: "a <rollout> & more",
      events: [
        ev(-5000, "redis-stopped"),
        ev(-4000, "redis-started"),
        ev(0, "pod-created", "chat-a"),
        ev(500, "pod-ready", "chat-a"),
        ev(510, "endpoint-added", "chat-a"),
        ev(1000, "operation-started", undefined, { op: "rollout" }),
        ev(2000, "pod-terminating", "chat-a"),
        ev(2001, "endpoint-removed", "chat-a"),
        ev(2002, "prestop", "chat-a"),
        ev(2600, "sigterm", "chat-a"),
        ev(3000, "pod-exited", "chat-a", { code: 0 }),
        ev(3100, "operation-finished", undefined, { op: "rollout" }),
      ],
      clients: [{ name: "Ada", sends: [t0 + 1500], down: [[t0 + 2100, t0 + 2200]] }],
      from: t0 - 100,
      to: t0 + 4000,
    });
    expect(svg).toMatch(/^<svg /);
    expect(svg).toContain("a &lt;rollout&gt; &amp; more");
    expect(svg).toContain("chat-a");
    expect(svg).toContain("exit 0");
    expect(svg).toContain(">rollout<");
    expect(svg).toContain("disconnected 100 ms");
    expect(svg).not.toContain(">redis<"); // the outage is outside the window
  });
});

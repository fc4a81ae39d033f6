import { ENV_NAMES, loadConfig } from "@chat/server/config";
import type { IDeployment, IStatefulSet } from "kubernetes-models/apps/v1";
import type { ISecret } from "kubernetes-models/v1";
import { beforeAll, describe, expect, it } from "vitest";
import { splitExperimental } from "./support/experimental.js";
import { FieldChecker, schemaErrors } from "./support/models.js";
import { idOf } from "./support/objects.js";
import {
  adminPortViolations,
  autoscalingMetricNames,
  availabilityViolations,
  CHAT_CONTAINER,
  effectiveEnv,
  envDriftViolations,
  hardeningViolations,
  namespaceViolations,
  networkPolicyViolations,
  probeViolations,
  redisMemoryViolations,
  referenceViolations,
  routeViolations,
  shutdownViolations,
} from "./support/policy.js";
import {
  comboLabel,
  componentCombinations,
  kustomizeDirs,
  type Rendering,
  ROUTE_COMPONENTS,
  renderAll,
} from "./support/render.js";
import { serverMetricNames } from "./support/server.js";

// biome-ignore lint/suspicious/noExplicitAny: rendered objects are explored freely and asserted on
type Any = any;

/**
 * Renders every overlay and every valid combination of base + components with
 * `kubectl kustomize`, validates every object against its API schema, and checks the
 * platform rules on each rendering. Nothing here needs a cluster or the network.
 */

const combinations = componentCombinations();
const labels = [...kustomizeDirs("overlays").map((o) => `overlays/${o}`), ...combinations.map(comboLabel)];
const renders = new Map<string, Rendering>();
let fields: FieldChecker;

beforeAll(async () => {
  for (const r of await renderAll(combinations)) renders.set(r.label, r);
  fields = new FieldChecker([...renders.values()].flatMap((r) => r.objects));
});

const rendering = (label: string): Rendering => {
  const r = renders.get(label);
  if (!r) throw new Error(`${label} was not rendered`);
  return r;
};

describe("the set of renderings", () => {
  it("covers three overlays and every component", () => {
    expect(kustomizeDirs("overlays")).toEqual(["kind", "kind-gateway-api", "kind-ingress-nginx"]);
    const components = kustomizeDirs("components");
    for (const route of ROUTE_COMPONENTS) expect(components).toContain(route);
    for (const c of components) expect(combinations.some((combo) => combo.includes(c))).toBe(true);
    expect(renders.size).toBe(labels.length);
  });
});

describe.each(labels)("%s", (label) => {
  it("matches the Kubernetes API schemas (values and field names)", async () => {
    const problems: string[] = [];
    for (const obj of rendering(label).objects) {
      const { errors, rest } = splitExperimental(obj);
      const all = [...errors, ...(await schemaErrors(rest)), ...fields.unknownFields(rest)];
      problems.push(...all.map((e) => `${idOf(obj)}: ${e}`));
    }
    expect(problems).toEqual([]);
  });

  it("hardens every container (probes, resources, security context)", () => {
    expect(hardeningViolations(rendering(label).objects)).toEqual([]);
  });

  it("gives the drain its full grace period", () => {
    expect(shutdownViolations(rendering(label).objects)).toEqual([]);
  });

  it("sets only variables that the server reads", () => {
    expect(envDriftViolations(rendering(label).objects, ENV_NAMES)).toEqual([]);
  });

  it("has cookie affinity and long timeouts on every route", () => {
    expect(routeViolations(rendering(label).objects)).toEqual([]);
  });

  it("refers only to objects and ports that exist", () => {
    const { objects, overlay } = rendering(label);
    // Outside the overlays, the session Secret is created by the operator (docs/deploy.md).
    expect(referenceViolations(objects, overlay ? [] : ["chat-session"])).toEqual([]);
  });

  it("keeps the admin port private and capacity up during rollouts", () => {
    const { objects } = rendering(label);
    expect([...adminPortViolations(objects), ...availabilityViolations(objects)]).toEqual([]);
  });

  it("lets Redis refuse writes before its container limit, and restricts who reaches the pods", () => {
    const { objects } = rendering(label);
    expect([
      ...redisMemoryViolations(objects),
      ...networkPolicyViolations(objects),
      ...probeViolations(objects),
    ]).toEqual([]);
  });
});

describe("overlays", () => {
  it.each(kustomizeDirs("overlays"))("%s puts everything in the chat namespace, which it does not own", (overlay) => {
    const { objects } = rendering(`overlays/${overlay}`);
    // skaffold deletes what it deployed on exit: a Namespace among it would take the Redis claim along.
    expect(objects.filter((o) => o.kind === "Namespace")).toEqual([]);
    expect(namespaceViolations(objects, "chat")).toEqual([]);
  });

  it.each(kustomizeDirs("overlays"))("%s isolates the chat pods and keeps Redis off the drained workers", (overlay) => {
    const { objects } = rendering(`overlays/${overlay}`);
    expect(objects.filter((o) => o.kind === "NetworkPolicy").map(idOf)).toEqual([
      "NetworkPolicy/chat",
      "NetworkPolicy/chat-default-deny",
      "NetworkPolicy/redis",
    ]);
    const redis = objects.find((o) => o.kind === "StatefulSet" && o.metadata.name === "redis") as Any;
    expect(redis.spec.template.spec.nodeSelector).toEqual({ "node-role.kubernetes.io/control-plane": "" });
    expect(redis.spec.template.spec.tolerations).toContainEqual(
      expect.objectContaining({ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }),
    );
  });

  it.each(kustomizeDirs("overlays"))("%s has no autoscaler (kind serves no metrics to scale on)", (overlay) => {
    const kinds = rendering(`overlays/${overlay}`).objects.map((o) => o.kind);
    expect(kinds).not.toContain("HorizontalPodAutoscaler");
    expect(kinds).not.toContain("ScaledObject");
  });

  it.each(kustomizeDirs("overlays"))("%s gives the server a configuration it accepts", (overlay) => {
    const { objects } = rendering(`overlays/${overlay}`);
    const deployment = objects.find(
      (o) => o.kind === "Deployment" && o.metadata.name === "chat",
    ) as unknown as IDeployment;
    const container = deployment.spec?.template.spec?.containers.find((c) => c.name === CHAT_CONTAINER);
    if (!container) throw new Error("no chat container");
    const env: Record<string, string | undefined> = {};
    for (const [name, { value }] of effectiveEnv(objects, container)) env[name] = value;
    // What the kubelet resolves at run time: the downward API and the Secret's key.
    env.POD_NAME = "chat-0";
    for (const e of container.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      if (!ref) continue;
      const secret = objects.find((o) => o.kind === "Secret" && o.metadata.name === ref.name) as unknown as ISecret;
      const data = secret?.data?.[ref.key];
      env[e.name] = data === undefined ? undefined : Buffer.from(data, "base64").toString("utf8");
    }
    const config = loadConfig(env);
    expect(config.REDIS_URL).toBe("redis://redis-0.redis:6379");
    expect(config.SESSION_SECRET.length).toBeGreaterThanOrEqual(16);
  });

  it("each route to the chat exists in exactly one overlay", () => {
    const routes = (o: string) =>
      rendering(`overlays/${o}`)
        .objects.filter((x) => x.kind === "Ingress" || x.kind === "HTTPRoute")
        .map((x) => `${idOf(x)}`);
    expect(routes("kind")).toEqual(["Ingress/chat"]);
    expect(routes("kind-ingress-nginx")).toEqual(["Ingress/chat"]);
    expect(routes("kind-gateway-api")).toEqual(["HTTPRoute/chat"]);
  });
});

describe("redis-sentinel", () => {
  it("switches the chat to the Sentinels of its own StatefulSet, and the server accepts that", () => {
    const { objects } = rendering(comboLabel(["redis-sentinel"]));
    const deployment = objects.find(
      (o) => o.kind === "Deployment" && o.metadata.name === "chat",
    ) as unknown as IDeployment;
    const container = deployment.spec?.template.spec?.containers.find((c) => c.name === CHAT_CONTAINER);
    if (!container) throw new Error("no chat container");
    const env = Object.fromEntries([...effectiveEnv(objects, container)].map(([k, { value }]) => [k, value]));
    const config = loadConfig({ ...env, POD_NAME: "chat-0", SESSION_SECRET: "x".repeat(32) });
    expect(config).toMatchObject({ mode: "sentinel", REDIS_SENTINEL_MASTER: "mymaster", REDIS_MIN_REPLICAS_ACK: 1 });
    const sts = objects.find(
      (o) => o.kind === "StatefulSet" && o.metadata.name === "redis-ha",
    ) as unknown as IStatefulSet;
    expect(sts.spec?.replicas).toBe(3);
    // Every Sentinel the chat lists is a pod of that StatefulSet behind its headless Service.
    for (const [i, hostPort] of config.REDIS_SENTINELS.entries()) expect(hostPort).toBe(`redis-ha-${i}.redis-ha:26379`);
    expect(objects.some((o) => o.kind === "StatefulSet" && o.metadata.name === "redis")).toBe(false);
  });
});

describe("autoscaling", () => {
  it("scales on a metric that the server actually exports", () => {
    const exported = serverMetricNames();
    expect(autoscalingMetricNames(rendering(comboLabel([])).objects)).toEqual([]);
    const used = [
      ...autoscalingMetricNames(rendering(comboLabel(["autoscaling-hpa"])).objects),
      ...autoscalingMetricNames(rendering(comboLabel(["autoscaling-connections"])).objects),
    ];
    expect(used).toContain("chat_connected_sockets");
    for (const name of used) expect(exported, `${name} is not registered in server/src`).toContain(name);
  });

  it("adds exactly one autoscaler per component: an HPA, or a KEDA ScaledObject", () => {
    const kinds = (c: string) => rendering(comboLabel([c])).objects.map((o) => o.kind);
    expect(kinds("autoscaling-connections")).toContain("ScaledObject");
    expect(kinds("autoscaling-connections")).not.toContain("HorizontalPodAutoscaler");
    expect(kinds("autoscaling-hpa")).toContain("HorizontalPodAutoscaler");
    expect(kinds("autoscaling-hpa")).not.toContain("ScaledObject");
  });
});

describe("tls", () => {
  it.each(["traefik", "ingress-nginx"])("serves the %s Ingress on HTTPS with a secure affinity cookie", (route) => {
    const { objects } = rendering(comboLabel([route, "tls"]));
    const ingress = objects.find((o) => o.kind === "Ingress") as Any;
    expect(ingress.spec.tls).toEqual([{ hosts: ["chat.example.com"], secretName: "chat-tls" }]);
    expect(ingress.spec.rules[0].host).toBe("chat.example.com");
    const cert = objects.find((o) => o.kind === "Certificate") as Any;
    expect(cert.spec.secretName).toBe("chat-tls");
    expect(cert.spec.dnsNames).toEqual(ingress.spec.tls[0].hosts);
    // The cookie checks themselves are in routeViolations (run on every rendering above).
    expect(routeViolations(objects)).toEqual([]);
  });
});

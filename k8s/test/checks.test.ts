import { ENV_NAMES } from "@chat/server/config";
import { beforeAll, describe, expect, it } from "vitest";
import { sessionPersistenceErrors, splitExperimental } from "./support/experimental.js";
import { FieldChecker, schemaErrors } from "./support/models.js";
import { type K8sObject, parseObjects } from "./support/objects.js";
import { K8S_DIR } from "./support/paths.js";
import {
  adminPortViolations,
  availabilityViolations,
  envDriftViolations,
  hardeningViolations,
  networkPolicyViolations,
  parseGatewayDuration,
  probeViolations,
  quantityBytes,
  redisBytes,
  redisMemoryViolations,
  referenceViolations,
  routeViolations,
  shutdownViolations,
} from "./support/policy.js";
import { kustomize } from "./support/tools.js";

/**
 * The checks of manifests.test.ts must be able to fail. Each test here breaks one property of
 * a real rendering and expects the matching check to report it.
 */

// Loosely typed on purpose: the tests reach into rendered objects to break them.
// biome-ignore lint/suspicious/noExplicitAny: test fixtures are mutated freely
type Any = any;
const overlays: Record<string, K8sObject[]> = {};
let fields: FieldChecker;

beforeAll(async () => {
  for (const o of ["kind", "kind-ingress-nginx", "kind-gateway-api"]) {
    overlays[o] = parseObjects(await kustomize(`${K8S_DIR}/overlays/${o}`), o);
  }
  fields = new FieldChecker(Object.values(overlays).flat());
});

/** A deep copy of an overlay's objects, and quick access to the parts the tests break. */
function fixture(overlay = "kind") {
  const objects = structuredClone(overlays[overlay]) as K8sObject[];
  const find = (kind: string, prefix = "") =>
    objects.find((o) => o.kind === kind && o.metadata.name.startsWith(prefix)) as Any;
  const deployment = find("Deployment", "chat");
  return {
    objects,
    find,
    deployment,
    pod: deployment.spec.template.spec,
    container: deployment.spec.template.spec.containers[0],
    config: find("ConfigMap", "chat-config").data as Record<string, string>,
  };
}

describe("schema validation", () => {
  it("reports misspelt fields and malformed values", async () => {
    const { container, deployment } = fixture();
    container.readinessProbes = container.readinessProbe;
    container.resources.limits.memory = "512 MB";
    deployment.spec.strategy.rollingUpdate.maxSurgee = 1;
    expect(fields.unknownFields(deployment)).toEqual([
      "spec.strategy.rollingUpdate.maxSurgee: unknown field",
      "spec.template.spec.containers[0].readinessProbes: unknown field",
    ]);
    expect((await schemaErrors(deployment)).join("\n")).toMatch(/limits\/memory must match format "quantity"/);
  });

  it("accepts free-form maps (labels, annotations) but not unknown kinds", async () => {
    const { deployment } = fixture();
    deployment.metadata.labels["example.com/anything"] = "ok";
    expect(fields.unknownFields(deployment)).toEqual([]);
    expect(await schemaErrors({ ...deployment, kind: "Deploymnet" })).toEqual([
      "kubernetes-models/apps/v1 has no schema for kind Deploymnet",
    ]);
  });

  it("checks HTTPRoute sessionPersistence against the experimental-channel schema", () => {
    expect(sessionPersistenceErrors({ type: "Cookie", sessionName: "SERVERID" }, "sp")).toEqual([]);
    expect(
      sessionPersistenceErrors({ type: "cookie", cookieConfig: { lifetimeType: "Permanent" }, ttl: 1 }, "sp"),
    ).toEqual([
      "sp.ttl: unknown field",
      "sp.type: Cookie or Header",
      "sp: absoluteTimeout is required when cookieConfig.lifetimeType is Permanent",
    ]);
    const route = fixture("kind-gateway-api").find("HTTPRoute");
    const { errors, rest } = splitExperimental(route);
    expect(errors).toEqual([]);
    expect(JSON.stringify(rest)).not.toContain("sessionPersistence");
  });
});

describe("policy checks catch what they are for", () => {
  it("hardening: probes, resources, security context, service account token", () => {
    const { objects, pod, container, find } = fixture();
    delete container.readinessProbe;
    delete container.resources.limits.memory;
    container.securityContext.readOnlyRootFilesystem = false;
    container.securityContext.capabilities.drop = [];
    delete pod.automountServiceAccountToken;
    find("ServiceAccount").automountServiceAccountToken = true;
    expect(hardeningViolations(objects)).toEqual([
      "Deployment/chat: mounts a service account token (set automountServiceAccountToken: false)",
      "Deployment/chat container chat: no readinessProbe",
      "Deployment/chat container chat: no memory limit",
      "Deployment/chat container chat: readOnlyRootFilesystem is not true",
      "Deployment/chat container chat: capabilities do not drop ALL",
    ]);
  });

  it("shutdown: grace period, drain budget and preStop hook", () => {
    const short = fixture();
    short.pod.terminationGracePeriodSeconds = 30;
    expect(shutdownViolations(short.objects)).toEqual([
      "Deployment/chat: terminationGracePeriodSeconds 30 < preStop delay 5000 ms + SHUTDOWN_TIMEOUT_MS 25000 ms + 5 s margin (35 s)",
    ]);
    const budget = fixture();
    budget.config.SHUTDOWN_TIMEOUT_MS = "15000";
    expect(shutdownViolations(budget.objects)[0]).toMatch(/SHUTDOWN_TIMEOUT_MS \(15000\) must exceed .* \(15000\)/);
    const hook = fixture();
    hook.container.lifecycle.preStop.httpGet.path = "/drain";
    expect(shutdownViolations(hook.objects)).toEqual([
      "Deployment/chat: preStop must be an httpGet of /drain?delay_ms=<ms>",
    ]);
    const implicit = fixture();
    delete implicit.config.HANDOVER_TIMEOUT_MS;
    expect(shutdownViolations(implicit.objects)[0]).toMatch(/HANDOVER_TIMEOUT_MS is not set explicitly/);
  });

  it("env drift: variables the server does not read", () => {
    const { objects, container, config } = fixture();
    container.env.push({ name: "NODE_OPTIONS", value: "--max-old-space-size=400" });
    config.PING_INTERVAL = "25000";
    expect(envDriftViolations(objects, ENV_NAMES)).toEqual([
      expect.stringMatching(
        /sets PING_INTERVAL \(from ConfigMap chat-config-.*\), which server\/src\/config.ts does not read/,
      ),
      "Deployment/chat: sets NODE_OPTIONS (from env), which server/src/config.ts does not read",
    ]);
  });

  it("routes: affinity and timeouts for ingress-nginx, Traefik and the Gateway API", () => {
    const nginx = fixture("kind-ingress-nginx");
    const a = nginx.find("Ingress").metadata.annotations;
    delete a["nginx.ingress.kubernetes.io/affinity"];
    a["nginx.ingress.kubernetes.io/proxy-read-timeout"] = "60";
    a["nginx.ingress.kubernetes.io/proxy-set-headers"] = "true";
    expect(routeViolations(nginx.objects)).toEqual([
      "Ingress/chat: no cookie affinity (nginx.ingress.kubernetes.io/affinity: cookie)",
      "Ingress/chat: proxy-read-timeout 60 s is not >= 90 s",
      'Ingress/chat: proxy-set-headers "true" does nothing (it names a ConfigMap)',
    ]);
    const traefik = fixture("kind");
    delete traefik.find("Service", "chat").metadata.annotations["traefik.ingress.kubernetes.io/service.sticky.cookie"];
    expect(routeViolations(traefik.objects)).toEqual([
      'Ingress/chat: Service chat lacks traefik.ingress.kubernetes.io/service.sticky.cookie: "true"',
    ]);
    const gateway = fixture("kind-gateway-api");
    const rule = gateway.find("HTTPRoute").spec.rules[0];
    delete rule.sessionPersistence;
    rule.timeouts.request = "30s";
    expect(routeViolations(gateway.objects)).toEqual([
      "HTTPRoute/chat rule 0: no cookie sessionPersistence",
      "HTTPRoute/chat rule 0: timeouts.request 30s is not >= 90 s (or 0s)",
    ]);
    expect(parseGatewayDuration("1h30m")).toBe(5_400_000);
    expect(() => parseGatewayDuration("1 hour")).toThrow();
  });

  it("references: missing objects and ports", () => {
    const { objects, container, find } = fixture();
    container.envFrom[0].configMapRef.name = "chat-settings";
    find("Service", "chat").spec.ports[0].targetPort = "web";
    find("Ingress", "chat").spec.rules[0].http.paths[0].backend.service.port.name = "web";
    const secret = objects.findIndex((o) => o.kind === "Secret");
    objects.splice(secret, 1);
    expect(referenceViolations(objects)).toEqual([
      "Deployment/chat: ConfigMap chat-settings is missing",
      expect.stringMatching(/^Deployment\/chat: Secret chat-session-\w+ \(for SESSION_SECRET\) is missing$/),
      "Service/chat: targetPort web is not a port of the selected pods",
      "Ingress/chat: backend chat:web does not exist",
    ]);
  });

  it("admin port: never behind a Service; preStop uses it", () => {
    const { objects, find, container } = fixture();
    find("Service", "chat").spec.ports.push({ name: "admin", port: 9090, targetPort: "admin" });
    expect(adminPortViolations(objects)).toEqual(["Service/chat: exposes the admin port (admin)"]);
    container.lifecycle.preStop.httpGet.port = "http";
    expect(adminPortViolations(objects)).toEqual(["preStop /drain must use the admin port, not http"]);
  });

  it("availability: make-before-break rollouts, a PDB that never evicts everything, one autoscaler", () => {
    const { objects, deployment, find } = fixture();
    deployment.spec.strategy.rollingUpdate.maxUnavailable = 1;
    find("PodDisruptionBudget").spec.unhealthyPodEvictionPolicy = "AlwaysAllow";
    const hpa = (name: string) => ({
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      metadata: { name },
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "chat" },
        minReplicas: 3,
        maxReplicas: 6,
      },
    });
    objects.push(hpa("chat"), hpa("chat-2"));
    expect(availabilityViolations(objects)).toEqual([
      "Deployment/chat: needs RollingUpdate with maxUnavailable 0 and maxSurge >= 1 (make before break)",
      "PDB/chat: unhealthyPodEvictionPolicy AlwaysAllow (use IfHealthyBudget)",
      "Deployment/chat: 2 autoscalers fight over it",
    ]);
  });

  it("redis memory: maxmemory set, noeviction, and below the container limit with headroom", () => {
    expect(redisBytes("600mb")).toBe(600 * 1024 ** 2);
    expect(redisBytes("1g")).toBe(1e9);
    expect(quantityBytes("1Gi")).toBe(1024 ** 3);
    const conf = (f: ReturnType<typeof fixture>) => f.find("ConfigMap", "redis-config").data;
    const none = fixture();
    conf(none)["redis.conf"] = conf(none)["redis.conf"].replace(/^maxmemory .*$/m, "");
    expect(redisMemoryViolations(none.objects)).toEqual([
      "StatefulSet/redis: redis.conf sets no maxmemory: noeviction never applies, the kernel OOM-kills Redis first",
    ]);
    const tight = fixture();
    conf(tight)["redis.conf"] = conf(tight)["redis.conf"].replace(/^maxmemory .*$/m, "maxmemory 900mb");
    conf(tight)["redis.conf"] = conf(tight)["redis.conf"].replace(
      /^maxmemory-policy .*$/m,
      "maxmemory-policy allkeys-lru",
    );
    expect(redisMemoryViolations(tight.objects)).toEqual([
      "StatefulSet/redis: maxmemory-policy is not noeviction",
      "StatefulSet/redis: maxmemory 900mb is 88% of the 1Gi limit (at most 60%: AOF rewrite needs headroom)",
    ]);
  });

  it("network policies: default deny, http from the ingress only, /drain from Prometheus only, DNS and Redis out", () => {
    const open = fixture();
    const allow = open.find("NetworkPolicy", "chat");
    // The admin port for a whole namespace, http for every pod of this one, a rule without ports.
    delete allow.spec.ingress[1].from[0].podSelector;
    allow.spec.ingress[0].from = [{ podSelector: {} }];
    allow.spec.ingress.push({ from: [{ ipBlock: { cidr: "0.0.0.0/0" } }] });
    allow.spec.egress = [];
    open.objects.splice(open.objects.indexOf(open.find("NetworkPolicy", "chat-default-deny")), 1);
    allow.spec.policyTypes = ["Ingress"];
    expect(networkPolicyViolations(open.objects)).toEqual([
      "chat pods: no NetworkPolicy isolates them for both Ingress and Egress (default deny)",
      "NetworkPolicy/chat ingress rule 0: admits pods of this namespace",
      "NetworkPolicy/chat ingress rule 1: admits every pod of a namespace to the admin port (/drain)",
      "NetworkPolicy/chat ingress rule 2: admits every port (name the ports)",
      "chat pods: egress to DNS (UDP 53) is not allowed",
      "chat pods: egress to Redis (TCP 6379) is not allowed",
    ]);
    const mixed = fixture();
    const rules = mixed.find("NetworkPolicy", "chat").spec.ingress;
    rules[0].ports.push({ port: "admin", protocol: "TCP" });
    rules[0].from.push({ namespaceSelector: {} });
    expect(networkPolicyViolations(mixed.objects)).toEqual([
      "NetworkPolicy/chat ingress rule 0: admits the same sources to http and admin",
      "NetworkPolicy/chat ingress rule 0: admits every pod of a namespace to the admin port (/drain)",
      "NetworkPolicy/chat ingress rule 0: admits pods of every namespace",
    ]);
  });

  it("probes: no tcpSocket probe on a pod that a NetworkPolicy isolates", () => {
    const { objects, find } = fixture();
    const redis = find("StatefulSet", "redis").spec.template.spec.containers[0];
    redis.livenessProbe = { tcpSocket: { port: "redis" }, periodSeconds: 10 };
    expect(probeViolations(objects)).toEqual([
      "StatefulSet/redis container redis: livenessProbe is tcpSocket (use exec)",
    ]);
  });

  it("routes: the Traefik retry middleware exists in the Ingress's namespace; HTTPS means a secure cookie", () => {
    const traefik = fixture("kind");
    const ing = traefik.find("Ingress");
    ing.metadata.annotations["traefik.ingress.kubernetes.io/router.middlewares"] = "default-chat-retry@kubernetescrd";
    ing.spec.tls = [{ hosts: ["chat.example.com"], secretName: "chat-tls" }];
    expect(routeViolations(traefik.objects)).toEqual([
      "Ingress/chat: router.middlewares default-chat-retry@kubernetescrd names no Middleware of this rendering (<namespace>-<name>@kubernetescrd)",
      "Ingress/chat: has tls but is not routed on the websecure entry point",
      "Ingress/chat: has tls but Service chat's affinity cookie is not secure",
    ]);
    const nginx = fixture("kind-ingress-nginx");
    nginx.find("Ingress").spec.tls = [{ hosts: ["chat.example.com"], secretName: "chat-tls" }];
    expect(routeViolations(nginx.objects)).toEqual([
      "Ingress/chat: has tls but the affinity cookie is not secure (session-cookie-secure)",
    ]);
  });
});

import type { IHTTPRoute } from "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1";
import type { IScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1";
import type { IPodMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import type { IDeployment } from "kubernetes-models/apps/v1";
import type { IHorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import type { IIngress, INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import type { IPodDisruptionBudget } from "kubernetes-models/policy/v1";
import type { IConfigMap, ISecret, IService, IServiceAccount } from "kubernetes-models/v1";
import { idOf, type K8sObject, ofKind } from "./objects.js";

/**
 * Rules every rendered combination must follow. Each function returns the violations it
 * found (empty when the objects comply), so the tests can show all of them at once, and the
 * self-tests can prove that each rule catches what it is meant to catch.
 */

type PodSpec = NonNullable<NonNullable<IDeployment["spec"]>["template"]["spec"]>;
type Container = PodSpec["containers"][number];
type Workload = { id: string; pod: PodSpec; labels: Record<string, string> };

/** Seconds of margin on top of preStop delay + SHUTDOWN_TIMEOUT_MS in the grace period. */
export const GRACE_MARGIN_S = 5;
/** Proxy timeouts must exceed the Socket.IO heartbeat by at least this factor. */
export const HEARTBEAT_FACTOR = 2;
/** The container that runs the chat server (its env is the server's config). */
export const CHAT_CONTAINER = "chat";
/** The one cookie name used by every affinity variant (ingresses, gateway, HAProxy). */
export const AFFINITY_COOKIE = "SERVERID";

export function workloads(objects: K8sObject[]): Workload[] {
  const kinds = ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"];
  return objects
    .filter((o) => kinds.includes(o.kind))
    .map((o) => {
      const spec = (o as unknown as IDeployment).spec;
      return { id: idOf(o), pod: spec?.template.spec as PodSpec, labels: spec?.template.metadata?.labels ?? {} };
    });
}

const allContainers = (pod: PodSpec): Container[] => [...(pod.initContainers ?? []), ...pod.containers];

/** Probes, resources and a locked-down security context on every container (PSS "restricted"+). */
export function hardeningViolations(objects: K8sObject[]): string[] {
  const out: string[] = [];
  const accounts = new Map(ofKind<IServiceAccount>(objects, "ServiceAccount").map((sa) => [sa.metadata?.name, sa]));
  for (const { id, pod } of workloads(objects)) {
    const podSec = pod.securityContext ?? {};
    const sa = accounts.get(pod.serviceAccountName ?? "default");
    if (pod.automountServiceAccountToken !== false && sa?.automountServiceAccountToken !== false) {
      out.push(`${id}: mounts a service account token (set automountServiceAccountToken: false)`);
    }
    for (const c of pod.containers) {
      const where = `${id} container ${c.name}`;
      if (!c.readinessProbe) out.push(`${where}: no readinessProbe`);
      if (!c.livenessProbe) out.push(`${where}: no livenessProbe`);
    }
    for (const c of allContainers(pod)) {
      const where = `${id} container ${c.name}`;
      const sec = c.securityContext ?? {};
      for (const r of ["cpu", "memory"] as const) {
        if (c.resources?.requests?.[r] === undefined) out.push(`${where}: no ${r} request`);
        if (c.resources?.limits?.[r] === undefined) out.push(`${where}: no ${r} limit`);
      }
      if ((sec.runAsNonRoot ?? podSec.runAsNonRoot) !== true) out.push(`${where}: runAsNonRoot is not true`);
      const uid = sec.runAsUser ?? podSec.runAsUser;
      if (uid === undefined || uid === 0) out.push(`${where}: no numeric non-root runAsUser`);
      if (sec.readOnlyRootFilesystem !== true) out.push(`${where}: readOnlyRootFilesystem is not true`);
      if (sec.allowPrivilegeEscalation !== false) out.push(`${where}: allowPrivilegeEscalation is not false`);
      if (sec.privileged === true) out.push(`${where}: privileged`);
      if (!sec.capabilities?.drop?.includes("ALL")) out.push(`${where}: capabilities do not drop ALL`);
      if (sec.capabilities?.add?.length) out.push(`${where}: adds capabilities ${sec.capabilities.add.join(",")}`);
      const seccomp = (sec.seccompProfile ?? podSec.seccompProfile)?.type;
      if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost")
        out.push(`${where}: seccompProfile is not RuntimeDefault`);
    }
  }
  return out;
}

/** Every variable a container gets: env, then ConfigMap and Secret keys through envFrom. */
export function effectiveEnv(objects: K8sObject[], c: Container): Map<string, { value?: string; from: string }> {
  const env = new Map<string, { value?: string; from: string }>();
  const byName = <T extends K8sObject>(kind: string, name: string) =>
    objects.find((o) => o.kind === kind && o.metadata.name === name) as T | undefined;
  for (const source of c.envFrom ?? []) {
    const prefix = source.prefix ?? "";
    if (source.configMapRef) {
      const cm = byName<K8sObject & IConfigMap>("ConfigMap", source.configMapRef.name ?? "");
      for (const [k, v] of Object.entries(cm?.data ?? {}))
        env.set(prefix + k, { value: v, from: `ConfigMap ${cm?.metadata?.name}` });
    }
    if (source.secretRef) {
      const s = byName<K8sObject & ISecret>("Secret", source.secretRef.name ?? "");
      for (const k of Object.keys({ ...s?.data, ...s?.stringData }))
        env.set(prefix + k, { from: `Secret ${s?.metadata?.name}` });
    }
  }
  for (const e of c.env ?? []) env.set(e.name, { value: e.value, from: e.valueFrom ? "valueFrom" : "env" });
  return env;
}

function chatContainers(objects: K8sObject[]): Array<{ id: string; pod: PodSpec; c: Container }> {
  return workloads(objects).flatMap(({ id, pod }) =>
    pod.containers.filter((c) => c.name === CHAT_CONTAINER).map((c) => ({ id, pod, c })),
  );
}

const msSetting = (env: Map<string, { value?: string }>, name: string): number | undefined => {
  const raw = env.get(name)?.value;
  return raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : undefined;
};

/** Variables the manifests set for the chat server must all be ones the server reads. */
export function envDriftViolations(objects: K8sObject[], serverEnvNames: readonly string[]): string[] {
  const known = new Set(serverEnvNames);
  return chatContainers(objects).flatMap(({ id, c }) =>
    [...effectiveEnv(objects, c)]
      .filter(([name]) => !known.has(name))
      .map(([name, { from }]) => `${id}: sets ${name} (from ${from}), which server/src/config.ts does not read`),
  );
}

/** The drain settings are explicit and consistent, and the grace period covers the goodbye. */
export function shutdownViolations(objects: K8sObject[]): string[] {
  const out: string[] = [];
  for (const { id, pod, c } of chatContainers(objects)) {
    const env = effectiveEnv(objects, c);
    const setting = (name: string) => {
      const v = msSetting(env, name);
      if (v === undefined) out.push(`${id}: ${name} is not set explicitly (the checks below need it)`);
      return v;
    };
    const drainWindow = setting("DRAIN_WINDOW_MS");
    const handover = setting("HANDOVER_TIMEOUT_MS");
    const shutdown = setting("SHUTDOWN_TIMEOUT_MS");
    if (
      drainWindow !== undefined &&
      handover !== undefined &&
      shutdown !== undefined &&
      shutdown <= drainWindow + handover
    ) {
      out.push(
        `${id}: SHUTDOWN_TIMEOUT_MS (${shutdown}) must exceed DRAIN_WINDOW_MS + HANDOVER_TIMEOUT_MS (${drainWindow + handover})`,
      );
    }
    const hookUrl = new URL(c.lifecycle?.preStop?.httpGet?.path ?? "/", "http://pod");
    const delay = Number(hookUrl.searchParams.get("delay_ms") ?? Number.NaN);
    if (hookUrl.pathname !== "/drain" || !Number.isInteger(delay)) {
      out.push(`${id}: preStop must be an httpGet of /drain?delay_ms=<ms>`);
      continue;
    }
    const grace = pod.terminationGracePeriodSeconds ?? 30;
    if (shutdown !== undefined) {
      const needed = Math.ceil((delay + shutdown) / 1000) + GRACE_MARGIN_S;
      if (grace < needed) {
        out.push(
          `${id}: terminationGracePeriodSeconds ${grace} < preStop delay ${delay} ms + SHUTDOWN_TIMEOUT_MS ${shutdown} ms + ${GRACE_MARGIN_S} s margin (${needed} s)`,
        );
      }
    }
  }
  return out;
}

const heartbeatMs = (objects: K8sObject[]): number => {
  const chat = chatContainers(objects)[0];
  if (!chat) return 45_000;
  const env = effectiveEnv(objects, chat.c);
  return (msSetting(env, "PING_INTERVAL_MS") ?? 25_000) + (msSetting(env, "PING_TIMEOUT_MS") ?? 20_000);
};

/** Gateway API durations ("1h", "90s", "1h30m") in milliseconds; 0 disables the timeout. */
export function parseGatewayDuration(d: string): number {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  const parts = [...d.matchAll(/(\d+)(ms|h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== d) throw new Error(`not a duration: ${d}`);
  return parts.reduce((sum, p) => sum + Number(p[1]) * (units[p[2] as string] as number), 0);
}

/**
 * Every route to the chat has cookie affinity and timeouts far above the Socket.IO heartbeat.
 * Traefik takes stickiness from the Service's annotations, and its timeouts from the entry
 * point (checked in files.test.ts with k8s/kind/traefik-values.yaml).
 */
export function routeViolations(objects: K8sObject[]): string[] {
  const out: string[] = [];
  const minS = (HEARTBEAT_FACTOR * heartbeatMs(objects)) / 1000;
  const services = new Map(ofKind<IService>(objects, "Service").map((s) => [s.metadata?.name, s]));
  for (const ing of ofKind<IIngress>(objects, "Ingress")) {
    const id = `Ingress/${ing.metadata?.name}`;
    const a = ing.metadata?.annotations ?? {};
    const backends = (ing.spec?.rules ?? []).flatMap((r) => r.http?.paths ?? []).map((p) => p.backend.service?.name);
    switch (ing.spec?.ingressClassName) {
      case "nginx": {
        const n = (k: string) => a[`nginx.ingress.kubernetes.io/${k}`];
        if (n("affinity") !== "cookie")
          out.push(`${id}: no cookie affinity (nginx.ingress.kubernetes.io/affinity: cookie)`);
        if (n("session-cookie-name") !== AFFINITY_COOKIE)
          out.push(`${id}: session-cookie-name is not ${AFFINITY_COOKIE}`);
        if (n("affinity-mode") !== "persistent") out.push(`${id}: affinity-mode is not persistent`);
        for (const t of ["proxy-read-timeout", "proxy-send-timeout"]) {
          if (!(Number(n(t)) >= minS)) out.push(`${id}: ${t} ${n(t) ?? "(default 60)"} s is not >= ${minS} s`);
        }
        if (n("proxy-set-headers") === "true")
          out.push(`${id}: proxy-set-headers "true" does nothing (it names a ConfigMap)`);
        if (ing.spec?.tls?.length && n("session-cookie-secure") !== "true")
          out.push(`${id}: has tls but the affinity cookie is not secure (session-cookie-secure)`);
        break;
      }
      case "traefik": {
        const ref = a["traefik.ingress.kubernetes.io/router.middlewares"];
        for (const r of (ref ?? "").split(",").filter(Boolean)) {
          const m = r.trim().match(/^(.+)@kubernetescrd$/);
          const found = ofKind<K8sObject>(objects, "Middleware").find(
            (mw) =>
              m && (mw.metadata.namespace ? `${mw.metadata.namespace}-${mw.metadata.name}` : mw.metadata.name) === m[1],
          );
          const plain = ofKind<K8sObject>(objects, "Middleware").some(
            (mw) => m?.[1]?.endsWith(`-${mw.metadata.name}`) === true,
          );
          // Without a namespace (a bare component rendering) only the name can be compared.
          if (!found && !(plain && ing.metadata?.namespace === undefined))
            out.push(
              `${id}: router.middlewares ${r} names no Middleware of this rendering (<namespace>-<name>@kubernetescrd)`,
            );
        }
        if (ing.spec?.tls?.length) {
          if (a["traefik.ingress.kubernetes.io/router.entrypoints"] !== "websecure")
            out.push(`${id}: has tls but is not routed on the websecure entry point`);
        }
        for (const name of backends) {
          const sa = services.get(name)?.metadata?.annotations ?? {};
          const t = (k: string) => sa[`traefik.ingress.kubernetes.io/service.sticky.cookie${k}`];
          if (t("") !== "true")
            out.push(`${id}: Service ${name} lacks traefik.ingress.kubernetes.io/service.sticky.cookie: "true"`);
          if (t(".name") !== AFFINITY_COOKIE)
            out.push(`${id}: Service ${name} sticky cookie name is not ${AFFINITY_COOKIE}`);
          if (ing.spec?.tls?.length && t(".secure") !== "true")
            out.push(`${id}: has tls but Service ${name}'s affinity cookie is not secure`);
        }
        break;
      }
      default:
        out.push(`${id}: ingressClassName ${ing.spec?.ingressClassName} has no affinity rule in the policy tests`);
    }
  }
  for (const route of ofKind<IHTTPRoute>(objects, "HTTPRoute")) {
    const id = `HTTPRoute/${route.metadata?.name}`;
    (route.spec?.rules ?? []).forEach((rule, i) => {
      if (!rule.backendRefs?.length) return;
      const sp = (rule as { sessionPersistence?: { type?: string; sessionName?: string } }).sessionPersistence;
      if (!sp || (sp.type ?? "Cookie") !== "Cookie") out.push(`${id} rule ${i}: no cookie sessionPersistence`);
      else if (sp.sessionName !== AFFINITY_COOKIE) out.push(`${id} rule ${i}: cookie is not named ${AFFINITY_COOKIE}`);
      const request = rule.timeouts?.request;
      const ms = request === undefined ? undefined : parseGatewayDuration(request);
      if (ms === undefined || (ms !== 0 && ms < minS * 1000)) {
        out.push(
          `${id} rule ${i}: timeouts.request ${request ?? "(implementation default)"} is not >= ${minS} s (or 0s)`,
        );
      }
    });
  }
  return out;
}

/** Names that objects refer to exist in the same render, ports included. */
export function referenceViolations(objects: K8sObject[], externalSecrets: readonly string[] = []): string[] {
  const out: string[] = [];
  const has = (kind: string, name?: string) => objects.some((o) => o.kind === kind && o.metadata.name === name);
  const all = workloads(objects);
  for (const { id, pod } of all) {
    if (pod.serviceAccountName && !has("ServiceAccount", pod.serviceAccountName)) {
      out.push(`${id}: ServiceAccount ${pod.serviceAccountName} is missing`);
    }
    const secretOk = (name?: string) => has("Secret", name) || externalSecrets.includes(name ?? "");
    for (const c of allContainers(pod)) {
      for (const s of c.envFrom ?? []) {
        if (s.configMapRef && !has("ConfigMap", s.configMapRef.name))
          out.push(`${id}: ConfigMap ${s.configMapRef.name} is missing`);
        if (s.secretRef && !secretOk(s.secretRef.name)) out.push(`${id}: Secret ${s.secretRef.name} is missing`);
      }
      for (const e of c.env ?? []) {
        const cm = e.valueFrom?.configMapKeyRef;
        const sk = e.valueFrom?.secretKeyRef;
        if (cm && !has("ConfigMap", cm.name)) out.push(`${id}: ConfigMap ${cm.name} (for ${e.name}) is missing`);
        if (sk && !secretOk(sk.name)) out.push(`${id}: Secret ${sk.name} (for ${e.name}) is missing`);
      }
    }
    for (const v of pod.volumes ?? []) {
      if (v.configMap && !has("ConfigMap", v.configMap.name))
        out.push(`${id}: volume ConfigMap ${v.configMap.name} is missing`);
      if (v.secret && !secretOk(v.secret.secretName))
        out.push(`${id}: volume Secret ${v.secret.secretName} is missing`);
    }
  }
  const matches = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
    selector !== undefined && Object.entries(selector).every(([k, v]) => labels[k] === v);
  const podsFor = (selector?: Record<string, string>) => all.filter((w) => matches(selector, w.labels));
  const portNames = (ws: Workload[]) =>
    new Set(
      ws.flatMap((w) => w.pod.containers.flatMap((c) => c.ports ?? [])).flatMap((p) => [p.name, p.containerPort]),
    );

  const services = ofKind<IService>(objects, "Service");
  for (const s of services) {
    const pods = podsFor(s.spec?.selector);
    if (pods.length === 0) {
      out.push(`Service/${s.metadata?.name}: selects no pods`);
      continue;
    }
    for (const p of s.spec?.ports ?? []) {
      if (p.targetPort !== undefined && !portNames(pods).has(p.targetPort)) {
        out.push(`Service/${s.metadata?.name}: targetPort ${p.targetPort} is not a port of the selected pods`);
      }
    }
  }
  const servicePort = (name?: string, port?: { name?: string; number?: number }) => {
    const s = services.find((x) => x.metadata?.name === name);
    return s?.spec?.ports?.some((p) => p.name === port?.name || p.port === port?.number) ?? false;
  };
  for (const ing of ofKind<IIngress>(objects, "Ingress")) {
    for (const path of (ing.spec?.rules ?? []).flatMap((r) => r.http?.paths ?? [])) {
      const b = path.backend.service;
      if (!servicePort(b?.name, b?.port))
        out.push(
          `Ingress/${ing.metadata?.name}: backend ${b?.name}:${b?.port?.name ?? b?.port?.number} does not exist`,
        );
    }
  }
  for (const route of ofKind<IHTTPRoute>(objects, "HTTPRoute")) {
    for (const ref of (route.spec?.rules ?? []).flatMap((r) => r.backendRefs ?? [])) {
      if (!servicePort(ref.name, { number: ref.port }))
        out.push(`HTTPRoute/${route.metadata?.name}: backend ${ref.name}:${ref.port} does not exist`);
    }
    for (const parent of route.spec?.parentRefs ?? []) {
      const gw = objects.find((o) => o.kind === "Gateway" && o.metadata.name === parent.name) as
        | (K8sObject & { spec: { listeners: Array<{ name: string }> } })
        | undefined;
      if (!gw) out.push(`HTTPRoute/${route.metadata?.name}: Gateway ${parent.name} is missing`);
      else if (parent.sectionName && !gw.spec.listeners.some((l) => l.name === parent.sectionName)) {
        out.push(`HTTPRoute/${route.metadata?.name}: Gateway ${parent.name} has no listener ${parent.sectionName}`);
      }
    }
  }
  const targets = [
    ...ofKind<IHorizontalPodAutoscaler>(objects, "HorizontalPodAutoscaler").map(
      (h) => [`HPA/${h.metadata?.name}`, h.spec?.scaleTargetRef] as const,
    ),
    ...ofKind<IScaledObject>(objects, "ScaledObject").map(
      (s) => [`ScaledObject/${s.metadata?.name}`, s.spec?.scaleTargetRef] as const,
    ),
  ];
  for (const [id, ref] of targets) {
    if (!has(ref?.kind ?? "Deployment", ref?.name))
      out.push(`${id}: scale target ${ref?.kind}/${ref?.name} is missing`);
  }
  for (const pdb of ofKind<IPodDisruptionBudget>(objects, "PodDisruptionBudget")) {
    if (podsFor(pdb.spec?.selector?.matchLabels).length === 0) out.push(`PDB/${pdb.metadata?.name}: selects no pods`);
  }
  for (const np of ofKind<INetworkPolicy>(objects, "NetworkPolicy")) {
    const pods = podsFor(np.spec?.podSelector?.matchLabels);
    if (pods.length === 0) out.push(`NetworkPolicy/${np.metadata?.name}: selects no pods`);
    for (const p of (np.spec?.ingress ?? []).flatMap((r) => r.ports ?? [])) {
      if (p.port !== undefined && !portNames(pods).has(p.port))
        out.push(`NetworkPolicy/${np.metadata?.name}: port ${p.port} is not a port of its pods`);
    }
    for (const from of (np.spec?.ingress ?? []).flatMap((r) => r.from ?? [])) {
      // A podSelector next to a namespaceSelector picks pods of other namespaces (Prometheus,
      // ingress controllers): they are not in this rendering.
      if (from.podSelector && !from.namespaceSelector && podsFor(from.podSelector.matchLabels).length === 0) {
        out.push(`NetworkPolicy/${np.metadata?.name}: admits pods that no workload has`);
      }
    }
  }
  for (const pm of ofKind<IPodMonitor>(objects, "PodMonitor")) {
    const pods = podsFor(pm.spec?.selector?.matchLabels);
    for (const e of pm.spec?.podMetricsEndpoints ?? []) {
      if (pods.length === 0 || !portNames(pods).has(e.port))
        out.push(`PodMonitor/${pm.metadata?.name}: no selected pod has port ${e.port}`);
    }
  }
  return out;
}

/** The private admin port (/metrics, /drain) is behind no Service, so no Ingress can reach it. */
export function adminPortViolations(objects: K8sObject[]): string[] {
  const adminPorts = new Set<string | number>();
  for (const { c } of chatContainers(objects)) {
    for (const p of c.ports ?? []) if (p.name === "admin") adminPorts.add(p.name).add(p.containerPort);
    const hook = c.lifecycle?.preStop?.httpGet;
    if (hook && hook.port !== "admin") return [`preStop /drain must use the admin port, not ${hook.port}`];
  }
  return ofKind<IService>(objects, "Service").flatMap((s) =>
    (s.spec?.ports ?? [])
      .filter((p) => adminPorts.has(p.targetPort ?? p.port))
      .map((p) => `Service/${s.metadata?.name}: exposes the admin port (${p.targetPort ?? p.port})`),
  );
}

/** Bytes of a redis.conf memory value: 1k = 1000, 1kb = 1024, and so on (as redis.conf says). */
export function redisBytes(value: string): number {
  const m = value
    .trim()
    .toLowerCase()
    .match(/^(\d+)(k|kb|m|mb|g|gb)?$/);
  if (!m) throw new Error(`not a redis.conf memory value: ${value}`);
  const unit = { k: 1e3, kb: 1024, m: 1e6, mb: 1024 ** 2, g: 1e9, gb: 1024 ** 3 }[m[2] ?? ""] ?? 1;
  return Number(m[1]) * unit;
}

/** Bytes of a Kubernetes memory quantity (512Mi, 1Gi, 1G, 1000M). */
export function quantityBytes(q: string): number {
  const m = q.match(/^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/);
  if (!m) throw new Error(`not a memory quantity: ${q}`);
  const unit = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m[2] ?? ""];
  return Number(m[1]) * (unit ?? 1);
}

/**
 * Redis must refuse writes (maxmemory + noeviction) before the kernel kills it at the container
 * limit, with room left for what maxmemory does not count (the AOF-rewrite fork's
 * copy-on-write pages, buffers, fragmentation).
 */
export const REDIS_MAXMEMORY_SHARE = 0.6;
export function redisMemoryViolations(objects: K8sObject[]): string[] {
  const out: string[] = [];
  for (const { id, pod } of workloads(objects)) {
    for (const v of pod.volumes ?? []) {
      const cm = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === v.configMap?.name) as
        | (K8sObject & IConfigMap)
        | undefined;
      const conf = cm?.data?.["redis.conf"];
      if (conf === undefined) continue;
      const directive = (name: string) =>
        conf
          .split("\n")
          .map((l) => l.trim())
          .find((l) => l.startsWith(`${name} `))
          ?.slice(name.length + 1)
          .trim();
      const container = pod.containers.find((c) => (c.volumeMounts ?? []).some((m) => m.name === v.name));
      const limit = container?.resources?.limits?.memory;
      const max = directive("maxmemory");
      if (directive("maxmemory-policy") !== "noeviction") out.push(`${id}: maxmemory-policy is not noeviction`);
      if (max === undefined || redisBytes(max) === 0) {
        out.push(`${id}: redis.conf sets no maxmemory: noeviction never applies, the kernel OOM-kills Redis first`);
        continue;
      }
      if (limit === undefined) continue; // hardeningViolations reports the missing limit
      const share = redisBytes(max) / quantityBytes(String(limit));
      if (share > REDIS_MAXMEMORY_SHARE) {
        out.push(
          `${id}: maxmemory ${max} is ${Math.round(share * 100)}% of the ${limit} limit (at most ${REDIS_MAXMEMORY_SHARE * 100}%: AOF rewrite needs headroom)`,
        );
      }
    }
  }
  return out;
}

type NetworkPolicyPeer = NonNullable<
  NonNullable<NonNullable<INetworkPolicy["spec"]>["ingress"]>[number]["from"]
>[number];
const emptySelector = (s?: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] }) =>
  s !== undefined && Object.keys(s.matchLabels ?? {}).length === 0 && (s.matchExpressions ?? []).length === 0;

/**
 * Who reaches the chat pods, when NetworkPolicies select them: a default deny for both
 * directions; the http port from other namespaces' pods only (the ingress controller; never
 * from every pod, an IP block or this namespace's pods, any of which could forge
 * X-Forwarded-For); the admin port (/drain) from named pods of a named namespace only, and never
 * in the same rule as http; every rule names its ports; egress to DNS and Redis.
 */
export function networkPolicyViolations(objects: K8sObject[]): string[] {
  const out: string[] = [];
  const chat = chatContainers(objects)[0];
  if (!chat) return out;
  const labels =
    (objects.find((o) => idOf(o) === chat.id) as unknown as IDeployment).spec?.template.metadata?.labels ?? {};
  const selects = (np: INetworkPolicy) =>
    Object.entries(np.spec?.podSelector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const policies = ofKind<INetworkPolicy>(objects, "NetworkPolicy").filter(selects);
  if (policies.length === 0) return out;
  const portOf = (name: string) => chat.c.ports?.find((p) => p.name === name);
  const is = (port: string | number | undefined, name: string) =>
    port !== undefined && (port === name || port === portOf(name)?.containerPort);
  if (!policies.some((p) => p.spec?.policyTypes?.includes("Ingress") && p.spec.policyTypes.includes("Egress"))) {
    out.push("chat pods: no NetworkPolicy isolates them for both Ingress and Egress (default deny)");
  }
  for (const np of policies) {
    const id = `NetworkPolicy/${np.metadata?.name}`;
    (np.spec?.ingress ?? []).forEach((rule, i) => {
      const ports = rule.ports ?? [];
      if (ports.length === 0) {
        out.push(`${id} ingress rule ${i}: admits every port (name the ports)`);
        return;
      }
      const peers: NetworkPolicyPeer[] = rule.from ?? [];
      const http = ports.some((p) => is(p.port, "http"));
      const admin = ports.some((p) => is(p.port, "admin"));
      if (peers.length === 0) out.push(`${id} ingress rule ${i}: admits every source`);
      if (http && admin) out.push(`${id} ingress rule ${i}: admits the same sources to http and admin`);
      for (const peer of peers) {
        if (peer.ipBlock) out.push(`${id} ingress rule ${i}: admits an ipBlock (${peer.ipBlock.cidr})`);
        else if (!peer.namespaceSelector || emptySelector(peer.namespaceSelector))
          out.push(
            `${id} ingress rule ${i}: admits pods of ${peer.namespaceSelector ? "every namespace" : "this namespace"}`,
          );
        else if (admin && (!peer.podSelector || emptySelector(peer.podSelector)))
          out.push(`${id} ingress rule ${i}: admits every pod of a namespace to the admin port (/drain)`);
      }
    });
  }
  const egress = policies.flatMap((p) => p.spec?.egress ?? []);
  const allows = (port: number, protocol: string) =>
    egress.some((r) => (r.ports ?? []).some((p) => p.port === port && (p.protocol ?? "TCP") === protocol));
  if (!allows(53, "UDP")) out.push("chat pods: egress to DNS (UDP 53) is not allowed");
  if (!allows(6379, "TCP")) out.push("chat pods: egress to Redis (TCP 6379) is not allowed");
  return out;
}

/**
 * Probes of pods that a NetworkPolicy isolates run inside the container (exec) or as HTTP from
 * the kubelet; never tcpSocket, which some kindnet versions dropped for isolated pods.
 */
export function probeViolations(objects: K8sObject[]): string[] {
  const isolated = ofKind<INetworkPolicy>(objects, "NetworkPolicy").map(
    (np) => np.spec?.podSelector?.matchLabels ?? {},
  );
  return workloads(objects)
    .filter(({ labels }) => isolated.some((sel) => Object.entries(sel).every(([k, v]) => labels[k] === v)))
    .flatMap(({ id, pod }) =>
      pod.containers.flatMap((c) =>
        (["startupProbe", "readinessProbe", "livenessProbe"] as const)
          .filter((p) => c[p]?.tcpSocket)
          .map((p) => `${id} container ${c.name}: ${p} is tcpSocket (use exec)`),
      ),
    );
}

/** Rollouts and disruptions never take capacity away before its replacement is ready. */
export function availabilityViolations(objects: K8sObject[]): string[] {
  const out: string[] = [];
  for (const d of ofKind<IDeployment>(objects, "Deployment")) {
    const id = `Deployment/${d.metadata?.name}`;
    const ru = d.spec?.strategy?.rollingUpdate;
    if (d.spec?.strategy?.type !== "RollingUpdate" || ru?.maxUnavailable !== 0 || !ru.maxSurge) {
      out.push(`${id}: needs RollingUpdate with maxUnavailable 0 and maxSurge >= 1 (make before break)`);
    }
    if ((d.spec?.replicas ?? 1) < 2) out.push(`${id}: fewer than 2 replicas, a drain would leave nobody`);
    const pdbs = ofKind<IPodDisruptionBudget>(objects, "PodDisruptionBudget").filter((p) =>
      Object.entries(p.spec?.selector?.matchLabels ?? {}).every(
        ([k, v]) => d.spec?.template.metadata?.labels?.[k] === v,
      ),
    );
    if (pdbs.length !== 1) out.push(`${id}: needs exactly one PodDisruptionBudget, has ${pdbs.length}`);
    for (const p of pdbs) {
      // AlwaysAllow lets a drain evict every pod once all are unready (Redis down): the chat dies.
      if (p.spec?.unhealthyPodEvictionPolicy === "AlwaysAllow")
        out.push(`PDB/${p.metadata?.name}: unhealthyPodEvictionPolicy AlwaysAllow (use IfHealthyBudget)`);
    }
    if (!d.spec?.template.spec?.topologySpreadConstraints?.length) out.push(`${id}: no topologySpreadConstraints`);
  }
  for (const h of ofKind<IHorizontalPodAutoscaler>(objects, "HorizontalPodAutoscaler")) {
    if ((h.spec?.minReplicas ?? 1) < 2) out.push(`HPA/${h.metadata?.name}: minReplicas < 2`);
  }
  for (const s of ofKind<IScaledObject>(objects, "ScaledObject")) {
    if ((s.spec?.minReplicaCount ?? 0) < 2) out.push(`ScaledObject/${s.metadata?.name}: minReplicaCount < 2`);
  }
  const scalers = [
    ...ofKind<IHorizontalPodAutoscaler>(objects, "HorizontalPodAutoscaler").map((h) => h.spec?.scaleTargetRef.name),
    ...ofKind<IScaledObject>(objects, "ScaledObject").map((s) => s.spec?.scaleTargetRef.name),
  ];
  for (const name of new Set(scalers)) {
    const n = scalers.filter((x) => x === name).length;
    if (n > 1) out.push(`Deployment/${name}: ${n} autoscalers fight over it`);
  }
  return out;
}

/** In an overlay every namespaced object lands in the same namespace. */
export function namespaceViolations(objects: K8sObject[], expected: string): string[] {
  const clusterScoped = new Set(["Namespace", "GatewayClass", "ClusterRole", "ClusterRoleBinding"]);
  return objects
    .filter((o) => !clusterScoped.has(o.kind) && o.metadata.namespace !== expected)
    .map((o) => `${idOf(o)}: namespace ${o.metadata.namespace ?? "(none)"}, expected ${expected}`);
}

/** The autoscaling signal is the per-pod socket gauge the server exports. */
export function autoscalingMetricNames(objects: K8sObject[]): string[] {
  const fromHpa = ofKind<IHorizontalPodAutoscaler>(objects, "HorizontalPodAutoscaler").flatMap((h) =>
    (h.spec?.metrics ?? []).flatMap((m) => (m.type === "Pods" && m.pods ? [m.pods.metric.name] : [])),
  );
  const fromKeda = ofKind<IScaledObject>(objects, "ScaledObject").flatMap((s) =>
    s.spec.triggers.flatMap((t) =>
      t.type === "prometheus" ? [...String(t.metadata?.query).matchAll(/\bchat_[a-z_]+/g)].map((m) => m[0]) : [],
    ),
  );
  return [...fromHpa, ...fromKeda];
}

/**
 * The rig runs what the manifests say. It renders the kustomize overlay with kubectl and reads
 * the chat Deployment from it (replicas, rollout strategy, probes, preStop hook, grace period,
 * environment), so the rig and the manifests cannot drift apart.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { requireBinary } from "@chat/testkit";
import { parseAllDocuments } from "yaml";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const DEFAULT_OVERLAY = "k8s/overlays/kind";

/** Which of the pod's two listeners a probe or hook targets. */
export type PodPort = "public" | "admin";

export interface ProbeModel {
  path: string;
  port: PodPort;
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  failureThreshold: number;
  successThreshold: number;
}

export interface HookModel {
  /** Path with its query, e.g. `/drain?delay_ms=5000`. */
  path: string;
  port: PodPort;
}

/** An int or a percentage, as in `strategy.rollingUpdate`. */
export type IntOrPercent = number | `${number}%`;

export interface DeploymentModel {
  /** Where it came from, for the cluster log: `kubectl kustomize k8s/overlays/kind`. */
  source: string;
  name: string;
  namespace: string | undefined;
  /** The Deployment's `selector.matchLabels`, e.g. for `kubectl get pods -l`. */
  selector: Record<string, string>;
  replicas: number;
  maxSurge: IntOrPercent;
  maxUnavailable: IntOrPercent;
  minReadyMs: number;
  graceMs: number;
  startupProbe: ProbeModel | undefined;
  readinessProbe: ProbeModel | undefined;
  livenessProbe: ProbeModel | undefined;
  preStop: HookModel | undefined;
  /** Plain variables: ConfigMaps (envFrom), then literal `env` values and Secret references, as the kubelet merges them. */
  env: Record<string, string>;
  /** Variables from the downward API: name -> fieldPath (POD_NAME -> metadata.name). */
  fieldEnv: Record<string, string>;
  /** The container's `command`, `args` and `workingDir` (undefined: the image's own). */
  command: string[] | undefined;
  args: string[] | undefined;
  workingDir: string | undefined;
  /** The pod's user (securityContext runAsUser/runAsGroup, container over pod), if set. */
  runAsUser: number | undefined;
  runAsGroup: number | undefined;
}

// Kubernetes' defaults for fields a manifest may leave out.
const PROBE_DEFAULTS = { initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 1, failureThreshold: 3 };
const DEFAULT_GRACE_SECONDS = 30;
const DEFAULT_ROLLING = "25%";
// The server's own defaults (server/src/config.ts), used when the manifest sets no PORT/ADMIN_PORT.
const SERVER_DEFAULT_PORTS = { PORT: 8080, ADMIN_PORT: 9090 };

/** `kubectl kustomize <overlay>`: the rendered YAML stream. */
export async function renderOverlay(overlay = DEFAULT_OVERLAY): Promise<string> {
  const kubectl = requireKubectl();
  try {
    const { stdout } = await promisify(execFile)(kubectl, ["kustomize", overlay], {
      cwd: REPO_ROOT,
      maxBuffer: 32 << 20,
    });
    return stdout;
  } catch (err) {
    throw new Error(`kubectl kustomize ${overlay} failed:\n${(err as { stderr?: string }).stderr ?? err}`);
  }
}

function requireKubectl(): string {
  try {
    return requireBinary("kubectl", "kubernetes-client");
  } catch {
    throw new Error(
      "kubectl not found: the rig reads the Deployment from `kubectl kustomize`. Install kubectl >= 1.27 " +
        "(Debian's 'kubernetes-client' package is 1.20, whose kustomize is too old for these manifests; " +
        "use the Kubernetes apt repository or the kubectl release binary).",
    );
  }
}

/** Render the overlay and read the Deployment from it. */
export async function loadDeployment(overlay = DEFAULT_OVERLAY, name = "chat"): Promise<DeploymentModel> {
  return parseDeployment(await renderOverlay(overlay), name, `kubectl kustomize ${overlay}`);
}

// A small, honest view of the YAML: plain objects, read with checks instead of casts everywhere.
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const obj = (v: unknown, what: string): Obj => {
  if (!isObj(v)) throw new Error(`manifest: ${what} is missing or not an object`);
  return v;
};
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const num = (v: unknown, fallback: number): number => (typeof v === "number" ? v : fallback);
const strings = (v: unknown, what: string): string[] | undefined => {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string"))
    throw new Error(`manifest: ${what} must be a list of strings`);
  return v;
};

/** Read the named Deployment out of a rendered YAML stream. Pure: unit-tested on fixtures. */
export function parseDeployment(yamlText: string, name = "chat", source = "inline"): DeploymentModel {
  const docs = parseAllDocuments(yamlText).map((d) => d.toJSON() as unknown);
  const objects = docs.filter(isObj);
  const find = (kind: string, n: string) =>
    objects.find((o) => o.kind === kind && isObj(o.metadata) && o.metadata.name === n);

  const deployment = find("Deployment", name);
  if (!deployment) throw new Error(`manifest: no Deployment named '${name}' in ${source}`);
  const spec = obj(deployment.spec, "Deployment.spec");
  const podSpec = obj(obj(spec.template, "spec.template").spec, "spec.template.spec");
  const containers = arr(podSpec.containers).filter(isObj);
  const container = containers[0];
  if (!container || containers.length !== 1) {
    throw new Error(`manifest: the rig runs one container per pod; ${name} has ${containers.length}`);
  }

  // Environment, in the kubelet's order: envFrom sources first, then `env` entries win.
  const env: Record<string, string> = {};
  const fieldEnv: Record<string, string> = {};
  for (const from of arr(container.envFrom).filter(isObj)) {
    if (isObj(from.configMapRef)) Object.assign(env, configMapData(find, str(from.configMapRef.name)));
    else if (isObj(from.secretRef)) Object.assign(env, secretData(find, str(from.secretRef.name)));
  }
  for (const e of arr(container.env).filter(isObj)) {
    const key = str(e.name);
    if (!key) continue;
    if (typeof e.value === "string") {
      env[key] = e.value;
      continue;
    }
    const valueFrom = isObj(e.valueFrom) ? e.valueFrom : {};
    if (isObj(valueFrom.fieldRef)) {
      fieldEnv[key] = str(valueFrom.fieldRef.fieldPath) ?? "";
    } else if (isObj(valueFrom.secretKeyRef) || isObj(valueFrom.configMapKeyRef)) {
      const ref = (valueFrom.secretKeyRef ?? valueFrom.configMapKeyRef) as Obj;
      const data = isObj(valueFrom.secretKeyRef) ? secretData(find, str(ref.name)) : configMapData(find, str(ref.name));
      const value = data[str(ref.key) ?? ""];
      if (value === undefined) throw new Error(`manifest: ${key} refers to a missing key ${ref.name}/${ref.key}`);
      env[key] = value;
    } else {
      throw new Error(`manifest: env ${key} uses a source the rig does not model`);
    }
  }

  // Named container ports -> which of the server's two listeners they are.
  const portNames = new Map<string, number>();
  for (const p of arr(container.ports).filter(isObj)) {
    if (typeof p.name === "string" && typeof p.containerPort === "number") portNames.set(p.name, p.containerPort);
  }
  const publicPort = Number(env.PORT ?? SERVER_DEFAULT_PORTS.PORT);
  const adminPort = Number(env.ADMIN_PORT ?? SERVER_DEFAULT_PORTS.ADMIN_PORT);
  const podPort = (port: unknown, what: string): PodPort => {
    const n = typeof port === "string" ? portNames.get(port) : port;
    if (n === publicPort) return "public";
    if (n === adminPort) return "admin";
    throw new Error(`manifest: ${what} targets port ${String(port)}, which is neither PORT nor ADMIN_PORT`);
  };
  const httpGet = (holder: Obj, what: string) => {
    const get = holder.httpGet;
    if (!isObj(get)) throw new Error(`manifest: ${what} is not an httpGet (the rig models httpGet only)`);
    return { path: str(get.path) ?? "/", port: podPort(get.port, what) };
  };
  const probe = (v: unknown, what: string): ProbeModel | undefined => {
    if (!isObj(v)) return undefined;
    return {
      ...httpGet(v, what),
      initialDelayMs: num(v.initialDelaySeconds, PROBE_DEFAULTS.initialDelaySeconds) * 1000,
      periodMs: num(v.periodSeconds, PROBE_DEFAULTS.periodSeconds) * 1000,
      timeoutMs: num(v.timeoutSeconds, PROBE_DEFAULTS.timeoutSeconds) * 1000,
      failureThreshold: num(v.failureThreshold, PROBE_DEFAULTS.failureThreshold),
      successThreshold: num(v.successThreshold, 1),
    };
  };
  const lifecycle = isObj(container.lifecycle) ? container.lifecycle : {};
  const strategy = isObj(spec.strategy) ? spec.strategy : {};
  if (strategy.type !== undefined && strategy.type !== "RollingUpdate") {
    throw new Error(`manifest: strategy ${String(strategy.type)}: the rig models RollingUpdate only`);
  }
  const rolling = isObj(strategy.rollingUpdate) ? strategy.rollingUpdate : {};
  const metadata = obj(deployment.metadata, "Deployment.metadata");

  return {
    source,
    name,
    namespace: str(metadata.namespace),
    selector: Object.fromEntries(
      Object.entries(isObj(spec.selector) && isObj(spec.selector.matchLabels) ? spec.selector.matchLabels : {}).map(
        ([k, v]) => [k, String(v)],
      ),
    ),
    replicas: num(spec.replicas, 1),
    maxSurge: intOrPercent(rolling.maxSurge ?? DEFAULT_ROLLING, "maxSurge"),
    maxUnavailable: intOrPercent(rolling.maxUnavailable ?? DEFAULT_ROLLING, "maxUnavailable"),
    minReadyMs: num(spec.minReadySeconds, 0) * 1000,
    graceMs: num(podSpec.terminationGracePeriodSeconds, DEFAULT_GRACE_SECONDS) * 1000,
    startupProbe: probe(container.startupProbe, "startupProbe"),
    readinessProbe: probe(container.readinessProbe, "readinessProbe"),
    livenessProbe: probe(container.livenessProbe, "livenessProbe"),
    preStop: isObj(lifecycle.preStop) ? httpGet(lifecycle.preStop, "preStop") : undefined,
    env,
    fieldEnv,
    command: strings(container.command, "command"),
    args: strings(container.args, "args"),
    workingDir: str(container.workingDir),
    runAsUser: securityNumber(podSpec, container, "runAsUser"),
    runAsGroup: securityNumber(podSpec, container, "runAsGroup"),
  };
}

/** A securityContext field, the container's over the pod's, as the kubelet resolves it. */
function securityNumber(podSpec: Obj, container: Obj, field: "runAsUser" | "runAsGroup") {
  for (const holder of [container, podSpec]) {
    const v = isObj(holder.securityContext) ? holder.securityContext[field] : undefined;
    if (typeof v === "number") return v;
  }
  return undefined;
}

function configMapData(find: (kind: string, n: string) => Obj | undefined, name: string | undefined) {
  const cm = name ? find("ConfigMap", name) : undefined;
  if (!cm) throw new Error(`manifest: ConfigMap ${name} is referenced but not rendered`);
  const data = isObj(cm.data) ? cm.data : {};
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, String(v)]));
}

function secretData(find: (kind: string, n: string) => Obj | undefined, name: string | undefined) {
  const secret = name ? find("Secret", name) : undefined;
  if (!secret) {
    throw new Error(
      `manifest: Secret ${name} is referenced but not rendered (render an overlay that includes a dev secret, e.g. ${DEFAULT_OVERLAY})`,
    );
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(isObj(secret.data) ? secret.data : {})) {
    out[k] = Buffer.from(String(v), "base64").toString("utf8");
  }
  for (const [k, v] of Object.entries(isObj(secret.stringData) ? secret.stringData : {})) out[k] = String(v);
  return out;
}

function intOrPercent(v: unknown, what: string): IntOrPercent {
  if (typeof v === "number" && Number.isInteger(v) && v >= 0) return v;
  if (typeof v === "string" && /^\d+%$/.test(v)) return v as `${number}%`;
  throw new Error(`manifest: ${what} must be an int or a percentage, got ${JSON.stringify(v)}`);
}

/**
 * Resolve maxSurge/maxUnavailable for a replica count as the Deployment controller does: a
 * surge percentage rounds up, an unavailability percentage rounds down, and if both come out 0
 * one pod may be unavailable (otherwise the rollout could never progress).
 */
export function resolveRollingUpdate(replicas: number, maxSurge: IntOrPercent, maxUnavailable: IntOrPercent) {
  const resolve = (v: IntOrPercent, round: (x: number) => number) =>
    typeof v === "number" ? v : round((Number.parseInt(v, 10) * replicas) / 100);
  const surge = resolve(maxSurge, Math.ceil);
  let unavailable = resolve(maxUnavailable, Math.floor);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { maxSurge: surge, maxUnavailable: unavailable };
}

/** The preStop path's `delay_ms` query value, if any. */
export function preStopDelayMs(hook: HookModel | undefined): number | undefined {
  if (!hook) return undefined;
  const v = new URL(hook.path, "http://pod").searchParams.get("delay_ms");
  return v === null ? undefined : Number(v);
}

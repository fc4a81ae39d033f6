/**
 * Test-time departures from the manifests, always explicit: each one is listed (manifest value
 * -> rig value) in the cluster log, so a reader of a chart or a failure report knows the rig did
 * not run the manifests verbatim. Typical use: shorter drain windows and grace periods so CI
 * stays fast.
 */
import type { ServerEnv } from "@chat/testkit";
import { type DeploymentModel, type IntOrPercent, preStopDelayMs } from "./manifest.js";

export interface RigOverrides {
  replicas?: number;
  maxSurge?: IntOrPercent;
  maxUnavailable?: IntOrPercent;
  minReadySeconds?: number;
  terminationGracePeriodSeconds?: number;
  /** Replaces the `delay_ms` of the preStop hook's path. */
  preStopDelayMs?: number;
  /** Multiplies every probe's periodSeconds and initialDelaySeconds (timeouts stay as written). */
  probePeriodScale?: number;
  /** Merged over the manifest's environment (ConfigMap + Secret); names are the server's. */
  env?: ServerEnv;
}

export interface AppliedOverride {
  field: string;
  manifest: unknown;
  rig: unknown;
}

/**
 * Fast but faithful: every timing keeps the manifests' proportions (the grace period still
 * covers preStop + SHUTDOWN_TIMEOUT_MS, SHUTDOWN_TIMEOUT_MS still exceeds window + handover),
 * only shorter. Used by the specs and the load test; `pnpm cluster up --fast` uses it too.
 */
export const FAST: RigOverrides = {
  minReadySeconds: 1,
  terminationGracePeriodSeconds: 10,
  preStopDelayMs: 500,
  probePeriodScale: 0.1,
  env: {
    DRAIN_WINDOW_MS: "2000",
    HANDOVER_TIMEOUT_MS: "2000",
    SHUTDOWN_TIMEOUT_MS: "6000",
  },
};

/** Merge override sets; later ones win, env maps are merged. */
export function mergeOverrides(...sets: (RigOverrides | undefined)[]): RigOverrides {
  const out: RigOverrides = {};
  for (const s of sets) {
    if (!s) continue;
    const { env, ...rest } = s;
    Object.assign(out, rest);
    if (env) out.env = { ...out.env, ...env };
  }
  return out;
}

/** Apply overrides to a model; returns the new model and the list of what changed. */
export function applyOverrides(
  model: DeploymentModel,
  o: RigOverrides,
): { model: DeploymentModel; applied: AppliedOverride[] } {
  const applied: AppliedOverride[] = [];
  const m: DeploymentModel = { ...model, env: { ...model.env } };
  const set = <K extends keyof DeploymentModel>(field: string, key: K, value: DeploymentModel[K] | undefined) => {
    if (value === undefined || value === m[key]) return;
    applied.push({ field, manifest: m[key], rig: value });
    m[key] = value;
  };
  set("replicas", "replicas", o.replicas);
  set("strategy.rollingUpdate.maxSurge", "maxSurge", o.maxSurge);
  set("strategy.rollingUpdate.maxUnavailable", "maxUnavailable", o.maxUnavailable);
  const seconds = (field: string, key: "minReadyMs" | "graceMs", value: number | undefined) => {
    if (value === undefined || value * 1000 === m[key]) return;
    applied.push({ field, manifest: m[key] / 1000, rig: value });
    m[key] = value * 1000;
  };
  seconds("minReadySeconds", "minReadyMs", o.minReadySeconds);
  seconds("terminationGracePeriodSeconds", "graceMs", o.terminationGracePeriodSeconds);
  if (o.preStopDelayMs !== undefined && m.preStop) {
    const url = new URL(m.preStop.path, "http://pod");
    url.searchParams.set("delay_ms", String(o.preStopDelayMs));
    set("preStop.httpGet.path", "preStop", { ...m.preStop, path: `${url.pathname}${url.search}` });
    // Report the path, not the whole object.
    const last = applied[applied.length - 1];
    if (last) Object.assign(last, { manifest: model.preStop?.path, rig: m.preStop.path });
  }
  const scale = o.probePeriodScale;
  if (scale !== undefined && scale !== 1) {
    if (!(scale > 0)) throw new Error(`probePeriodScale must be > 0, got ${scale}`);
    for (const key of ["startupProbe", "readinessProbe", "livenessProbe"] as const) {
      const p = m[key];
      if (!p) continue;
      const scaled = {
        ...p,
        periodMs: Math.max(50, Math.round(p.periodMs * scale)),
        initialDelayMs: Math.round(p.initialDelayMs * scale),
      };
      applied.push({ field: `${key}.periodSeconds`, manifest: p.periodMs / 1000, rig: scaled.periodMs / 1000 });
      m[key] = scaled;
    }
  }
  for (const [k, v] of Object.entries(o.env ?? {})) {
    if (v === undefined || m.env[k] === v) continue;
    applied.push({ field: `env.${k}`, manifest: model.env[k], rig: v });
    m.env[k] = v;
  }
  checkInvariants(m);
  return { model: m, applied };
}

/**
 * The same rules k8s/test/policy.test.ts enforces on the manifests, checked again after the
 * overrides: an override set that breaks them would test a configuration nobody deploys.
 */
export function checkInvariants(m: DeploymentModel) {
  const n = (k: string, def: number) => Number(m.env[k] ?? def);
  const window = n("DRAIN_WINDOW_MS", 10_000);
  const handover = n("HANDOVER_TIMEOUT_MS", 5_000);
  const shutdown = n("SHUTDOWN_TIMEOUT_MS", 25_000);
  if (window + handover >= shutdown) {
    throw new Error(
      `overrides: SHUTDOWN_TIMEOUT_MS (${shutdown}) must exceed DRAIN_WINDOW_MS + HANDOVER_TIMEOUT_MS (${window + handover})`,
    );
  }
  const preStop = preStopDelayMs(m.preStop) ?? 0;
  if (preStop + shutdown > m.graceMs) {
    throw new Error(
      `overrides: terminationGracePeriodSeconds (${m.graceMs / 1000}) must cover the preStop delay (${preStop} ms) + SHUTDOWN_TIMEOUT_MS (${shutdown} ms)`,
    );
  }
}

import type { K8sObject } from "./objects.js";

/**
 * Fields from experimental API channels that the installed models do not know yet. Each is
 * checked here against its published schema, then removed before the model-based validation.
 *
 * HTTPRoute `spec.rules[].sessionPersistence` (Gateway API experimental channel, GEP-1619):
 * transcribed from the HTTPRoute CRD of the experimental channel (v1.1 and later).
 */
const DURATION = /^([0-9]{1,5}(h|m|s|ms)){1,4}$/;
const SESSION_FIELDS = new Set(["sessionName", "absoluteTimeout", "idleTimeout", "type", "cookieConfig"]);

export function sessionPersistenceErrors(sp: unknown, path: string): string[] {
  if (sp === null || typeof sp !== "object" || Array.isArray(sp)) return [`${path}: must be an object`];
  const p = sp as Record<string, unknown>;
  const errors = Object.keys(p)
    .filter((k) => !SESSION_FIELDS.has(k))
    .map((k) => `${path}.${k}: unknown field`);
  if (p.sessionName !== undefined && (typeof p.sessionName !== "string" || p.sessionName.length > 128)) {
    errors.push(`${path}.sessionName: a string of at most 128 characters`);
  }
  for (const k of ["absoluteTimeout", "idleTimeout"]) {
    if (p[k] !== undefined && !(typeof p[k] === "string" && DURATION.test(p[k]))) {
      errors.push(`${path}.${k}: a Gateway API duration such as 1h or 30m`);
    }
  }
  if (p.type !== undefined && p.type !== "Cookie" && p.type !== "Header") {
    errors.push(`${path}.type: Cookie or Header`);
  }
  if (p.cookieConfig !== undefined) {
    const c = p.cookieConfig as Record<string, unknown>;
    const extra = Object.keys(c ?? {}).filter((k) => k !== "lifetimeType");
    errors.push(...extra.map((k) => `${path}.cookieConfig.${k}: unknown field`));
    if (c?.lifetimeType !== undefined && c.lifetimeType !== "Permanent" && c.lifetimeType !== "Session") {
      errors.push(`${path}.cookieConfig.lifetimeType: Permanent or Session`);
    }
    // CRD validation rule: a permanent cookie needs its lifetime.
    if (c?.lifetimeType === "Permanent" && p.absoluteTimeout === undefined) {
      errors.push(`${path}: absoluteTimeout is required when cookieConfig.lifetimeType is Permanent`);
    }
  }
  return errors;
}

/** Checks the experimental fields of `obj`; returns their errors and the object without them. */
export function splitExperimental(obj: K8sObject): { errors: string[]; rest: K8sObject } {
  if (obj.kind !== "HTTPRoute") return { errors: [], rest: obj };
  const rest = structuredClone(obj) as K8sObject & { spec?: { rules?: Array<Record<string, unknown>> } };
  const errors: string[] = [];
  (rest.spec?.rules ?? []).forEach((rule, i) => {
    if ("sessionPersistence" in rule) {
      errors.push(...sessionPersistenceErrors(rule.sessionPersistence, `spec.rules[${i}].sessionPersistence`));
      delete rule.sessionPersistence;
    }
  });
  return { errors, rest };
}

/**
 * The typo guard. A misspelt variable must stop the pod instead of being ignored: REDIS_ULR
 * would otherwise start every pod in embedded mode, each with its own history, and all of them
 * ready. Only names under the prefixes the server owns are checked; anything else in the
 * environment (PATH, NODE_OPTIONS, a sidecar's settings) is none of its business.
 */
export const OWNED_PREFIXES = [
  "REDIS_",
  "SESSION_",
  "HISTORY_",
  "IDEMPOTENCY_",
  "PRESENCE_",
  "MAX_CONNECTIONS",
  "DRAIN_",
  "HANDOVER_",
  "SHUTDOWN_",
  "PING_",
  "RATE_",
  "ABUSE_",
  "TRUST_PROXY_",
  "SLOW_CLIENT_",
  "ROOM_",
] as const;

/**
 * Variables the kubelet injects for every Service in the namespace (unless the pod sets
 * enableServiceLinks: false): a Service named `redis` yields REDIS_SERVICE_HOST,
 * REDIS_SERVICE_PORT(_<NAME>), REDIS_PORT=tcp://…, REDIS_PORT_6379_TCP(_PROTO|_PORT|_ADDR).
 * The bare `<NAME>_PORT` form is recognised by its value, so REDIS_PORT=6379 typed by hand is
 * still refused.
 */
export function isServiceLink(name: string, value: string | undefined): boolean {
  if (/^[A-Z0-9_]+_SERVICE_(HOST|PORT)(_[A-Z0-9_]+)?$/.test(name)) return true;
  if (/^[A-Z0-9_]+_PORT_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?$/.test(name)) return true;
  return /^[A-Z0-9_]+_PORT$/.test(name) && /^(tcp|udp|sctp):\/\/[^\s]+:\d+$/.test(value ?? "");
}

export interface UnknownVariable {
  name: string;
  closest: string;
}

/** Owned-prefix variables that `known` does not list, each with the nearest known name. */
export function unknownVariables(env: Record<string, string | undefined>, known: readonly string[]): UnknownVariable[] {
  const names = new Set(known);
  return Object.keys(env)
    .filter((name) => OWNED_PREFIXES.some((p) => name.startsWith(p)))
    .filter((name) => !names.has(name) && !isServiceLink(name, env[name]))
    .sort()
    .map((name) => ({ name, closest: closest(name, known) }));
}

function closest(name: string, known: readonly string[]): string {
  let best = known[0] ?? "";
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const d = editDistance(name, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

/** Levenshtein distance with one rolling row. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] as number;
      row[j] = Math.min(above + 1, (row[j - 1] as number) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] as number;
}

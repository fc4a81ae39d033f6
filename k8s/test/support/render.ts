import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { type K8sObject, parseObjects } from "./objects.js";
import { K8S_DIR } from "./paths.js";
import { kustomize, mapLimit } from "./tools.js";

/** The kustomize directories under k8s/overlays or k8s/components. */
export const kustomizeDirs = (kind: "overlays" | "components") =>
  readdirSync(join(K8S_DIR, kind))
    .filter((d) => statSync(join(K8S_DIR, kind, d, "kustomization.yaml"), { throwIfNoEntry: false }))
    .sort();

/**
 * The components that route traffic to the chat. They are alternatives (each one defines the
 * `chat` route), so a combination holds at most one of them.
 */
export const ROUTE_COMPONENTS = ["traefik", "ingress-nginx", "gateway-api"];

/** Components that are alternatives to each other: a combination holds at most one of each group. */
export const EXCLUSIVE_GROUPS = [
  ROUTE_COMPONENTS,
  // Two autoscalers on one Deployment fight each other.
  ["autoscaling-hpa", "autoscaling-connections"],
  // Each replaces the bundled Redis.
  ["redis-cluster", "redis-sentinel"],
];

/** Components that patch another component's objects, and the ones that can provide them. */
export const REQUIRES: Record<string, string[]> = {
  // Adds HTTPS to the Ingress.
  tls: ["traefik", "ingress-nginx"],
};

const compatible = (combo: string[]) =>
  EXCLUSIVE_GROUPS.every((g) => combo.filter((c) => g.includes(c)).length <= 1) &&
  combo.every((c) => (REQUIRES[c] ?? []).length === 0 || combo.some((x) => REQUIRES[c]?.includes(x)));

/**
 * The combinations worth rendering, without the full power set (which grows by 2x per
 * component): for each choice of route (or none), the route alone, with each other component
 * on its own, and with as many components as fit together (once per member of each exclusive
 * group). Every component therefore meets every route, and every pair of compatible
 * components meets at least once.
 */
export function componentCombinations(): string[][] {
  const all = kustomizeDirs("components");
  const others = all.filter((c) => !ROUTE_COMPONENTS.includes(c));
  const groups = EXCLUSIVE_GROUPS.slice(1).map((g) => g.filter((c) => others.includes(c)));
  const free = others.filter((c) => !groups.some((g) => g.includes(c)));
  const widest = Math.max(1, ...groups.map((g) => g.length));
  const out = new Map<string, string[]>();
  const add = (combo: string[]) => {
    if (compatible(combo)) out.set([...combo].sort().join(","), combo);
  };
  for (const route of [[], ...ROUTE_COMPONENTS.filter((r) => all.includes(r)).map((r) => [r])]) {
    add(route);
    for (const c of others) add([...route, c]);
    for (let i = 0; i < widest; i++) {
      const picks = groups.flatMap((g) => (g.length > 0 ? [g[i % g.length] as string] : []));
      add([...route, ...free.filter((c) => compatible([...route, c])), ...picks]);
    }
  }
  return [...out.values()];
}

export interface Rendering {
  label: string;
  /** True for k8s/overlays/*, which are deployed as they are (all references must resolve). */
  overlay: boolean;
  objects: K8sObject[];
}

export const comboLabel = (components: string[]) => `base + [${components.join(", ")}]`;

/** Renders the overlays and each combination of base + components, two kubectl at a time. */
export async function renderAll(combinations: string[][]): Promise<Rendering[]> {
  const scratch = mkdtempSync(join(tmpdir(), "k8s-chat-render-"));
  try {
    const overlays = kustomizeDirs("overlays").map((o) => ({
      label: `overlays/${o}`,
      dir: join(K8S_DIR, "overlays", o),
      overlay: true,
    }));
    const combos = combinations.map((components, i) => {
      // A throwaway kustomization next to nothing: base and components by relative path.
      const dir = join(scratch, `combo-${i}`);
      const rel = (p: string) => relative(dir, join(K8S_DIR, p));
      mkdirSync(dir);
      const lines = [
        "apiVersion: kustomize.config.k8s.io/v1beta1",
        "kind: Kustomization",
        "resources:",
        `  - ${rel("base")}`,
        ...(components.length > 0
          ? ["components:", ...components.map((c) => `  - ${rel(join("components", c))}`)]
          : []),
      ];
      writeFileSync(join(dir, "kustomization.yaml"), `${lines.join("\n")}\n`);
      return { label: comboLabel(components), dir, overlay: false };
    });
    return await mapLimit([...overlays, ...combos], 2, async ({ label, dir, overlay }) => ({
      label,
      overlay,
      objects: parseObjects(await kustomize(dir), label),
    }));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

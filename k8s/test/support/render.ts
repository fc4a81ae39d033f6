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

/** The components that replace the bundled Redis: alternatives too, at most one per combination. */
export const REDIS_COMPONENTS = ["redis-cluster", "redis-sentinel"];

/** Every valid combination: at most one route and one Redis component, and any subset of the others. */
export function componentCombinations(): string[][] {
  const alternatives = [...ROUTE_COMPONENTS, ...REDIS_COMPONENTS];
  const others = kustomizeDirs("components").filter((c) => !alternatives.includes(c));
  const subsets: string[][] = [[]];
  for (const c of others) subsets.push(...subsets.map((s) => [...s, c]));
  const oneOf = (choices: string[]) => [[], ...choices.map((c) => [c])];
  return oneOf(ROUTE_COMPONENTS).flatMap((route) =>
    oneOf(REDIS_COMPONENTS).flatMap((redis) => subsets.map((s) => [...route, ...redis, ...s])),
  );
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

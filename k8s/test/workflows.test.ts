import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { K8S_DIR, repoPath } from "./support/paths.js";

/**
 * The GitHub Actions workflows (.github/workflows): each passes action-validator (offline, the
 * schemas are inside the npm package), and the kind workflow uses the versions the repository
 * pins. Nothing here runs a workflow: this machine has no container engine.
 */

const VALIDATOR = join(K8S_DIR, "node_modules", ".bin", "action-validator");
const validate = (file: string) => spawnSync(VALIDATOR, [file], { encoding: "utf8" });
const dir = repoPath(".github", "workflows");
const workflows = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
const read = (...p: string[]) => readFileSync(repoPath(...p), "utf8");

describe("GitHub Actions workflows", () => {
  it("exist", () => {
    expect(workflows).toContain("kind-e2e.yml");
  });

  it.each(workflows)("%s passes action-validator", (file) => {
    const result = validate(join(dir, file));
    expect(result.error).toBeUndefined();
    expect(result.status, `${result.stdout}${result.stderr}`).toBe(0);
  });

  it("action-validator rejects a broken workflow (so the check above can fail)", () => {
    const scratch = mkdtempSync(join(tmpdir(), "workflow-"));
    try {
      const bad = join(scratch, "bad.yml");
      writeFileSync(bad, "name: bad\non: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    stepz: []\n");
      const result = validate(bad);
      expect(result.status).not.toBe(0);
      expect(`${result.stdout}${result.stderr}`).toContain("Additional property 'stepz' is not allowed");
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});

describe("kind-e2e.yml", () => {
  // biome-ignore lint/suspicious/noExplicitAny: a parsed workflow is explored freely and asserted on
  const wf = parse(read(".github", "workflows", "kind-e2e.yml")) as any;
  const steps = (job: string): Array<{ uses?: string; run?: string; if?: string; with?: Record<string, unknown> }> =>
    wf.jobs[job].steps;
  const script = (job: string) =>
    steps(job)
      .map((s) => s.run ?? "")
      .join("\n");

  it("creates the cluster from k8s/kind/cluster.yaml, with the kind release that built its node image", () => {
    expect(script("kind")).toContain("kind create cluster --config k8s/kind/cluster.yaml");
    const pinned = read("k8s", "kind", "cluster.yaml").match(/kind (v\d+\.\d+\.\d+)'s image/)?.[1];
    expect(wf.env.KIND_VERSION).toBe(pinned);
  });

  it("installs the Traefik chart version that the docs and the values file pin", () => {
    const chart = read("k8s", "kind", "traefik-values.yaml").match(/--version (\S+)/)?.[1];
    expect(wf.env.TRAEFIK_CHART_VERSION).toBe(chart);
    expect(script("kind")).toContain("--values k8s/kind/traefik-values.yaml");
  });

  it("deploys with skaffold run, then runs the cluster specs and the load test against kind", () => {
    const s = script("kind");
    // The load test's bots share one address: the per-address limits are lifted just before it.
    const order = ["skaffold run", "test:cluster", "RATE_CONNECTIONS_PER_IP=", "node/rollout-load.test.ts"].map((x) =>
      s.indexOf(x),
    );
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(wf.jobs.kind.env.E2E_TARGET).toBe("kind");
  });

  it("uploads the test results when something failed", () => {
    const upload = steps("kind").find((s) => s.uses?.startsWith("actions/upload-artifact@"));
    expect(upload?.if).toBe("failure()");
    expect(String(upload?.with?.path)).toContain("e2e/test-results");
  });

  it("builds the image for amd64 and arm64 with buildx", () => {
    const build = steps("image").find((s) => s.uses?.startsWith("docker/build-push-action@"));
    expect(build?.with?.platforms).toBe("linux/amd64,linux/arm64");
    expect(build?.with?.push).toBe(false);
    expect(steps("image").some((s) => s.uses?.startsWith("docker/setup-qemu-action@"))).toBe(true);
  });
});

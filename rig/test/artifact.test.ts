/**
 * The rig's pods run the image's artifact as the image runs it: built by
 * scripts/deploy-artifact.sh and reused, started with the manifest's command in the artifact's
 * root, as uid 10001 when the rig is root, on a tree that user cannot write; and an artifact
 * that lacks a production dependency fails the rig with the pod's own error.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureArtifact, IMAGE_USER } from "../src/artifact.js";
import { FAST } from "../src/overrides.js";
import { type Rig, startRig } from "../src/rig.js";

const isRoot = process.getuid?.() === 0;
const ONE_POD = { ...FAST, replicas: 1 };

describe("the deploy artifact", () => {
  it("is built by deploy-artifact.sh with the client beside it, as in the image, and reused", async () => {
    const first = await ensureArtifact();
    const again = await ensureArtifact();
    expect(again).toMatchObject({ root: first.root, hash: first.hash, reused: true });
    expect(first.root.startsWith(tmpdir())).toBe(true);
    // The runtime stage's /app: server/ (the script's output) and client/dist, nothing else.
    expect(
      readdirSync(first.root)
        .filter((e) => !e.startsWith("."))
        .sort(),
    ).toEqual(["client", "server"]);
    expect(readdirSync(join(first.root, "server")).sort()).toEqual(["dist", "node_modules", "package.json"]);
    expect(existsSync(join(first.root, "server/node_modules/ioredis/package.json"))).toBe(true);
    expect(existsSync(join(first.root, "server/node_modules/vitest"))).toBe(false);
    expect(existsSync(join(first.root, "client/dist/index.html"))).toBe(true);
  }, 120_000);

  it.runIf(isRoot)(
    "cannot be written by the pod's user (uid 10001), which can read it",
    async () => {
      const { root } = await ensureArtifact();
      const asPodUser = (code: string) =>
        spawnSync(process.execPath, ["-e", code], { cwd: root, ...IMAGE_USER, encoding: "utf8", timeout: 10_000 });
      const read = asPodUser(`require("fs").readFileSync("server/dist/main.js")`);
      expect(read.status, read.stderr).toBe(0);
      for (const target of ["server/dist/written.txt", "written.txt", "server/node_modules/ioredis/written.txt"]) {
        const write = asPodUser(`require("fs").writeFileSync(${JSON.stringify(target)}, "x")`);
        expect(write.status, `${target} was writable`).not.toBe(0);
        expect(write.stderr).toContain("EACCES");
      }
    },
    120_000,
  );
});

describe("a pod of the rig", () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ overrides: ONE_POD });
  }, 120_000);
  afterAll(() => rig?.stop());

  it("runs the manifest's command in the artifact's root, as the image's user when root", async () => {
    const [pod] = rig.pods();
    expect(pod?.pid).toBeDefined();
    const proc = pod?.process;
    expect(proc).toMatchObject({ command: process.execPath, args: ["server/dist/main.js"], cwd: rig.artifact.root });
    // What the kernel says, not what the rig meant to do.
    expect(readlinkSync(`/proc/${pod?.pid}/cwd`)).toBe(rig.artifact.root);
    const uidLine = readFileSync(`/proc/${pod?.pid}/status`, "utf8").match(/^Uid:\s+(\d+)/m)?.[1];
    const expected = isRoot ? IMAGE_USER.uid : process.getuid?.();
    expect(Number(uidLine)).toBe(expected);
    expect(proc?.uid).toBe(expected);
    if (!isRoot) expect(rig.log.events.some((e) => e.detail?.field === "securityContext.runAsUser")).toBe(true);
    // The server's default CLIENT_DIR finds the client laid out beside it, as in the image.
    const page = await fetch(`${pod?.url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("<div id=");
  });
});

describe("an artifact lacking a production dependency", () => {
  let broken: string;
  beforeAll(async () => {
    const { root } = await ensureArtifact();
    broken = mkdtempSync(join(tmpdir(), "chat-rig-broken-"));
    chmodSync(broken, 0o755);
    cpSync(root, broken, { recursive: true, verbatimSymlinks: true });
    rmSync(join(broken, "server/node_modules/ioredis"), { recursive: true, force: true });
  }, 120_000);
  afterAll(() => rmSync(broken, { recursive: true, force: true }));

  it("never gets a ready pod, and the rig says why, in bounded time", async () => {
    const t0 = Date.now();
    const started = startRig({ overrides: ONE_POD, artifactRoot: broken, operationTimeoutMs: 8000 });
    await expect(started).rejects.toThrow(/not settled[\s\S]*exited on their own[\s\S]*ioredis/);
    expect(Date.now() - t0).toBeLessThan(30_000);
  }, 60_000);
});

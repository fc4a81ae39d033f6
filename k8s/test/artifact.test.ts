import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoPath } from "./support/paths.js";

/**
 * scripts/deploy-artifact.sh, the one way to make the server's deploy directory (the Dockerfile
 * runs it too): what it contains, and that a pod starts from it with no workspace around.
 * Needs protocol/ and server/ built (`pnpm build`, which `pnpm test` runs first).
 */

const run = promisify(execFile);
const SCRIPT = repoPath("scripts", "deploy-artifact.sh");
// pnpm as the test runner got it (npm_execpath under `pnpm test`), else the declared version.
const declared = (JSON.parse(readFileSync(repoPath("package.json"), "utf8")) as { packageManager: string })
  .packageManager;
const PNPM = process.env.npm_execpath?.includes("pnpm")
  ? `${process.execPath} ${process.env.npm_execpath}`
  : `npx -y ${declared}`;

// Outside the repository, so nothing can be resolved from the workspace's node_modules.
const scratch = mkdtempSync(join(tmpdir(), "chat-artifact-"));
const out = join(scratch, "server");
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const deploy = (dir: string) => run("sh", [SCRIPT, dir], { env: { ...process.env, PNPM }, maxBuffer: 16 << 20 });

beforeAll(async () => {
  await deploy(out);
}, 120_000);

/** Package names installed in the artifact's virtual store (name@version entries). */
const installed = () =>
  readdirSync(join(out, "node_modules", ".pnpm")).filter((e) => e !== "node_modules" && e !== "lock.yaml");

describe("scripts/deploy-artifact.sh", () => {
  it("makes package.json, dist/ and production node_modules, and nothing else", () => {
    expect(readdirSync(out).sort()).toEqual(["dist", "node_modules", "package.json"]);
    expect(existsSync(join(out, "dist", "main.js"))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, "package.json"), "utf8")).name).toBe("@chat/server");
    // Workspace packages are copied in (not linked), as built output only.
    expect(readdirSync(join(out, "node_modules", "@chat")).sort()).toEqual(["protocol"]);
    expect(readdirSync(join(out, "node_modules", "@chat", "protocol")).sort()).toEqual(["dist", "package.json"]);
    const packages = installed();
    expect(packages.some((p) => p.startsWith("express@"))).toBe(true);
    for (const dev of ["vitest", "@chat+testkit", "fast-check", "tsx", "typescript", "socket.io-client"]) {
      expect(
        packages.filter((p) => p.startsWith(`${dev}@`)),
        `${dev} is a dev dependency`,
      ).toEqual([]);
    }
  });

  it("needs no install script: the only packages with one are ws's optional accelerators", () => {
    // Each entry of the virtual store is `<name>@<version>[_peers]`, with `+` for the scope's `/`.
    const withScripts = installed().filter((entry) => {
      const name = (entry.match(/^(@?[^@]+)@/)?.[1] ?? entry).replace("+", "/");
      const manifest = join(out, "node_modules", ".pnpm", entry, "node_modules", name, "package.json");
      const { scripts } = JSON.parse(readFileSync(manifest, "utf8")) as { scripts?: Record<string, string> };
      return ["preinstall", "install", "postinstall"].some((s) => scripts?.[s] !== undefined);
    });
    expect(withScripts.map((p) => p.replace(/@[^@]+$/, "")).sort()).toEqual(["bufferutil", "utf-8-validate"]);
  });

  it("starts a pod with `node <dir>/dist/main.js` and no workspace around, dual-stack", async () => {
    const pod: ChildProcess = spawn(process.execPath, [join(out, "dist", "main.js")], {
      cwd: scratch,
      env: { PATH: process.env.PATH, PORT: "0", ADMIN_PORT: "0", HOST: "::", POD_NAME: "artifact", LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let log = "";
        const timer = setTimeout(() => reject(new Error(`no "listening" within 20 s:\n${log}`)), 20_000);
        pod.stdout?.on("data", (d: Buffer) => {
          log += d.toString();
          const line = log.split("\n").find((l) => l.includes('"msg":"listening"'));
          if (line) {
            clearTimeout(timer);
            resolve((JSON.parse(line) as { port: number }).port);
          }
        });
        pod.once("exit", (code) => reject(new Error(`exited ${code}:\n${log}`)));
      });
      // One socket on :: answers IPv4 too.
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
      expect((await fetch(`http://[::1]:${port}/livez`)).status).toBe(200);
      const exited = new Promise<number | null>((resolve) => pod.once("exit", resolve));
      pod.kill("SIGTERM");
      expect(await exited).toBe(0);
    } finally {
      pod.kill("SIGKILL");
    }
  }, 40_000);

  it("refuses a bad setting with exit 78, from the artifact too", async () => {
    const result = await run(process.execPath, [join(out, "dist", "main.js")], {
      cwd: scratch,
      env: { PATH: process.env.PATH, ROOM_IDLE_TTL_MS: "10" },
    }).then(
      () => ({ code: 0, stderr: "" }),
      (err: { code: number; stderr: string }) => err,
    );
    expect(result.code).toBe(78);
    expect(result.stderr).toContain("ROOM_IDLE_TTL_MS");
  });

  it("replaces an earlier artifact in place, but never a directory that is not one", async () => {
    await deploy(out);
    expect(existsSync(join(out, "dist", "main.js"))).toBe(true);
    const precious = join(scratch, "precious");
    mkdirSync(precious);
    writeFileSync(join(precious, "notes.txt"), "keep me");
    await expect(deploy(precious)).rejects.toThrow(/not a server artifact; refusing/);
    expect(readFileSync(join(precious, "notes.txt"), "utf8")).toBe("keep me");
    // No half-made artifact or temporary directory is left next to it.
    expect(readdirSync(scratch).filter((e) => e.startsWith(".deploy-artifact"))).toEqual([]);
  }, 120_000);
});

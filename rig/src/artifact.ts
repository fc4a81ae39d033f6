/**
 * What the image holds, as a directory the rig's pods start from: scripts/deploy-artifact.sh's
 * server directory (package.json, dist/, production node_modules, nothing else) at server/, and
 * the built client at client/dist, laid out as the Dockerfile's runtime stage lays out /app. A
 * missing production dependency, a dev-only import or a write to the tree fails here as it would
 * in the container, not only after a `docker build`.
 *
 * Built once per set of inputs and reused: the directory is named by a hash of server/dist,
 * protocol/dist, client/dist, the package manifests and the lockfile, so an unchanged workspace
 * costs one hash. It lives under os.tmpdir(), not in the repository: a pod running as uid 10001
 * must traverse every parent directory, and a repository under /root (0700) would refuse it.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT } from "./manifest.js";

/** The image's WORKDIR; the artifact's root stands in for it. */
export const IMAGE_WORKDIR = "/app";
/** The image's CMD, used when the Deployment's container sets no `command` (Dockerfile). */
export const IMAGE_CMD = ["node", "server/dist/main.js"];
/** The image's ENV, under the manifest's own env as in a container. */
export const IMAGE_ENV: Record<string, string> = { NODE_ENV: "production", HOST: "::" };
/** The image's USER (uid:gid), which the Deployment's securityContext names too. */
export const IMAGE_USER = { uid: 10001, gid: 10001 };

export const ARTIFACTS_ROOT = join(tmpdir(), "chat-rig-artifact");
const STAMP = ".inputs";
const KEEP = 3;
const INPUTS = [
  "server/dist",
  "protocol/dist",
  "client/dist",
  "server/package.json",
  "protocol/package.json",
  "pnpm-lock.yaml",
  "scripts/deploy-artifact.sh",
];

export interface Artifact {
  /** Stands in for the image's /app: server/ and client/dist below it. */
  root: string;
  /** The inputs' hash, which names the directory. */
  hash: string;
  /** True when an earlier build with the same inputs was reused. */
  reused: boolean;
  ms: number;
}

/** A hash of every input file's path and content (server/dist etc. are small). */
export function inputsHash(repo = REPO_ROOT): string {
  const h = createHash("sha256");
  const walk = (path: string) => {
    if (!existsSync(path)) throw new Error(`rig: ${relative(repo, path)} is missing; build first (pnpm build)`);
    if (statSync(path).isDirectory()) {
      for (const entry of readdirSync(path).sort()) walk(join(path, entry));
      return;
    }
    h.update(relative(repo, path)).update("\0").update(readFileSync(path)).update("\0");
  };
  for (const input of INPUTS) walk(join(repo, input));
  return h.digest("hex").slice(0, 16);
}

/** The pnpm command deploy-artifact.sh runs: pnpm when on PATH, else the declared version via npx. */
function pnpmCommand(): string {
  if (process.env.PNPM) return process.env.PNPM;
  const onPath = (process.env.PATH ?? "").split(":").some((d) => d && existsSync(join(d, "pnpm")));
  if (onPath) return "pnpm";
  const declared = (JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { packageManager: string })
    .packageManager;
  return `npx -y ${declared}`;
}

/**
 * The artifact for the workspace as it is now: reused when the inputs are unchanged, else built
 * with scripts/deploy-artifact.sh (offline, from the pnpm store) beside the built client, made
 * read-only for everyone but its owner, and moved into place in one rename, so concurrent rigs
 * never see a half-made tree.
 */
export async function ensureArtifact(opts: { root?: string } = {}): Promise<Artifact> {
  const t0 = Date.now();
  const base = opts.root ?? ARTIFACTS_ROOT;
  const hash = inputsHash();
  const dir = join(base, hash);
  if (existsSync(join(dir, STAMP))) return { root: dir, hash, reused: true, ms: Date.now() - t0 };

  mkdirSync(base, { recursive: true });
  chmodSync(base, 0o755);
  const staging = mkdtempSync(join(base, ".staging-"));
  try {
    try {
      await promisify(execFile)("sh", [join(REPO_ROOT, "scripts/deploy-artifact.sh"), join(staging, "server")], {
        cwd: REPO_ROOT,
        env: { ...process.env, PNPM: pnpmCommand() },
        maxBuffer: 16 << 20,
      });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`rig: scripts/deploy-artifact.sh failed:\n${e.stderr || e.message}`);
    }
    // The Dockerfile's runtime stage: COPY client/dist ./client/dist beside ./server.
    cpSync(join(REPO_ROOT, "client/dist"), join(staging, "client/dist"), { recursive: true });
    writeFileSync(join(staging, STAMP), `${hash}\n`);
    // mkdtemp makes 0700; the pod's user must read and traverse, never write (as in the image,
    // whose files belong to root). go-w only removes bits, so files hard-linked from the pnpm
    // store keep their (already read-only) modes.
    chmodSync(staging, 0o755);
    await promisify(execFile)("chmod", ["-R", "go-w", staging]);
    try {
      renameSync(staging, dir);
    } catch (err) {
      // Another rig finished the same inputs first: use that one.
      if (!existsSync(join(dir, STAMP))) throw err;
      rmSync(staging, { recursive: true, force: true });
    }
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  prune(base, hash);
  return { root: dir, hash, reused: false, ms: Date.now() - t0 };
}

/** Keep the few newest builds (a rig still running an older one is not disturbed by one more). */
function prune(base: string, keep: string) {
  const builds = readdirSync(base)
    .filter((d) => !d.startsWith(".") && d !== keep)
    .map((d) => ({ d, t: statSync(join(base, d)).mtimeMs }))
    .sort((a, b) => b.t - a.t)
    .slice(KEEP - 1);
  for (const { d } of builds) rmSync(join(base, d), { recursive: true, force: true });
}

/**
 * Where a container's workingDir lands in the artifact: the image's WORKDIR (/app) is the
 * artifact's root; anything outside it is not in the artifact, so the rig refuses it.
 */
export function mapWorkingDir(artifactRoot: string, workingDir: string | undefined): string {
  const wd = workingDir ?? IMAGE_WORKDIR;
  if (wd === IMAGE_WORKDIR) return artifactRoot;
  if (wd.startsWith(`${IMAGE_WORKDIR}/`)) return join(artifactRoot, wd.slice(IMAGE_WORKDIR.length + 1));
  throw new Error(
    `manifest: workingDir ${wd} is outside the image's ${IMAGE_WORKDIR}; the rig models only the artifact`,
  );
}

/**
 * The container's argv as Kubernetes builds it: `command` replaces the image's ENTRYPOINT
 * (which this image leaves unset) and drops its CMD; `args` alone replaces the CMD. With
 * neither, the image's CMD runs.
 */
export function containerArgv(command: string[] | undefined, args: string[] | undefined): string[] {
  if (command) return [...command, ...(args ?? [])];
  if (args) return args;
  return IMAGE_CMD;
}

import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";

/** Every child started through here; killed when this process exits, so a crash leaves no orphans. */
const children = new Set<ChildProcess>();
let hooked = false;

function hookExit() {
  if (hooked) return;
  hooked = true;
  process.once("exit", () => {
    for (const child of children) child.kill("SIGKILL");
  });
}

export interface Managed {
  child: ChildProcess;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  exited: Promise<number | string>;
  /** Everything the process printed, for diagnostics. */
  output: () => string;
}

export function spawnManaged(cmd: string, args: string[], opts: SpawnOptions = {}): Managed {
  hookExit();
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], ...opts });
  children.add(child);
  const chunks: string[] = [];
  let size = 0;
  const keep = (b: Buffer) => {
    // Keep the last ~1 MiB: enough to diagnose, bounded for long runs.
    chunks.push(b.toString());
    size += b.length;
    while (size > 1 << 20 && chunks.length > 1) size -= chunks.shift()?.length ?? 0;
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => {
      children.delete(child);
      resolve(code ?? signal ?? "unknown");
    });
    child.once("error", (err) => {
      children.delete(child);
      chunks.push(String(err));
      resolve("spawn-error");
    });
  });
  return { child, exited, output: () => chunks.join("") };
}

/** Signal a process and wait for its exit, escalating to SIGKILL after `graceMs`. */
export async function stopProcess(p: Managed, signal: NodeJS.Signals = "SIGTERM", graceMs = 5000) {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return p.exited;
  p.child.kill(signal);
  const timer = setTimeout(() => p.child.kill("SIGKILL"), graceMs);
  const result = await p.exited;
  clearTimeout(timer);
  return result;
}

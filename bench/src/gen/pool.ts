import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Command, Envelope, Reply } from "./messages.js";

/** Compiled entry of the generator process (built by `pnpm --filter @chat/bench build`). */
export const WORKER_ENTRY = fileURLToPath(new URL("../../dist/gen/worker.js", import.meta.url));

interface Gen {
  child: ChildProcess;
  pending: Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>;
}

/** The generator processes, driven over IPC; each command goes to all of them in parallel. */
export class GenPool {
  private readonly gens: Gen[] = [];
  private nextId = 0;

  static async start(count: number, env: Record<string, string> = {}): Promise<GenPool> {
    const pool = new GenPool();
    for (let i = 0; i < count; i++) {
      const child = fork(WORKER_ENTRY, [], {
        stdio: ["ignore", "inherit", "inherit", "ipc"],
        env: { ...process.env, ...env },
      });
      const gen: Gen = { child, pending: new Map() };
      child.on("message", (reply: Reply) => {
        const p = gen.pending.get(reply.id);
        if (!p) return;
        gen.pending.delete(reply.id);
        if (reply.ok) p.resolve(reply.result);
        else p.reject(new Error(`generator ${i}: ${reply.error}`));
      });
      child.on("exit", (code) => {
        for (const p of gen.pending.values()) p.reject(new Error(`generator ${i} exited (${code})`));
        gen.pending.clear();
      });
      pool.gens.push(gen);
    }
    await Promise.all(pool.gens.map((_, i) => pool.one(i, { cmd: "init", gen: i + 1 })));
    return pool;
  }

  get size() {
    return this.gens.length;
  }

  get pids(): number[] {
    return this.gens.map((g) => g.child.pid).filter((p): p is number => p !== undefined);
  }

  one<T>(index: number, body: Command, timeoutMs = 300_000): Promise<T> {
    const gen = this.gens[index];
    if (!gen) return Promise.reject(new Error(`no generator ${index}`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        gen.pending.delete(id);
        reject(new Error(`generator ${index}: ${body.cmd} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      gen.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      gen.child.send({ id, body } satisfies Envelope);
    });
  }

  /** The same command to every generator (or a per-generator variant), answers in order. */
  all<T>(body: Command | ((index: number) => Command), timeoutMs?: number): Promise<T[]> {
    return Promise.all(this.gens.map((_, i) => this.one<T>(i, typeof body === "function" ? body(i) : body, timeoutMs)));
  }

  async stop() {
    await this.all({ cmd: "closeAll" }, 10_000).catch(() => {});
    for (const g of this.gens) {
      g.child.disconnect?.();
      const exited = new Promise((r) => g.child.once("exit", r));
      const timer = setTimeout(() => g.child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    }
  }
}

import { type ChildProcess, fork } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type { Command, Envelope, Reply } from "./messages.js";

/** A generator process' program. */
export interface GenEntry {
  path: string;
  execArgv: string[];
}

/** The lean generator (fan-out, capacity), compiled (built by `pnpm --filter @chat/bench build`). */
export const LEAN_WORKER: GenEntry = {
  path: fileURLToPath(new URL("../../dist/gen/worker.js", import.meta.url)),
  execArgv: [],
};

/**
 * The rollout generator: the shipped client core, which ships TypeScript sources, so it runs
 * from src under tsx (the loader costs start-up time, not run time).
 */
export const CHAT_WORKER: GenEntry = {
  path: fileURLToPath(new URL("../../src/gen/chat/worker.ts", import.meta.url)),
  execArgv: ["--import", createRequire(import.meta.url).resolve("tsx")],
};

interface Gen {
  child: ChildProcess;
  pending: Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>;
}

/** The generator processes, driven over IPC; each command goes to all of them in parallel. */
export class GenPool {
  private readonly gens: Gen[] = [];
  private nextId = 0;

  static async start(count: number, entry: GenEntry = LEAN_WORKER): Promise<GenPool> {
    const pool = new GenPool();
    for (let i = 0; i < count; i++) {
      const child = fork(entry.path, [], {
        execArgv: entry.execArgv,
        stdio: ["ignore", "inherit", "inherit", "ipc"],
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

/** Where the lean generator's compiled entry is (the CLI checks it was built). */
export const WORKER_ENTRY = LEAN_WORKER.path;

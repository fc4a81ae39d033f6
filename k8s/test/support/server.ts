import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { repoPath } from "./paths.js";

/** Prometheus metric names the server registers (`name: "chat_..."` in server/src). */
export function serverMetricNames(): Set<string> {
  const dir = repoPath("server", "src");
  const files = readdirSync(dir, { recursive: true, encoding: "utf8" }).filter(
    (f) => f.endsWith(".ts") && !f.endsWith(".test.ts"),
  );
  const names = new Set<string>();
  for (const f of files) {
    for (const m of readFileSync(join(dir, f), "utf8").matchAll(/\bname:\s*"(chat_[a-z0-9_]+)"/g))
      names.add(m[1] as string);
  }
  return names;
}

/** Just enough of the Dockerfile and .dockerignore formats for the tests' checks. */

export interface Instruction {
  op: string;
  args: string;
  line: number;
}

/** Instructions with continuation lines joined and comments dropped. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = "";
  let start = 0;
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (pending === "" && (line === "" || line.startsWith("#"))) return;
    if (pending === "") start = i + 1;
    if (line.startsWith("#")) return;
    pending += `${line.replace(/\\$/, "").trim()} `;
    if (!line.endsWith("\\")) {
      const [op = "", ...rest] = pending.trim().split(/\s+/);
      out.push({ op: op.toUpperCase(), args: rest.join(" "), line: start });
      pending = "";
    }
  });
  return out;
}

/** COPY/ADD sources (not from another stage), and the stage they copy from if any. */
export function copySources(ins: Instruction): { from?: string; sources: string[] } {
  const words = ins.args.split(/\s+/);
  const flags = words.filter((w) => w.startsWith("--"));
  const paths = words.filter((w) => !w.startsWith("--"));
  const from = flags.find((f) => f.startsWith("--from="))?.slice("--from=".length);
  return { from, sources: paths.slice(0, -1) };
}

/** The exec-form CMD/ENTRYPOINT as an array. */
export const execForm = (ins: Instruction): string[] => JSON.parse(ins.args) as string[];

/** .dockerignore semantics: patterns match a path or any of its parent directories; the last match wins. */
export function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => {
      const negate = l.startsWith("!");
      const pattern = (negate ? l.slice(1) : l).replace(/^\/+/, "").replace(/\/+$/, "");
      const regex = pattern
        .split("/")
        .map((part) =>
          part === "**"
            ? ".*"
            : part
                .replace(/[.+^${}()|[\]\\]/g, "\\$&")
                .replace(/\*/g, "[^/]*")
                .replace(/\?/g, "[^/]"),
        )
        .join("/")
        .replace(/\.\*\//g, "(?:.*/)?");
      return { negate, re: new RegExp(`^${regex}$`) };
    });
  return (path: string) => {
    const parts = path.replace(/^\.?\//, "").split("/");
    const candidates = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
    let ignored = false;
    for (const { negate, re } of rules) {
      if (candidates.some((c) => re.test(c))) ignored = !negate;
    }
    return ignored;
  };
}

/** The build stages, by name (or index), each with its own instructions, FROM first. */
export function stages(instructions: Instruction[]): Map<string, Instruction[]> {
  const out = new Map<string, Instruction[]>();
  let current: Instruction[] | undefined;
  for (const ins of instructions) {
    if (ins.op === "FROM") {
      current = [ins];
      out.set(ins.args.split(/\s+AS\s+/i)[1] ?? String(out.size), current);
    } else current?.push(ins);
  }
  return out;
}

/** A RUN's `--mount=` flags and the shell command after them. */
export function runParts(ins: Instruction): { mounts: string[]; command: string } {
  const words = ins.args.split(/\s+/);
  const mounts = words.filter((w) => w.startsWith("--mount="));
  const command = words.filter((w) => !w.startsWith("--mount=")).join(" ");
  return { mounts, command };
}

/** The stage a stage is built FROM, back to its base image: ["runtime", "node:26-alpine"]. */
export function ancestry(all: Map<string, Instruction[]>, stage: string): string[] {
  const chain = [stage];
  let from = all.get(stage)?.[0]?.args.split(/\s+/)[0];
  while (from && all.has(from) && !chain.includes(from)) {
    chain.push(from);
    from = all.get(from)?.[0]?.args.split(/\s+/)[0];
  }
  if (from && !all.has(from)) chain.push(from);
  return chain;
}

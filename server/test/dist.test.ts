import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// What the image ships is server/dist: it must hold production code only.
const DIST = fileURLToPath(new URL("../dist", import.meta.url));
const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".js") ? [join(dir, e.name)] : [],
  );

describe("server/dist", () => {
  it("holds the entry point and no test code", () => {
    const js = files(DIST);
    expect(js.map((f) => f.slice(DIST.length + 1))).toContain("main.js");
    const offenders = js.filter((f) =>
      /from "(vitest|fast-check|@chat\/testkit|socket\.io-client)"|\.test\.js|\/test\//.test(readFileSync(f, "utf8")),
    );
    expect(offenders).toEqual([]);
  });
});

import { describe, expect, it } from "vitest";
import { requireBinary } from "./binaries.js";

describe("requireBinary", () => {
  it("finds a binary on PATH", () => {
    expect(requireBinary("sh", "dash")).toMatch(/\/sh$/);
  });

  it("names the Debian package to install when a binary is missing", () => {
    expect(() => requireBinary("no-such-binary-xyz", "some-package")).toThrow(
      "no-such-binary-xyz not found: install the Debian package 'some-package' (apt-get install -y some-package)",
    );
  });
});

import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.js";

describe("ROOM_IDLE_TTL_MS", () => {
  it("defaults to three days and accepts any whole number of ms from 1000 up", () => {
    expect(loadConfig({}).ROOM_IDLE_TTL_MS).toBe(3 * 24 * 3600_000);
    expect(loadConfig({ ROOM_IDLE_TTL_MS: "1000" }).ROOM_IDLE_TTL_MS).toBe(1000);
  });

  it.each(["999", "0", "-5", "2.5", "3d", "soon"])("refuses %s with a ConfigError naming the variable", (value) => {
    expect(() => loadConfig({ ROOM_IDLE_TTL_MS: value })).toThrow(ConfigError);
    expect(() => loadConfig({ ROOM_IDLE_TTL_MS: value })).toThrow(/ROOM_IDLE_TTL_MS/);
  });
});

describe("HOST", () => {
  it("is unset by default (Node listens on :: where IPv6 exists, else 0.0.0.0) and taken as given", () => {
    expect(loadConfig({}).HOST).toBeUndefined();
    expect(loadConfig({ HOST: "::" }).HOST).toBe("::");
    expect(loadConfig({ HOST: "127.0.0.1" }).HOST).toBe("127.0.0.1");
  });
});

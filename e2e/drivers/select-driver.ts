/** Which cluster the specs run against: E2E_TARGET=rig (default) or kind. */
import type { ClusterDriver, Target } from "./driver.js";
import type { RigDriverOptions } from "./rig-driver.js";

export function targetFromEnv(env: NodeJS.ProcessEnv = process.env): Target {
  const t = env.E2E_TARGET ?? "rig";
  if (t !== "rig" && t !== "kind") throw new Error(`E2E_TARGET must be 'rig' or 'kind', got '${t}'`);
  return t;
}

/** The driver E2E_TARGET asks for. Imported lazily so a kind run never loads the rig, and vice versa. */
export async function driverFromEnv(opts: RigDriverOptions = {}): Promise<ClusterDriver> {
  if (targetFromEnv() === "kind") {
    const { KindDriver } = await import("./kind-driver.js");
    return KindDriver.connect();
  }
  const { RigDriver } = await import("./rig-driver.js");
  return RigDriver.start(opts);
}

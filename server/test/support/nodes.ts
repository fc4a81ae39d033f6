import { loopbackLimits } from "@chat/testkit";
import { type App, createApp } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import { createDeps } from "../../src/deps.js";
import { createLogger } from "../../src/logger.js";

export interface Node {
  app: App;
  url: string;
  adminUrl: string;
}

/** Start `count` pods in this process on ephemeral ports with shared env (Redis or in-memory). */
export async function startNodes(count: number, env: Record<string, string> = {}): Promise<Node[]> {
  const nodes: Node[] = [];
  for (let i = 0; i < count; i++) {
    const config = loadConfig({
      PORT: "0",
      ADMIN_PORT: "0",
      HOST: "127.0.0.1",
      POD_NAME: `node-${i}`,
      LOG_LEVEL: "silent",
      SESSION_SECRET: "integration-test-secret-0123456789",
      ...loopbackLimits(),
      ...env,
    });
    const app = createApp(createDeps(config, createLogger(config)));
    const { port, adminPort } = await app.listen();
    if (env.REDIS_URL || env.REDIS_CLUSTER_NODES) await waitReady(app);
    nodes.push({ app, url: `http://127.0.0.1:${port}`, adminUrl: `http://127.0.0.1:${adminPort}` });
  }
  return nodes;
}

async function waitReady(app: App) {
  for (let i = 0; i < 200 && !app.lifecycle.readiness().ready; i++) await new Promise((r) => setTimeout(r, 25));
  if (!app.lifecycle.readiness().ready) throw new Error("node did not become ready");
}

export async function stopNodes(nodes: Node[]) {
  await Promise.all(nodes.map((n) => n.app.close()));
}

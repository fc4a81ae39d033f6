import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

/** Where `pnpm dev` forwards the socket and the probes: a server started with `pnpm --filter @chat/server dev`. */
const server = process.env.CHAT_SERVER_URL ?? "http://localhost:8080";
/** The server serves /metrics on its private admin port (ADMIN_PORT, 9090 by default), not on the public one. */
const admin = process.env.CHAT_ADMIN_URL ?? "http://localhost:9090";

export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true },
  server: {
    proxy: {
      // Host is passed through unchanged, so it matches the browser's Origin: the server accepts
      // same-origin handshakes only (unless ALLOWED_ORIGINS says otherwise).
      "/socket.io": { target: server, ws: true },
      "/livez": server,
      "/readyz": server,
      "/metrics": admin,
    },
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts"],
    restoreMocks: true,
  },
});

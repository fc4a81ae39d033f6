import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

/** Where `pnpm dev` forwards the socket and the health endpoints: a server started with `pnpm --filter @chat/server dev`. */
const server = process.env.CHAT_SERVER_URL ?? "http://localhost:8080";

export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true },
  server: {
    proxy: {
      "/socket.io": { target: server, ws: true, changeOrigin: true },
      "/livez": server,
      "/readyz": server,
      "/metrics": server,
    },
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts"],
    restoreMocks: true,
  },
});

# The chat server image: `docker build -t chat .` at the repository root.
# Used as is by skaffold.yaml (kind) and docker-compose.yml; all of them start the container
# with the image's own command, `node server/dist/main.js`.

# Node 26 is the Active LTS line (Node 24 is in maintenance). Pin a digest for releases.
ARG NODE_IMAGE=node:26-alpine

# ---- build: install the whole workspace, build protocol/, client/ and server/ ----------------
FROM ${NODE_IMAGE} AS build
# pnpm from npm, pinned to the root package.json's packageManager (corepack is unreliable).
RUN npm install --global pnpm@10.34.9
WORKDIR /repo

# Download every package in the lockfile first. This layer depends only on the lockfile, so
# source edits do not re-download dependencies. (Add `apk add python3 make g++` here if a
# dependency ever needs a native build without a prebuilt binary for musl.)
COPY pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
RUN --mount=type=cache,id=pnpm-store,target=/root/.local/share/pnpm/store \
    pnpm fetch

COPY . .
RUN --mount=type=cache,id=pnpm-store,target=/root/.local/share/pnpm/store \
    pnpm install --frozen-lockfile --offline
RUN pnpm build

# A self-contained server directory: package.json, dist/ and production node_modules only
# (workspace packages such as @chat/protocol are copied in, not linked). pnpm 10's deploy needs
# `--legacy` unless the workspace sets inject-workspace-packages.
RUN pnpm --filter @chat/server deploy --prod --legacy /deploy/server

# ---- runtime: Node, the server and the built client; nothing else ----------------------------
FROM ${NODE_IMAGE} AS runtime
# npm, npx, corepack and yarn are not needed to run the server: fewer tools, fewer CVEs.
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx \
      /usr/local/bin/corepack /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-*
ENV NODE_ENV=production
WORKDIR /app

# The workspace layout is kept (server/dist next to client/dist), so the server's default
# CLIENT_DIR (../../client/dist relative to server/dist) finds the client without any setting.
# Files stay owned by root and read-only for the app user: with readOnlyRootFilesystem
# nothing is written anyway (logs go to stdout, state to Redis).
COPY --from=build /deploy/server ./server
COPY --from=build /repo/client/dist ./client/dist

# A numeric, non-root user that exists in no base image, so Kubernetes' runAsNonRoot can
# verify it (a user name cannot be checked) and it owns no file in the image.
USER 10001:10001
# 8080: the page and Socket.IO. 9090 (ADMIN_PORT): /metrics and /drain, never published.
EXPOSE 8080 9090
CMD ["node", "server/dist/main.js"]

# The chat server image: `docker build -t chat .` at the repository root; multi-arch with
# `docker buildx build --platform linux/amd64,linux/arm64 .` (.github/workflows/kind-e2e.yml).
# Used as is by skaffold.yaml (kind) and docker-compose.yml; all of them start the container
# with the image's own command, `node server/dist/main.js` (k8s/base/chat-deployment.yaml
# spells it out, and k8s/test checks that the two agree).

# Node 26 is the Active LTS line (Node 24 is in maintenance). Pin a digest for releases.
ARG NODE_IMAGE=node:26-alpine

# ---- pnpm: Node and the repository's pnpm ------------------------------------------------------
FROM ${NODE_IMAGE} AS pnpm
# pnpm from npm, pinned to the root package.json's packageManager (corepack is unreliable).
RUN npm install --global pnpm@10.34.9
# The store lives in the image's layers, not in a cache mount: a layer restored from any cache
# (local, or a registry/GitHub Actions cache on a fresh runner) then holds every package the
# installs below need, and they run with --offline: no network, nothing downloaded twice.
ENV npm_config_store_dir=/pnpm/store
WORKDIR /repo

# ---- fetch: every package of the lockfile, downloaded once ------------------------------------
# Depends on the lockfile only: editing sources never downloads anything again. `pnpm fetch`
# only downloads; no package's install script runs here.
FROM pnpm AS fetch
COPY pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
RUN pnpm fetch

# ---- workspace: every package manifest (a frozen-lockfile install checks them all) -------------
FROM fetch AS workspace
COPY package.json tsconfig.base.json ./
COPY protocol/package.json protocol/
COPY client-core/package.json client-core/
COPY testkit/package.json testkit/
COPY server/package.json server/
COPY client/package.json client/
COPY e2e/package.json e2e/
COPY k8s/package.json k8s/
COPY bench/package.json bench/
COPY rig/package.json rig/

# ---- client: the browser bundle, with the client's dependencies only --------------------------
# --ignore-scripts everywhere: in these trees only bufferutil/utf-8-validate (optional ws
# accelerators with a JavaScript fallback and no linux-arm64 prebuild, so their script would
# need python3/make/g++) and esbuild (whose binary comes from its @esbuild/<platform>
# dependency anyway) have one. The image builds the same on amd64 and arm64, compiler-free.
FROM workspace AS client
RUN pnpm install --frozen-lockfile --offline --ignore-scripts --filter "@chat/client..."
COPY protocol/ protocol/
COPY client-core/ client-core/
COPY client/ client/
RUN pnpm --filter "@chat/client..." run build

# ---- server: built, then turned into the deploy artifact by the one script for it -------------
FROM workspace AS server
RUN pnpm install --frozen-lockfile --offline --ignore-scripts --filter "@chat/server..."
COPY protocol/ protocol/
COPY server/ server/
COPY scripts/deploy-artifact.sh scripts/
RUN pnpm --filter "@chat/server..." run build
# package.json, dist/ and production node_modules only, exactly as the local rig gets it.
RUN scripts/deploy-artifact.sh /deploy/server

# ---- runtime: Node, the server and the built client; nothing else ------------------------------
FROM ${NODE_IMAGE} AS runtime
# npm, npx, corepack and yarn are not needed to run the server: fewer tools, fewer CVEs.
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx \
      /usr/local/bin/corepack /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-*
# HOST=::: one dual-stack socket for every IPv6 and IPv4 address, so probes and the preStop
# hook work on IPv4, IPv6 and dual-stack clusters (0.0.0.0 would be IPv4 only).
ENV NODE_ENV=production HOST=::
WORKDIR /app

# The workspace layout is kept (server/dist next to client/dist), so the server's default
# CLIENT_DIR (../../client/dist relative to server/dist) finds the client without any setting.
# Files stay owned by root and read-only for the app user: with readOnlyRootFilesystem
# nothing is written anyway (logs go to stdout, state to Redis).
COPY --from=server /deploy/server ./server
COPY --from=client /repo/client/dist ./client/dist

# A numeric, non-root user that exists in no base image, so Kubernetes' runAsNonRoot can
# verify it (a user name cannot be checked) and it owns no file in the image.
USER 10001:10001
# 8080: the page and Socket.IO. 9090 (ADMIN_PORT): /metrics and /drain, never published.
EXPOSE 8080 9090
CMD ["node", "server/dist/main.js"]

#!/bin/sh
# The chat server as it is deployed: a self-contained directory with package.json, dist/ and the
# production node_modules (workspace packages such as @chat/protocol copied in, not linked), and
# nothing else: no sources, no tests, no dev dependencies. `node <outdir>/dist/main.js` starts a
# pod from it, with no workspace around.
#
#   scripts/deploy-artifact.sh <outdir>
#
# The Dockerfile runs this very script, so the image and anything else started from the
# artifact (the local rig) can never differ. Needs the workspace installed and protocol/ and
# server/ built (`pnpm build`); reads packages from the pnpm store only (--offline), never from
# the network. PNPM overrides the pnpm command (default: pnpm), e.g. PNPM="npx -y pnpm@10.34.9".
#
# Install scripts are skipped (--ignore-scripts): the only ones in the server's production tree
# are the optional ws accelerators bufferutil and utf-8-validate, which the workspace's lockfile
# resolves for every package using ws. They have no linux-arm64 prebuild, so their script would
# compile with node-gyp (python3, make, g++: not in node:*-alpine) and fail the arm64 image;
# without a build, ws uses its JavaScript fallback. The result is the same on every platform.
set -eu

if [ "$#" -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 <outdir>" >&2
  exit 64
fi
root=$(cd "$(dirname "$0")/.." && pwd)
case $1 in
  /*) out=$1 ;;
  *) out=$(pwd)/$1 ;;
esac

for built in protocol/dist/index.js server/dist/main.js; do
  if [ ! -f "$root/$built" ]; then
    echo "deploy-artifact: $built is missing; build first (pnpm build)" >&2
    exit 1
  fi
done
# Replace an earlier artifact, but never anything else that happens to be at <outdir>.
if [ -e "$out" ] && [ -n "$(ls -A "$out" 2>/dev/null)" ] &&
  ! grep -q '"name": "@chat/server"' "$out/package.json" 2>/dev/null; then
  echo "deploy-artifact: $out exists and is not a server artifact; refusing to replace it" >&2
  exit 1
fi

# Built next to <outdir> and moved into place at the end: an interrupted run never leaves a
# half-made artifact where a pod would start from it.
parent=$(dirname "$out")
mkdir -p "$parent"
tmp=$(mktemp -d "$parent/.deploy-artifact.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

cd "$root"
# The lockfile's deploy (not --legacy): it installs exactly what pnpm-lock.yaml says, so --offline
# needs only the store. --legacy re-resolves every version from pnpm's metadata cache, which
# neither `pnpm fetch` (the Dockerfile) nor a frozen-lockfile install fills, and fails offline
# with ERR_PNPM_NO_OFFLINE_META. The lockfile's deploy needs workspace packages injected
# (copied, not linked), for this command only; the workspace itself keeps its links.
# shellcheck disable=SC2086 # PNPM may be a command with arguments
${PNPM:-pnpm} --config.inject-workspace-packages=true --filter @chat/server \
  deploy --prod --offline --ignore-scripts "$tmp/server" >&2
# The deploy's own lockfile: not needed to run the server.
rm -f "$tmp/server/pnpm-lock.yaml"

if [ ! -f "$tmp/server/dist/main.js" ]; then
  echo "deploy-artifact: pnpm deploy produced no dist/main.js" >&2
  exit 1
fi
rm -rf "$out"
mv "$tmp/server" "$out"
echo "$out"

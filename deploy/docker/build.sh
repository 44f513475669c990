#!/usr/bin/env bash
# Builds the edgeplane image with deploy/docker/Dockerfile.
#   deploy/docker/build.sh [--base IMAGE] [--tag TAG]... [--context-only DIR] [-- docker build args]
# --base        the Node 20 image to build FROM (default node:20-bookworm-slim, from your registry)
# --tag         repeatable (default edgeplane:<version> and edgeplane:latest)
# --context-only DIR  stage the build context in DIR and stop (to build elsewhere)
# DOCKER (env)  the docker command, e.g. "docker -H unix:///run/other.sock" (default docker)
# Needs node and npm on the build machine: the context is what `npm pack` ships plus
# the production node_modules, so the Dockerfile itself copies a finished application.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
base="node:20-bookworm-slim"
tags=()
context=""
keep=""
while [ $# -gt 0 ]; do
  case "$1" in
    --base) base="$2"; shift 2 ;;
    --tag) tags+=("$2"); shift 2 ;;
    --context-only) context="$2"; keep=1; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
version="$(node -p "require('$repo/package.json').version")"
[ ${#tags[@]} -gt 0 ] || tags=("edgeplane:$version" "edgeplane:latest")
if [ -z "$context" ]; then context="$(mktemp -d "${TMPDIR:-/tmp}/edgeplane-image-XXXXXX")"; else mkdir -p "$context"; fi
cleanup() { [ -n "$keep" ] || rm -rf "$context"; }
trap cleanup EXIT

# 1. What the npm package ships (runs `prepare`, which builds dist/).
(cd "$repo" && npm pack --silent --pack-destination "$context" >/dev/null)
mkdir -p "$context/app"
tar -xzf "$context"/edgeplane-*.tgz -C "$context/app" --strip-components=1
rm -f "$context"/edgeplane-*.tgz
# 2. Production dependencies only, exactly as locked: from the clone's node_modules when
#    it has them (no network), else from the registry.
cp "$repo/package-lock.json" "$context/app/"
if [ -d "$repo/node_modules" ]; then
  cp -a "$repo/node_modules" "$context/app/node_modules"
  (cd "$context/app" && npm prune --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null)
else
  (cd "$context/app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null)
fi
rm -f "$context/app/package-lock.json"
# The development CA and keys never go into an image.
rm -rf "$context/app/certs-dev"
cp "$repo/deploy/docker/Dockerfile" "$context/Dockerfile"
cp "$repo/deploy/docker/Dockerfile.dockerignore" "$context/.dockerignore"
[ -z "$keep" ] || { echo "$context"; exit 0; }

tagargs=()
for t in "${tags[@]}"; do tagargs+=(-t "$t"); done
${DOCKER:-docker} build --build-arg "NODE_IMAGE=$base" "${tagargs[@]}" "$@" "$context"

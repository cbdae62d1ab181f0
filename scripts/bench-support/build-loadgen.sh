#!/usr/bin/env bash
# Builds rls-loadgen (./rls-loadgen: a Go load generator for Envoy's rate-limit gRPC API) with the machine's
# Go into ${GOVERNOR_CACHE_DIR:-$HOME/.cache/governor}/rls-loadgen/<hash of its sources>/rls-loadgen, and
# prints that path as the last line on stdout (logs go to stderr). A cached binary is printed at once.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$here/rls-loadgen"
log() { printf '[bench-loadgen] %s\n' "$*" >&2; }
hash="$(cat "$src/main.go" "$src/go.mod" "$src/go.sum" | sha256sum | cut -c1-16)"
out="${GOVERNOR_CACHE_DIR:-$HOME/.cache/governor}/rls-loadgen/$hash"
if [ -x "$out/rls-loadgen" ]; then
  echo "$out/rls-loadgen"
  exit 0
fi
command -v go >/dev/null 2>&1 || { log "go is not installed"; exit 1; }
mkdir -p "$out"
log "building rls-loadgen (first time: downloads its Go modules)"
(cd "$src" && CGO_ENABLED=0 go build -trimpath -o "$out/rls-loadgen.tmp" . >&2)
mv "$out/rls-loadgen.tmp" "$out/rls-loadgen"
echo "$out/rls-loadgen"

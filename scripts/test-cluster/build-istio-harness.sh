#!/usr/bin/env bash
# Builds the Istio harness (scripts/istio/harness: istiod's config pipeline in one process) with the
# machine's Go, once per Istio pin and harness source, into
# ${GOVERNOR_CACHE_DIR:-$HOME/.cache/governor}/istio-harness/<pin>/, and prints the binary's path as the
# last line on stdout (logs go to stderr). A cached binary is printed at once; a cold build (Istio's pilot
# and its dependencies) takes several minutes on 2 cores.
set -euo pipefail

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/../istio/harness" && pwd)"
# The Istio version is pinned in the harness's go.mod (with go.sum), the one place to change it.
PIN="$(awk '$1 == "istio.io/istio" { print $2 }' "$SRC/go.mod")"
[ -n "$PIN" ] || { echo "[istio-harness] no istio.io/istio in $SRC/go.mod" >&2; exit 1; }
# Edits to the harness rebuild it; the cache keeps one binary per source state.
HASH="$(cd "$SRC" && cat go.mod go.sum ./*.go | sha256sum | cut -c1-12)"
CACHE="${GOVERNOR_CACHE_DIR:-$HOME/.cache/governor}"
OUT="$CACHE/istio-harness/$PIN"
BIN="$OUT/istio-harness-$HASH"
log() { printf '[istio-harness] %s\n' "$*" >&2; }

if [ -x "$BIN" ]; then
  echo "$BIN"
  exit 0
fi
command -v go >/dev/null 2>&1 || { log "go is not installed"; exit 1; }
mkdir -p "$OUT"
# Tests may ask for it in parallel: one builds, the others wait here.
exec 9>"$OUT.lock"
if ! flock -n 9; then
  log "another process is building the harness; waiting for it"
  flock 9
fi
if [ -x "$BIN" ]; then
  echo "$BIN"
  exit 0
fi
log "building the harness against istio.io/istio $PIN (once; several minutes cold)"
start=$SECONDS
cd "$SRC"
export CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false"
# Go prints which modules it downloads, then nothing until the build is done: a line a minute says it
# runs. The build runs in the background and this shell polls it, so that no timer process outlives the
# script holding the caller's pipes open.
go build -trimpath -ldflags '-s -w' -o "$BIN.tmp" . >&2 &
build=$!
trap 'kill "$build" 2>/dev/null || true; rm -f "$BIN.tmp"' EXIT
last=$SECONDS
while kill -0 "$build" 2>/dev/null; do
  sleep 1
  if ((SECONDS - last >= 60)); then
    last=$SECONDS
    log "still building ($((SECONDS - start)) s)"
  fi
done
wait "$build"
mv "$BIN.tmp" "$BIN"
# Binaries of earlier harness sources (about 140 MB each) are of no more use: only this one stays.
find "$OUT" -maxdepth 1 -name 'istio-harness-*' ! -name "istio-harness-$HASH" -type f -delete
log "built in $((SECONDS - start)) s: $BIN"
echo "$BIN"

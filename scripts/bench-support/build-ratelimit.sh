#!/usr/bin/env bash
# Builds envoyproxy/ratelimit's server (github.com/envoyproxy/ratelimit/src/service_cmd) with the machine's
# `go`, once per version, into a cache outside the repository (GOVERNOR_CACHE_DIR, default
# ~/.cache/governor). A cache hit is instant; a cold build takes about a minute on 2 cores. Prints the path
# of the binary as its last line on stdout; progress goes to stderr.
#
# Upstream has tagged no release since v1.4.0 (2020); it ships images built from master commits. So the
# pin is a Go pseudo-version of a master commit (3fb702589d36, 2026-01-22), checked against sum.golang.org
# like any tag. Its go.mod has no replace directives, so `go install pkg@version` builds it.
#
# The binary takes no flags; it reads env vars (these were checked against this version with a local
# redis-server):
#   REDIS_SOCKET_TYPE=tcp REDIS_URL=127.0.0.1:<redis port>   redis backend (defaults: unix socket)
#   RUNTIME_ROOT=<dir> RUNTIME_SUBDIRECTORY=ratelimit         config is every *.yaml in
#     RUNTIME_ROOT/RUNTIME_SUBDIRECTORY/RUNTIME_APPDIRECTORY (default "config"), e.g.
#     <dir>/ratelimit/config/config.yaml holding
#       domain: governor
#       descriptors:
#         - key: generic_key
#           value: bench
#           rate_limit: { unit: second, requests_per_unit: 1000000 }
#   RUNTIME_WATCH_ROOT=false RUNTIME_IGNOREDOTFILES=true      watch the config dir itself, skip dotfiles
#   PORT=<http> GRPC_PORT=<grpc> DEBUG_PORT=<debug>           defaults 8080, 8081, 6070
#   HOST=127.0.0.1 GRPC_HOST=127.0.0.1 DEBUG_HOST=127.0.0.1   bind addresses (default 0.0.0.0)
#   USE_STATSD=false LOG_LEVEL=warn                           no statsd; with USE_STATSD=false stats are
#                                                             written to stdout every STATS_FLUSH_INTERVAL
#                                                             (10s), DISABLE_STATS=true turns them off
set -euo pipefail

RATELIMIT_VERSION="${RATELIMIT_VERSION:-v1.4.1-0.20260122083618-3fb702589d36}"
RATELIMIT_PKG=github.com/envoyproxy/ratelimit/src/service_cmd
CACHE="${GOVERNOR_CACHE_DIR:-$HOME/.cache/governor}"
OUT="$CACHE/ratelimit/$RATELIMIT_VERSION"
BIN="$OUT/ratelimit"
log() { printf '[bench-ratelimit] %s\n' "$*" >&2; }

if [ -x "$BIN" ]; then
  echo "$BIN"
  exit 0
fi
command -v go >/dev/null || { log "go is not installed"; exit 1; }
mkdir -p "$OUT"

# Benchmarks may start in parallel: one of them builds, the others wait for it here.
exec 9>"$OUT.lock"
if ! flock -n 9; then
  log "another process is building ratelimit; waiting for it"
  flock 9
fi
if [ -x "$BIN" ]; then
  echo "$BIN"
  exit 0
fi

WORK="$(mktemp -d "$CACHE/build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
export CGO_ENABLED=0
BUILD_LOG="$WORK/build.log"
# Runs a step with its output in the build log; on failure, shows the log's tail and stops.
step() {
  if ! "$@" >>"$BUILD_LOG" 2>&1; then
    log "failed: $*"
    tail -n 40 "$BUILD_LOG" >&2
    exit 1
  fi
}

log "building envoyproxy/ratelimit $RATELIMIT_VERSION (once; about a minute)"
# Run outside any module so the repository's own go.work/go.mod (if any) play no part.
cd "$WORK"
step env GOBIN="$WORK/bin" GOFLAGS= go install -trimpath -ldflags '-s -w' "$RATELIMIT_PKG@$RATELIMIT_VERSION"
mv "$WORK/bin/service_cmd" "$BIN.tmp"
mv "$BIN.tmp" "$BIN"
echo "$BIN"

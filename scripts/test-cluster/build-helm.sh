#!/usr/bin/env bash
# Builds helm from its Go module with the machine's Go, once per version, into
# ${GOVERNOR_CACHE_DIR:-$HOME/.cache/governor}/helm/<version>/helm, and prints that path as the last line on
# stdout (logs go to stderr). A cached binary is printed at once; a cold build takes about 4 minutes on
# 2 cores. Parallel callers wait for one build (flock).
#
# helm's go.mod has no replace directives, so `go install module@version` builds it as released.
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v4.3.2}"
CACHE="${GOVERNOR_CACHE_DIR:-$HOME/.cache/governor}"
OUT="$CACHE/helm/$HELM_VERSION"
log() { printf '[helm] %s\n' "$*" >&2; }

if [ -x "$OUT/helm" ]; then
  echo "$OUT/helm"
  exit 0
fi
command -v go >/dev/null 2>&1 || { log "go is not installed"; exit 1; }
mkdir -p "$OUT"
exec 9>"$OUT.lock"
if ! flock -n 9; then
  log "another process is building helm; waiting for it"
  flock 9
fi
if [ -x "$OUT/helm" ]; then
  echo "$OUT/helm"
  exit 0
fi
WORK="$(mktemp -d "$CACHE/helm-build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
log "building helm $HELM_VERSION (once; about 4 minutes on 2 cores)"
# `helm version` reports these (upstream's Makefile sets them the same way).
ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION"
ldflags="$ldflags -X helm.sh/helm/v4/internal/version.gitTreeState=clean"
if ! CGO_ENABLED=0 GOBIN="$WORK" go install -trimpath -ldflags "$ldflags" \
  "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" >"$WORK/build.log" 2>&1; then
  log "go install failed"
  tail -n 40 "$WORK/build.log" >&2
  exit 1
fi
mv "$WORK/helm" "$OUT/helm.tmp"
mv "$OUT/helm.tmp" "$OUT/helm"
echo "$OUT/helm"

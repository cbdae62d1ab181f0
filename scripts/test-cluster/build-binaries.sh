#!/usr/bin/env bash
# Builds kube-apiserver and etcd from their Go modules with the machine's `go`, once per version, into a
# cache outside the repository (GOVERNOR_CACHE_DIR, default ~/.cache/governor). A cache hit takes seconds;
# a cold build 10-20 minutes on 2 cores. Prints the directory holding the two binaries.
#
# k8s.io/kubernetes replaces its ~30 staging modules (k8s.io/api, k8s.io/client-go, ...) with local folders,
# so `go install` cannot build it (kubernetes/kubernetes#79384). A small wrapper module requires it and
# replaces each staging module with its published v0.Y.Z; the list is read from upstream's own go.mod,
# since it grows between releases.
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-v1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
CACHE="${GOVERNOR_CACHE_DIR:-$HOME/.cache/governor}"
OUT="$CACHE/kube-test-server/kube-$KUBE_VERSION-etcd-$ETCD_VERSION"
log() { printf '[test-cluster] %s\n' "$*" >&2; }
ready() { [ -x "$OUT/kube-apiserver" ] && [ -x "$OUT/etcd" ]; }

if ready; then
  echo "$OUT"
  exit 0
fi
command -v go >/dev/null || { log "go is not installed"; exit 1; }
mkdir -p "$OUT"

# Test files start servers in parallel: one of them builds, the others wait for it here.
exec 9>"$OUT.lock"
if ! flock -n 9; then
  log "another process is building the binaries; waiting for it"
  flock 9
fi
if ready; then
  echo "$OUT"
  exit 0
fi

WORK="$(mktemp -d "$CACHE/build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
export CGO_ENABLED=0 GOFLAGS=-mod=mod
BUILD_LOG="$WORK/build.log"
# Runs a step with its output in the build log; on failure, shows the log's tail and stops.
step() {
  if ! "$@" >>"$BUILD_LOG" 2>&1; then
    log "failed: $*"
    tail -n 40 "$BUILD_LOG" >&2
    exit 1
  fi
}

if [ ! -x "$OUT/etcd" ]; then
  log "building etcd $ETCD_VERSION (once)"
  mkdir -p "$WORK/etcd" && cd "$WORK/etcd"
  step go mod init governor.local/etcd-build
  step go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  step go build -trimpath -ldflags '-s -w' -o "$OUT/etcd.tmp" go.etcd.io/etcd/server/v3
  mv "$OUT/etcd.tmp" "$OUT/etcd"
fi

if [ ! -x "$OUT/kube-apiserver" ]; then
  log "building kube-apiserver $KUBE_VERSION (once; 10-20 minutes on 2 cores)"
  mkdir -p "$WORK/kube" && cd "$WORK/kube"
  step go mod init governor.local/kube-apiserver-build
  upstream_dir="$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')"
  [ -n "$upstream_dir" ] || { log "could not download k8s.io/kubernetes@$KUBE_VERSION"; exit 1; }
  minor="${KUBE_VERSION#v1.}"
  minor="${minor%%.*}"
  staging_version="v0.${KUBE_VERSION#v1.}"
  # Every `k8s.io/x => ./staging/src/k8s.io/x` line of upstream's go.mod becomes `k8s.io/x => k8s.io/x v0.Y.Z`.
  modules="$(sed -n 's#^\s*\(k8s.io/[a-z0-9./-]*\) => ./staging/.*#\1#p' "$upstream_dir/go.mod" | sort -u)"
  [ -n "$modules" ] || { log "no staging modules found in upstream go.mod"; exit 1; }
  {
    echo "replace ("
    for m in $modules; do echo "  $m => $m $staging_version"; done
    echo ")"
  } >>go.mod
  step go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@$KUBE_VERSION"
  # Without these the server reports v0.0.0-master at /version (upstream sets them in hack/lib/version.sh).
  version_pkg=k8s.io/component-base/version
  ldflags="-s -w -X $version_pkg.gitVersion=$KUBE_VERSION -X $version_pkg.gitMajor=1 -X $version_pkg.gitMinor=$minor"
  ldflags="$ldflags -X $version_pkg.gitTreeState=clean -X $version_pkg.buildDate=1970-01-01T00:00:00Z"
  step go build -trimpath -ldflags "$ldflags" -o "$OUT/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
  mv "$OUT/kube-apiserver.tmp" "$OUT/kube-apiserver"
fi
echo "$OUT"

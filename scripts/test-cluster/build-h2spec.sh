#!/usr/bin/env bash
# Builds h2spec (summerwind/h2spec, the HTTP/2 conformance tester) with the machine's Go, once per pinned
# version, into ${GOVERNOR_CACHE_DIR:-$HOME/.cache/governor}/h2spec/<version>/h2spec, and prints that path
# as the last line on stdout (logs go to stderr). A cached binary is printed at once.
#
# h2spec's newest tag on the Go module proxy predates Go modules (v2.2.1+incompatible, no go.mod), so
# `go install` alone would take the newest of every dependency; a wrapper module pins them instead.
set -euo pipefail

H2SPEC_VERSION="v2.2.1+incompatible"
# Versions known to build it (golang.org/x/net carries the HTTP/2 framer and HPACK it tests with).
DEPS=(
  golang.org/x/net@v0.63.0
  golang.org/x/sys@v0.50.0
  golang.org/x/text@v0.44.0
  github.com/spf13/cobra@v1.10.2
  github.com/spf13/pflag@v1.0.9
  github.com/fatih/color@v1.19.0
  github.com/mattn/go-colorable@v0.1.14
  github.com/mattn/go-isatty@v0.0.20
)
CACHE="${GOVERNOR_CACHE_DIR:-$HOME/.cache/governor}"
OUT="$CACHE/h2spec/${H2SPEC_VERSION%+incompatible}"
log() { printf '[h2spec] %s\n' "$*" >&2; }

if [ -x "$OUT/h2spec" ]; then
  echo "$OUT/h2spec"
  exit 0
fi
command -v go >/dev/null 2>&1 || { log "go is not installed"; exit 1; }
mkdir -p "$OUT"
exec 9>"$OUT.lock"
flock 9
if [ -x "$OUT/h2spec" ]; then
  echo "$OUT/h2spec"
  exit 0
fi
WORK="$(mktemp -d "$CACHE/h2spec-build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
log "building h2spec $H2SPEC_VERSION (once)"
cd "$WORK"
export CGO_ENABLED=0 GOFLAGS=-mod=mod
go mod init governor.local/h2spec-build >&2 2>&1
go get "github.com/summerwind/h2spec@$H2SPEC_VERSION" "${DEPS[@]}" >&2
go build -trimpath -ldflags '-s -w' -o "$OUT/h2spec.tmp" github.com/summerwind/h2spec/cmd/h2spec >&2
mv "$OUT/h2spec.tmp" "$OUT/h2spec"
echo "$OUT/h2spec"

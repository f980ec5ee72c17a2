#!/usr/bin/env bash
# Builds bench/servers/go_server.go into DIR/go_server: offline, standard library only,
# everything Go writes (module, cache, GOPATH) under DIR. On failure prints the compiler's
# output to stderr and exits 1.
#   bench/servers/build_go_server.sh DIR
set -u
dir=${1:?usage: build_go_server.sh DIR}
src=$(dirname "$0")/go_server.go
mkdir -p "$dir/gosrc" || exit 1
cp "$src" "$dir/gosrc/main.go" || exit 1
printf 'module go_server\n\ngo 1.19\n' >"$dir/gosrc/go.mod"
if ! (cd "$dir/gosrc" && GOCACHE=$dir/gocache GOPATH=$dir/gopath GOPROXY=off GOFLAGS='' \
	GOTOOLCHAIN=local go build -o "$dir/go_server" . >"$dir/gobuild.log" 2>&1); then
	echo "build_go_server: go build of $src failed:" >&2
	cat "$dir/gobuild.log" >&2
	exit 1
fi

#!/usr/bin/env bash
# Install every Debian package the build, the tests and the benchmarks need.
# Idempotent: when everything is present it returns after one dpkg query.
# usage: scripts/install-deps.sh [--bench]
#   --bench  also the servers only bench/attribution_accuracy.sh runs (Node.js, Go), which
#            the build and the tests never need (`make bench` passes it)
set -euo pipefail

PACKAGES=(
	# build
	make gcc clang llvm pkg-config libbpf-dev bpftool libelf-dev zlib1g-dev
	libjansson-dev libgsl-dev libcsv-dev nettle-dev
	# tests (cmocka, sanitizers, libFuzzer runtime) and their tools
	libcmocka-dev libclang-rt-14-dev curl iproute2 procps python3 bc
	nftables # test_requests_ingress.sh: drops one segment in a network namespace
	# benchmarks, plots and peers
	wrk nginx-light gnuplot-nox linux-perf python3-numpy python3-pandas
	# operators: promtool and a real Prometheus, the unit's verify, man pages, manifests
	prometheus systemd man-db python3-yaml
)
BENCH_PACKAGES=(nodejs golang-go)

case "${1:-}" in
"") ;;
--bench) PACKAGES+=("${BENCH_PACKAGES[@]}") ;;
*)
	echo "install-deps.sh: unknown option: $1 (usage: install-deps.sh [--bench])" >&2
	exit 2
	;;
esac

missing=()
for pkg in "${PACKAGES[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
	[ "$status" = installed ] || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps.sh: missing packages: ${missing[*]}; run as root" >&2
	exit 1
fi

echo "install-deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# nginx-light starts a service on install; the benchmarks run their own instance.
if command -v systemctl >/dev/null 2>&1; then
	systemctl disable --now nginx >/dev/null 2>&1 || true
	systemctl disable --now prometheus >/dev/null 2>&1 || true # tests start their own
fi
echo "install-deps.sh: done" >&2

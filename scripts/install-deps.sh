#!/usr/bin/env bash
# Install every Debian package the build, the tests and the benchmarks need.
# Idempotent: when everything is present it returns after one dpkg query.
set -euo pipefail

PACKAGES=(
	# build
	make gcc clang llvm pkg-config libbpf-dev bpftool libelf-dev zlib1g-dev
	libjansson-dev libgsl-dev libcsv-dev
	# tests (cmocka, sanitizers, libFuzzer runtime) and their tools
	libcmocka-dev libclang-rt-14-dev curl iproute2 procps python3 bc
	# benchmarks, plots and peers
	wrk nginx-light gnuplot-nox linux-perf python3-numpy python3-pandas
	# operators: promtool and a real Prometheus, the unit's verify, man pages, manifests
	prometheus systemd man-db python3-yaml
)

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

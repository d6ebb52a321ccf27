#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Installs every Debian package that weir's build, tests, demo and benchmarks need.
# Idempotent and fast when everything is present: it asks dpkg first and only runs
# apt-get for what is missing. Usage: tools/deps.sh [build|test|all] (default all).
set -euo pipefail

BUILD_PKGS=(
	make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config
	libnl-3-dev libnl-route-3-dev libssl-dev libevent-dev node-llhttp
	libnghttp2-dev libjansson-dev libyaml-dev libcurl4-openssl-dev libcmocka-dev libgraphviz-dev
	linux-libc-dev libcap-dev libre2-dev g++ libclang-rt-14-dev
)
TEST_PKGS=(
	iproute2 containernetworking-plugins curl nghttp2-client nghttp2-server python3 python3-yaml
	python3-grpcio
	haproxy graphviz prometheus wrk iperf3 openssl procps psmisc util-linux jq
	iptables nodejs chromium
)

want=("${BUILD_PKGS[@]}")
case "${1:-all}" in
build) ;;
test | all)
	want+=("${TEST_PKGS[@]}")
	# Debian's npm package conflicts with a nodejs build that bundles npm: ask for it only
	# when no npm is on the PATH.
	command -v npm >/dev/null 2>&1 || want+=(npm)
	;;
*)
	echo "usage: $0 [build|test|all]" >&2
	exit 2
	;;
esac

missing=()
for p in "${want[@]}"; do
	# dpkg-query prints "install ok installed" only for a fully installed package.
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$st" = "install ok installed" ] || missing+=("$p")
done
# The Zipkin fixture's test checks it against the OpenTelemetry Zipkin exporter, installed
# from the committed lock file (exact versions) only when its node_modules is missing.
npm_fixture() {
	local dir
	dir=$(cd "$(dirname "$0")/.." && pwd)/tests/fixtures/zipkin/otel
	[ "${1:-all}" = build ] && return 0
	[ -d "$dir/node_modules/@opentelemetry/exporter-zipkin" ] && return 0
	echo "deps: npm ci in $dir" >&2
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
}

if [ ${#missing[@]} -eq 0 ]; then
	npm_fixture "${1:-all}"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages (${missing[*]}); run as root to install them" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# The package lists on a fresh machine may be empty or stale: update once, quietly.
apt-get update -qq >/dev/null
# The prometheus package starts a daemon on install on some machines; weir only needs
# the binaries (promtool, prometheus), started by the tests on loopback themselves.
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
if [ -x /usr/sbin/policy-rc.d ] || true; then
	# Stop the distribution's own prometheus/haproxy services if the install started them:
	# tests run their own instances on their own ports.
	for svc in prometheus haproxy prometheus-node-exporter; do
		if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
			systemctl stop "$svc" || true
		fi
	done
fi
npm_fixture "${1:-all}"

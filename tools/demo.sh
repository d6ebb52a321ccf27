#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# `make demo`: the bookinfo sample on simulated nodes (tools/sim/weir-sim), meshed by weir with
# no change to the application. Brings the simulation up, sends a bounded load from a client Pod
# outside the mesh, prints the service graph each node agent built and says honestly which of
# the expected edges are there, then runs until Ctrl-C (or DEMO_SECONDS) and tears down.
# Environment: BUILD (build dir), DEMO_NODES (1), DEMO_SECONDS (run until Ctrl-C),
# DEMO_RATE (20 req/s), DEMO_LOAD_SECONDS (15), DEMO_SIM (simulation name, weir-demo).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
NODES=${DEMO_NODES:-1}
SIM=${DEMO_SIM:-weir-demo}
RATE=${DEMO_RATE:-20}
LOAD_SECONDS=${DEMO_LOAD_SECONDS:-15}
SIMCTL=(/usr/bin/python3 tools/sim/weir-sim --name "$SIM")
BOOKINFO=deploy/samples/bookinfo

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: run as root (it creates network namespaces, cgroups and BPF programs)" >&2
	exit 1
fi
for b in weir-agent weir-cni bookinfo-app; do
	if [ ! -x "$BUILD/$b" ]; then
		echo "demo: $BUILD/$b is not built; run 'make all' (or 'make demo')" >&2
		exit 1
	fi
done

TMP=$(mktemp -d /tmp/weir-demo.XXXXXX)
SLEEP_PID=
cleanup() {
	trap - EXIT INT TERM
	set +e # tear down whatever happens on the way
	if [ -n "$SLEEP_PID" ]; then
		kill "$SLEEP_PID" 2>/dev/null
	fi
	say "tearing down simulation $SIM"
	"${SIMCTL[@]}" down || echo "demo: down reported a problem; run: tools/sim/weir-sim --name $SIM down" >&2
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A demo killed without its trap (kill -9, machine reset of /run excepted) left its simulation.
"${SIMCTL[@]}" down >/dev/null 2>&1 || true

say "bringing up bookinfo on $NODES simulated node(s)"
"${SIMCTL[@]}" up "$BOOKINFO/bookinfo.yaml" "$BOOKINFO/client.yaml" --nodes "$NODES" \
	--build "$BUILD"

say "bounded load: $RATE req/s for $LOAD_SECONDS s from the client Pod (outside the mesh)"
"${SIMCTL[@]}" exec client -- bookinfo-app --load http://productpage:9080/ --rate "$RATE" \
	--duration "$LOAD_SECONDS" --concurrency 8 >"$TMP/load.json" 2>"$TMP/load.err" || true
if jq -e . "$TMP/load.json" >/dev/null 2>&1; then
	jq '{requests, ok, failed, codes, versions, latency_ms}' "$TMP/load.json"
else
	echo "demo: the load generator printed no summary:" >&2
	cat "$TMP/load.err" >&2
fi

say "service graph (/graph?time_horizon=60s from each node agent)"
mapfile -t NODE_NAMES < <("${SIMCTL[@]}" status -o json | jq -r '.nodes[].name')
for n in "${NODE_NAMES[@]}"; do
	if ! "${SIMCTL[@]}" exec "node:$n" -- curl -sf -m 5 \
		'http://127.0.0.1:15020/graph?time_horizon=60s' >"$TMP/graph-$n.json" ||
		! jq -e .edges "$TMP/graph-$n.json" >/dev/null 2>&1; then
		echo "node $n: the agent did not answer /graph with JSON"
		echo '{"nodes": {}, "edges": []}' >"$TMP/graph-$n.json"
	fi
	echo "-- node $n"
	jq . "$TMP/graph-$n.json"
done
# One view of the cluster: nodes and edges of every agent, an edge seen twice kept once.
jq -s '{nodes: (map(.nodes) | add), edges: (map(.edges) | add | unique_by([.source, .target,
	.labels.version]))}' "$TMP"/graph-*.json >"$TMP/graph.json"

say "expected edges (bookinfo's shape)"
missing=0
check() { # source target version-or-empty
	local q='any(.edges[]; .source == $s and .target == $t and
		($v == "" or .labels.version == $v) and ((.labels.qps | tonumber) > 0))'
	if jq -e --arg s "$1" --arg t "$2" --arg v "$3" "$q" "$TMP/graph.json" >/dev/null; then
		printf '  present  %-12s -> %-12s %s\n' "$1" "$2" "$3"
	else
		printf '  MISSING  %-12s -> %-12s %s (no edge with qps > 0)\n' "$1" "$2" "$3"
		missing=$((missing + 1))
	fi
}
check unknown productpage ""
check productpage details ""
check productpage reviews v1
check productpage reviews v2
check productpage reviews v3
check reviews ratings ""
if [ $missing -eq 0 ]; then
	echo "  all expected edges are there"
else
	echo "  $missing expected edge(s) missing: the graph above is what the agents report"
fi

say "where to look (the agents listen inside the node network namespaces)"
for n in "${NODE_NAMES[@]}"; do
	ns="$SIM-$n"
	echo "node $n:"
	echo "  ip netns exec $ns curl -s http://127.0.0.1:15020/metrics"
	echo "  ip netns exec $ns curl -s 'http://127.0.0.1:15020/graph?time_horizon=60s' | jq ."
	echo "  ip netns exec $ns curl -s http://127.0.0.1:15020/dotviz | dot -Tsvg > graph-$n.svg"
done
echo "the simulation:"
echo "  tools/sim/weir-sim --name $SIM status"
echo "  tools/sim/weir-sim --name $SIM exec client -- curl -s http://productpage:9080/ | jq ."
echo "logs: /run/weir-sim/$SIM/logs/"

if [ -n "${DEMO_SECONDS:-}" ]; then
	say "running for $DEMO_SECONDS s (the client Pod keeps a trickle of 2 req/s going)"
	sleep "$DEMO_SECONDS" &
else
	say "running until Ctrl-C (the client Pod keeps a trickle of 2 req/s going)"
	sleep infinity &
fi
# In the background so that Ctrl-C or TERM reaches the trap at once.
SLEEP_PID=$!
wait "$SLEEP_PID" || true

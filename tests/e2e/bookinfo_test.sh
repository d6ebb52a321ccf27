#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# bookinfo end to end, on one and on two simulated nodes, meshed by the real weir-agent and
# weir-cni: a bounded load from the client Pod (outside the mesh), then the agents' /graph has
# exactly the expected nodes and edges with non-zero rates, /metrics passes promtool and is
# scraped by a real Prometheus, /dotviz renders with dot, and on two nodes an edge crosses nodes.
# Everything is parsed as JSON (jq), never grepped from human text. Exit 0 pass, 77 skip.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SIMCTL=(/usr/bin/python3 tools/sim/weir-sim)
BOOKINFO=deploy/samples/bookinfo
TMP=$(mktemp -d /tmp/wt-bookinfo.XXXXXX)
PROM_PID=
SIMS=()

[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
for b in weir-agent weir-cni bookinfo-app; do
	[ -x "$BUILD/$b" ] || { echo "SKIP: $BUILD/$b is not built"; exit 77; }
done
for t in prometheus promtool dot jq curl iptables-restore; do
	command -v "$t" >/dev/null || { echo "SKIP: $t is not installed (tools/deps.sh)"; exit 77; }
done

cleanup() {
	if [ -n "$PROM_PID" ]; then
		kill "$PROM_PID" 2>/dev/null
		wait "$PROM_PID" 2>/dev/null
	fi
	for s in "${SIMS[@]}"; do "${SIMCTL[@]}" --name "$s" down >/dev/null 2>&1; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }

# Runs Prometheus inside node namespace $1, scraping that node's agent every second, and checks
# that its query API returns istio_tcp_connections_opened_total series.
prometheus_scrape() { # netns dir
	local ns=$1 dir=$2 i n=0
	mkdir -p "$dir/data"
	cat >"$dir/prometheus.yml" <<-EOF
		global:
		  scrape_interval: 1s
		  evaluation_interval: 1s
		scrape_configs:
		  - job_name: weir-agent
		    static_configs:
		      - targets: ['127.0.0.1:15020']
	EOF
	ip netns exec "$ns" prometheus --config.file="$dir/prometheus.yml" \
		--storage.tsdb.path="$dir/data" --web.listen-address=127.0.0.1:19090 \
		>"$dir/prometheus.log" 2>&1 &
	PROM_PID=$!
	for i in $(seq 1 60); do
		ip netns exec "$ns" curl -sf -m 2 \
			'http://127.0.0.1:19090/api/v1/query?query=istio_tcp_connections_opened_total' \
			>"$dir/query.json" 2>/dev/null &&
			n=$(jq '.data.result | length' "$dir/query.json") && [ "$n" -gt 0 ] && break
		kill -0 "$PROM_PID" 2>/dev/null || { tail -20 "$dir/prometheus.log"; return 1; }
		sleep 0.5
	done
	kill "$PROM_PID" 2>/dev/null
	wait "$PROM_PID" 2>/dev/null
	PROM_PID=
	[ "$n" -gt 0 ] || { echo "no series; last answer: $(cat "$dir/query.json" 2>/dev/null)"; return 1; }
	echo "$n"
}

run_case() { # nodes
	local nodes=$1 sim=wt-bookinfo-$1n dir=$TMP/n$1 n s t v q nsn tp
	mkdir -p "$dir"
	SIMS+=("$sim")
	local sim_cmd=("${SIMCTL[@]}" --name "$sim")
	echo "=== bookinfo on $nodes node(s)"
	"${sim_cmd[@]}" down >/dev/null 2>&1
	"${sim_cmd[@]}" up "$BOOKINFO/bookinfo.yaml" "$BOOKINFO/client.yaml" --nodes "$nodes" \
		--build "$BUILD" >"$dir/up.out" 2>&1 || { cat "$dir/up.out"; fail "up on $nodes node(s)"; }
	"${sim_cmd[@]}" status -o json >"$dir/status.json"
	jq -e '(.pods | length) == 7 and all(.pods[]; .ready and .alive) and
	       all(.nodes[]; .agent.alive)' "$dir/status.json" >/dev/null || fail "status: $(cat "$dir/status.json")"

	# Bounded load from the client Pod: 25 req/s for 8 s, at most 200 requests.
	"${sim_cmd[@]}" exec client -- bookinfo-app --load http://productpage:9080/ --rate 25 \
		--duration 8 --concurrency 8 >"$dir/load.json" 2>"$dir/load.err" ||
		{ cat "$dir/load.err"; fail "load: $(cat "$dir/load.json")"; }
	jq -e '.requests > 0 and .failed == 0 and .ok == .completed and (.codes | keys) == ["200"]' \
		"$dir/load.json" >/dev/null || fail "load saw errors: $(jq -c . "$dir/load.json")"
	jq -e '.versions.reviews | (.v1 > 0 and .v2 > 0 and .v3 > 0)' "$dir/load.json" >/dev/null ||
		fail "not every reviews version answered: $(jq -c .versions "$dir/load.json")"
	ok "load: $(jq -c '{requests, ok, versions: .versions.reviews}' "$dir/load.json")"

	# The app forwards x-request-id, B3 and traceparent through the mesh: every service in the
	# answer tree (at least productpage, details, reviews) saw the ones the client sent.
	tp=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
	"${sim_cmd[@]}" exec client -- curl -sf -m 5 -H "x-request-id: wt-rid-$nodes" \
		-H "traceparent: $tp" -H 'x-b3-traceid: 80f198ee56343ba8' \
		http://productpage:9080/ >"$dir/trace.json" || fail "client -> productpage"
	jq -e --arg r "wt-rid-$nodes" --arg tp "$tp" '[.. | objects | select(has("service"))] |
		length >= 3 and all(.request_id == $r and .trace.traceparent == $tp and
		.trace["x-b3-traceid"] == "80f198ee56343ba8")' "$dir/trace.json" >/dev/null ||
		fail "headers not propagated: $(cat "$dir/trace.json")"
	ok "x-request-id, traceparent and B3 reach every service"

	# /graph from every node agent, merged: exactly the expected nodes and edges, all qps > 0.
	for n in $(jq -r '.nodes[].name' "$dir/status.json"); do
		"${sim_cmd[@]}" exec "node:$n" -- curl -sf -m 5 \
			'http://127.0.0.1:15020/graph?time_horizon=30s' >"$dir/graph-$n.json" ||
			fail "/graph on $n"
		jq -e '.nodes and .edges' "$dir/graph-$n.json" >/dev/null || fail "/graph on $n is not a graph"
	done
	jq -s '{nodes: (map(.nodes | keys) | add | unique), edges: (map(.edges) | add)}' \
		"$dir"/graph-n*.json >"$dir/graph.json"
	jq -e '.nodes == ["details", "productpage", "ratings", "reviews", "unknown"]' \
		"$dir/graph.json" >/dev/null || fail "graph nodes: $(jq -c .nodes "$dir/graph.json")"
	q='[.edges[] | "\(.source)->\(.target)"] | unique'
	jq -e "$q"' == ["productpage->details", "productpage->reviews", "reviews->ratings",
	               "unknown->productpage"]' "$dir/graph.json" >/dev/null ||
		fail "graph edges: $(jq -c "$q" "$dir/graph.json")"
	for e in unknown:productpage: productpage:details: productpage:reviews:v1 \
		productpage:reviews:v2 productpage:reviews:v3 reviews:ratings:; do
		IFS=: read -r s t v <<<"$e"
		jq -e --arg s "$s" --arg t "$t" --arg v "$v" 'any(.edges[]; .source == $s and
			.target == $t and ($v == "" or .labels.version == $v) and
			(.labels.qps | tonumber) > 0)' "$dir/graph.json" >/dev/null ||
			fail "no edge $s -> $t ${v:+version $v} with qps > 0: $(jq -c .edges "$dir/graph.json")"
	done
	ok "graph: nodes $(jq -c .nodes "$dir/graph.json"), $(jq '.edges | length' "$dir/graph.json") edges, all expected with qps > 0"

	# /metrics passes promtool; /dotviz renders.
	for n in $(jq -r '.nodes[].name' "$dir/status.json"); do
		"${sim_cmd[@]}" exec "node:$n" -- curl -sf -m 5 http://127.0.0.1:15020/metrics \
			>"$dir/metrics-$n.txt" || fail "/metrics on $n"
		promtool check metrics <"$dir/metrics-$n.txt" >"$dir/promtool-$n.out" 2>&1 ||
			fail "promtool check metrics on $n: $(head -20 "$dir/promtool-$n.out")"
		"${sim_cmd[@]}" exec "node:$n" -- curl -sf -m 5 http://127.0.0.1:15020/dotviz \
			>"$dir/dot-$n.gv" || fail "/dotviz on $n"
		dot -Tsvg "$dir/dot-$n.gv" >"$dir/dot-$n.svg" 2>"$dir/dot-$n.err" ||
			fail "dot -Tsvg on $n's /dotviz: $(cat "$dir/dot-$n.err")"
		grep -q '<svg' "$dir/dot-$n.svg" || fail "dot made no SVG for $n"
	done
	ok "/metrics passes promtool, /dotviz renders with dot (every node)"

	nsn=$(jq -r '.nodes[0].netns' "$dir/status.json")
	n=$(prometheus_scrape "$nsn" "$dir/prom") || fail "Prometheus did not scrape the agent on $nsn: $n"
	ok "Prometheus scraped $nsn: $n istio_tcp_connections_opened_total series"

	if [ "$nodes" -ge 2 ]; then
		# An edge crosses nodes when no node runs both a source Pod and a target Pod (of the
		# edge's version): the Pods' nodes come from the simulator, the edges from the agents.
		jq -n --slurpfile st "$dir/status.json" --slurpfile g "$dir/graph.json" '
			($st[0].pods) as $pods
			| [ $g[0].edges[] | select(.source != "unknown")
			    | . as $e
			    | ([$pods[] | select(.app == $e.source) | .node] | unique) as $sn
			    | ([$pods[] | select(.app == $e.target and .version == $e.labels.version)
			        | .node] | unique) as $tn
			    | select(($sn | length) > 0 and ($tn | length) > 0 and
			             ([$sn[] | select(. as $x | $tn | index($x))] | length) == 0)
			    | "\(.source)(\($sn | join(","))) -> \(.target) \(.labels.version)(\($tn | join(",")))" ]
			' >"$dir/cross.json"
		jq -e 'length > 0' "$dir/cross.json" >/dev/null ||
			fail "no cross-node edge in the graphs: $(jq -c .edges "$dir/graph.json")"
		ok "cross-node edges: $(jq -c . "$dir/cross.json")"
	fi

	"${sim_cmd[@]}" down >/dev/null 2>&1 || fail "down on $nodes node(s)"
	ip netns list | grep -q "^$sim-" && fail "down left namespaces"
	[ -e "/run/weir-sim/$sim" ] && fail "down left state"
	grep -q " /run/weir-sim/$sim/" /proc/self/mountinfo && fail "down left its bpffs mount"
	ok "down on $nodes node(s) left nothing"
}

run_case 1
run_case 2
echo PASS

#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The cluster graph end to end: bookinfo on two simulated nodes, reviews and ratings on the
# agent path (L7 request edges), details and productpage on the kernel path (TCP edges); a
# real Prometheus in node n1's netns scrapes both agents, weir-graph beside it builds the
# graph from Prometheus. /graph must hold every bookinfo edge from both nodes, weirctl graph
# --prometheus must agree, /dotgraph must parse with dot, and headless Chromium (in the same
# netns, over loopback) must draw every service version as a node of /force and every service
# of /dotviz. Screenshots stay in $ART (default $BUILD/test-logs/obs_graph/). Then Prometheus
# goes away: /graph answers 503 JSON, counted in /healthz, and weir-graph keeps serving.
# Everything is parsed as JSON (jq) or DOM attributes. Exit 0 pass, 77 skip.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
SIMCTL=(/usr/bin/python3 tools/sim/weir-sim)
SIM=wt-obsgraph
ART=${ART:-$BUILD/test-logs/obs_graph}
TMP=$(mktemp -d /tmp/wt-obsgraph.XXXXXX)
PROM_PID=
WG_PID=
PROM=http://127.0.0.1:19090
WG=http://127.0.0.1:18088

[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
for b in weir-agent weir-cni bookinfo-app weir-graph weirctl; do
	[ -x "$BUILD/$b" ] || { echo "SKIP: $BUILD/$b is not built"; exit 77; }
done
for t in prometheus dot jq curl chromium iptables-restore; do
	command -v "$t" >/dev/null || { echo "SKIP: $t is not installed (tools/deps.sh)"; exit 77; }
done

stop_pid() { # pid
	[ -n "$1" ] || return 0
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
cleanup() {
	local rc=$?
	stop_pid "$WG_PID"
	stop_pid "$PROM_PID"
	if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
		for f in "$TMP"/*.log; do
			[ -f "$f" ] && { echo "=== $f (last 15 lines)"; tail -15 "$f"; }
		done
	fi
	"${SIMCTL[@]}" --name "$SIM" down >/dev/null 2>&1
	rm -rf "$TMP"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }
innode() { ip netns exec "$NS" "$@"; } # CMD in node n1's netns (loopback is n1's own)
get() { innode curl -sS -m 20 "$@"; }

# bookinfo with reviews and ratings annotated onto the agent path: L7 request edges for
# productpage -> reviews and reviews -> ratings, kernel-path TCP edges for the rest.
/usr/bin/python3 - deploy/samples/bookinfo/bookinfo.yaml >"$TMP/bookinfo.yaml" <<'PY' ||
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
for d in docs:
    if d["kind"] == "Service" and d["metadata"]["name"] in ("reviews", "ratings"):
        d["metadata"].setdefault("annotations", {})["weir.dev/path"] = "agent"
yaml.safe_dump_all(docs, sys.stdout, sort_keys=False)
PY
	fail "cannot write the annotated bookinfo manifest"

"${SIMCTL[@]}" --name "$SIM" down >/dev/null 2>&1
"${SIMCTL[@]}" --name "$SIM" up "$TMP/bookinfo.yaml" deploy/samples/bookinfo/client.yaml \
	--nodes 2 --build "$BUILD" >"$TMP/up.log" 2>&1 || fail "weir-sim up: $(tail -20 "$TMP/up.log")"
"${SIMCTL[@]}" --name "$SIM" status -o json >"$TMP/status.json"
jq -e '(.nodes | length) == 2 and (.pods | length) == 7 and all(.pods[]; .ready and .alive)' \
	"$TMP/status.json" >/dev/null || fail "status: $(jq -c . "$TMP/status.json")"
NS=$(jq -r '.nodes[0].netns' "$TMP/status.json")

# Prometheus in n1's netns, scraping both agents every second (n2's over the node wire).
mkdir -p "$TMP/prom" "$ART"
ART=$(cd "$ART" && pwd)
{
	printf 'global: {scrape_interval: 1s, evaluation_interval: 1s}\n'
	printf 'scrape_configs:\n  - job_name: weir-agent\n    static_configs:\n'
	printf '      - targets: [%s]\n' "$(jq -r '[.nodes[] | "\"\(.ip):15020\""] | join(", ")' \
		"$TMP/status.json")"
} >"$TMP/prometheus.yml"
# ip netns exec execs the command: $! is the server's own pid.
ip netns exec "$NS" prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/prom" \
	--web.listen-address=127.0.0.1:19090 >"$TMP/prometheus.log" 2>&1 &
PROM_PID=$!
ip netns exec "$NS" "$BUILD/weir-graph" --prometheus "$PROM" --listen 127.0.0.1:18088 --timeout 5s \
	>"$TMP/weir-graph.log" 2>&1 &
WG_PID=$!
seen=
for _ in $(seq 1 60); do
	get -f "$PROM/api/v1/query?query=up" >"$TMP/up.json" 2>/dev/null &&
		[ "$(jq '[.data.result[] | select(.value[1] == "1")] | length' "$TMP/up.json")" = 2 ] &&
		{ seen=1; break; }
	kill -0 "$PROM_PID" 2>/dev/null || fail "Prometheus exited"
	sleep 0.5
done
[ -n "$seen" ] || fail "Prometheus does not scrape both agents: $(cat "$TMP/up.json")"
get -f "$WG/healthz" >/dev/null || fail "weir-graph does not answer /healthz"
ok "Prometheus scrapes both node agents; weir-graph is up"

# Bounded load from the client Pod (outside the mesh): 25 req/s for 8 s, at most 200.
"${SIMCTL[@]}" --name "$SIM" exec client -- bookinfo-app --load http://productpage:9080/ \
	--rate 25 --duration 8 --concurrency 8 >"$TMP/load.json" 2>"$TMP/load.log" ||
	fail "load: $(cat "$TMP/load.json")"
jq -e '.requests > 0 and .failed == 0 and (.versions.reviews | .v1 > 0 and .v2 > 0 and .v3 > 0)' \
	"$TMP/load.json" >/dev/null || fail "load: $(jq -c . "$TMP/load.json")"
ok "load: $(jq -c '{requests, ok, versions: .versions.reviews}' "$TMP/load.json")"

# Every bookinfo edge, keyed source[:version] -> target:version protocol, with qps > 0.
WANT='["productpage:v1 -> details:v1 tcp", "productpage:v1 -> reviews:v1 http",
	"productpage:v1 -> reviews:v2 http", "productpage:v1 -> reviews:v3 http",
	"reviews:v2 -> ratings:v1 http", "reviews:v3 -> ratings:v1 http",
	"unknown -> productpage:v1 tcp"]'
SV='(.labels.source_version // "" | if . == "" then "" else ":" + . end)'
KEY="\"\\(.source)\\($SV) -> \\(.target):\\(.labels.version) \\(.labels.protocol)\""
KEYS="[.edges[] | select((.labels.qps | tonumber) > 0) | $KEY] | unique"
KEYS_ALL="[.edges[] | $KEY] | unique"
Q='time_horizon=1m&filter_empty=true'
seen=
for _ in $(seq 1 30); do
	get -f "$WG/graph?$Q" >"$TMP/graph.json" 2>"$TMP/graph.err" &&
		jq -e --argjson want "$WANT" "$KEYS"' as $k | all($want[]; . as $w | $k | index($w))' \
			"$TMP/graph.json" >/dev/null && { seen=1; break; }
	sleep 1
done
[ -n "$seen" ] || fail "/graph lacks bookinfo edges: have $(jq -c "$KEYS" "$TMP/graph.json" \
	2>/dev/null || cat "$TMP/graph.err"), want $WANT"
jq -e '.time_horizon == "60s" and (.warnings | not) and
	(.nodes | keys) == ["details", "productpage", "ratings", "reviews", "unknown"] and
	all(.edges[]; .labels.protocol != "http" or (.labels.error_rate | tonumber) == 0)' \
	"$TMP/graph.json" >/dev/null || fail "/graph: $(jq -c . "$TMP/graph.json")"
ok "/graph: $(jq -c "$KEYS" "$TMP/graph.json")"

# Both nodes reported: the source of each agent-path edge family is a different node's agent.
get -f -G --data-urlencode 'query=count by (instance) (istio_requests_total{reporter="source"})' \
	"$PROM/api/v1/query" >"$TMP/inst.json" || fail "Prometheus instance query"
[ "$(jq '.data.result | length' "$TMP/inst.json")" = 2 ] ||
	fail "request series from $(jq -c '[.data.result[].metric.instance]' "$TMP/inst.json"), want both nodes"
ok "request edges come from both nodes' agents"

# weirctl graph --prometheus: the same edges (unfiltered, so that no rate crosses zero
# between the two reads), and the same nodes.
get -f "$WG/graph?time_horizon=1m" >"$TMP/graph-all.json" || fail "/graph unfiltered"
innode "$BUILD/weirctl" graph --prometheus "$PROM" --time-horizon 1m -o json \
	>"$TMP/ctl.json" 2>"$TMP/ctl.log" || fail "weirctl graph --prometheus: $(cat "$TMP/ctl.log")"
jq -e -n --slurpfile a "$TMP/graph-all.json" --slurpfile b "$TMP/ctl.json" \
	"(\$a[0] | $KEYS_ALL) == (\$b[0] | $KEYS_ALL) and (\$a[0].nodes == \$b[0].nodes)" \
	>/dev/null || fail "weirctl graph --prometheus disagrees: $(jq -c "$KEYS_ALL" "$TMP/ctl.json") \
vs $(jq -c "$KEYS_ALL" "$TMP/graph-all.json")"
ok "weirctl graph --prometheus agrees ($(jq '.edges | length' "$TMP/ctl.json") edges)"

# /dotgraph parses with Graphviz's dot: one node per JSON node.
get -f "$WG/dotgraph?time_horizon=1m" >"$TMP/graph.gv" || fail "/dotgraph"
dot -Tplain "$TMP/graph.gv" >"$TMP/graph.plain" 2>"$TMP/dot.log" ||
	fail "dot cannot read /dotgraph: $(cat "$TMP/dot.log")"
[ "$(grep -c '^node ' "$TMP/graph.plain")" = "$(jq '.nodes | length' "$TMP/graph-all.json")" ] ||
	fail "dot sees $(grep -c '^node ' "$TMP/graph.plain") nodes in /dotgraph"
ok "/dotgraph parses with dot"

# Headless Chromium in the same netns (loopback only), a fresh profile per run.
chrome() { # out-flag url
	local prof
	prof=$(mktemp -d "$TMP/chrome.XXXXXX")
	innode timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-quic \
		--no-first-run --disable-background-networking --disable-component-update \
		--disable-sync --disable-dev-shm-usage --user-data-dir="$prof" \
		--window-size=1280,900 --virtual-time-budget=8000 "$1" "$2" 2>>"$TMP/chromium.log"
}
chrome --dump-dom "$WG/force?$Q" >"$TMP/force.html" || fail "chromium --dump-dom /force"
grep -q 'data-state="ready"' "$TMP/force.html" ||
	fail "/force did not load the graph: $(grep -o '<span id="status">[^<]*' "$TMP/force.html")"
for n in productpage:v1 details:v1 reviews:v1 reviews:v2 reviews:v3 ratings:v1 unknown; do
	grep -q "<g class=\"n\" data-node=\"$n\"" "$TMP/force.html" ||
		fail "/force drew no node $n: $(grep -o 'data-node="[^"]*"' "$TMP/force.html" | tr '\n' ' ')"
done
[ "$(grep -o '<line class="e"' "$TMP/force.html" | wc -l)" -ge 7 ] || fail "/force drew under 7 edges"
ok "/force (Chromium DOM): a node for every service version, $(grep -o '<line class="e"' \
	"$TMP/force.html" | wc -l) edges"
chrome --dump-dom "$WG/dotviz?$Q" >"$TMP/dotviz.html" || fail "chromium --dump-dom /dotviz"
for n in productpage details reviews ratings unknown; do
	grep -A1 'class="node"' "$TMP/dotviz.html" | grep -q "<title>$n</title>" ||
		fail "/dotviz has no rendered node $n"
done
ok "/dotviz (Chromium DOM): Graphviz SVG with every service"
rm -f "$ART/force.png" "$ART/dotviz.png"
for p in force dotviz; do
	chrome --screenshot="$ART/$p.png" "$WG/$p?$Q" >/dev/null || fail "chromium --screenshot $p"
done
for p in force dotviz; do
	[ "$(head -c 8 "$ART/$p.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
		fail "$ART/$p.png is not a PNG"
done
ok "screenshots: $ART/force.png, $ART/dotviz.png"

# Prometheus down: a clear 503 JSON, counted; weir-graph keeps serving.
stop_pid "$PROM_PID"
PROM_PID=
code=$(get -o "$TMP/down.json" -w '%{http_code}' "$WG/graph") || fail "/graph with Prometheus down"
[ "$code" = 503 ] || fail "/graph with Prometheus down: HTTP $code, want 503"
jq -e '.kind == "unreachable" and (.error | test("unreachable"))' "$TMP/down.json" >/dev/null ||
	fail "/graph with Prometheus down: $(cat "$TMP/down.json")"
kill -0 "$WG_PID" 2>/dev/null || fail "weir-graph exited when Prometheus went away"
get -f "$WG/healthz" >"$TMP/health.json" || fail "/healthz after Prometheus went away"
jq -e '.failures.unreachable >= 1 and .status == "ok"' "$TMP/health.json" >/dev/null ||
	fail "/healthz: $(jq -c . "$TMP/health.json")"
get -f -o /dev/null "$WG/force" || fail "/force after Prometheus went away"
ok "Prometheus down: 503 $(jq -c . "$TMP/down.json"), counted, weir-graph still serving"
echo PASS

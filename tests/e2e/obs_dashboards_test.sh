#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The observability add-ons (deploy/addons/) against real data: promtool checks the shipped
# Prometheus configuration and recording rules; bookinfo runs on two simulated nodes with
# VirtualServices on reviews and ratings (so their requests go through the agents' proxy, with
# injected 404s and 503s) and details left on the kernel fast path; a real Prometheus, given
# the shipped scrape job (its Kubernetes discovery swapped for static targets that carry the
# same __meta_kubernetes_* labels, so the shipped relabelling itself runs) and the shipped
# rules, scrapes both agents; then every panel target of every shipped Grafana dashboard
# (extracted with jq, so a new panel is covered without editing this test; templating
# variables substituted with real values) must return a non-empty result from
# /api/v1/query, and every templating variable's query must offer the value used.
# Exit 0 pass, 77 skip.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
SIMCTL=(/usr/bin/python3 tools/sim/weir-sim)
SIM=wt-obsdash
ADDONS=$(pwd)/deploy/addons
BOOKINFO=deploy/samples/bookinfo
TMP=$(mktemp -d /tmp/wt-obsdash.XXXXXX)
PROM_PID=
PROM_PORT=19091
UP=0

fail() {
	echo "FAIL: $*"
	exit 1
}
ok() { echo "ok: $*"; }

[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
for b in weir-agent weir-cni bookinfo-app; do
	[ -x "$BUILD/$b" ] || { echo "SKIP: $BUILD/$b is not built"; exit 77; }
done
for t in prometheus promtool jq curl iptables-restore; do
	command -v "$t" >/dev/null || { echo "SKIP: $t is not installed (tools/deps.sh)"; exit 77; }
done
/usr/bin/python3 -c 'import yaml' 2>/dev/null || { echo "SKIP: python3-yaml is not installed"; exit 77; }

cleanup() {
	if [ -n "$PROM_PID" ]; then
		kill "$PROM_PID" 2>/dev/null
		wait "$PROM_PID" 2>/dev/null
	fi
	[ "$UP" = 1 ] && "${SIMCTL[@]}" --name "$SIM" down >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- static checks of what is shipped -------------------------------------------------------
promtool check rules "$ADDONS/prometheus/rules.yaml" >"$TMP/rules.out" 2>&1 ||
	fail "promtool check rules: $(cat "$TMP/rules.out")"
ok "promtool check rules: $(grep -o '[0-9]* rules found' "$TMP/rules.out")"

# The PrometheusRule for prometheus-operator carries the same groups as rules.yaml.
/usr/bin/python3 - "$ADDONS/prometheus" <<'PY' || fail "rules-operator.yaml differs from rules.yaml"
import sys, yaml
d = sys.argv[1]
rules = yaml.safe_load(open(d + "/rules.yaml"))
op = yaml.safe_load(open(d + "/rules-operator.yaml"))
assert op["apiVersion"] == "monitoring.coreos.com/v1" and op["kind"] == "PrometheusRule", op["kind"]
if op["spec"] != rules:
    print("spec of rules-operator.yaml is not rules.yaml's groups")
    sys.exit(1)
pm = yaml.safe_load(open(d + "/podmonitor.yaml"))
assert pm["apiVersion"] == "monitoring.coreos.com/v1" and pm["kind"] == "PodMonitor"
assert pm["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] == "weir-agent"
assert pm["spec"]["namespaceSelector"]["matchNames"] == ["weir-system"]
PY
ok "rules-operator.yaml has rules.yaml's groups; podmonitor.yaml selects the agent Pods"

# Debian's Prometheus is built without Kubernetes service discovery, so its promtool rejects
# kubernetes_sd_configs; anything else wrong with the shipped file fails here.
if promtool check config "$ADDONS/prometheus/prometheus.yaml" >"$TMP/config.out" 2>&1; then
	ok "promtool check config prometheus.yaml"
elif grep -q 'field kubernetes_sd_configs not found' "$TMP/config.out"; then
	echo "note: this promtool has no Kubernetes service discovery (Debian's build): the file is" \
		"checked below with only kubernetes_sd_configs swapped for static targets"
else
	fail "promtool check config prometheus.yaml: $(cat "$TMP/config.out")"
fi

# Grafana's JSON model: what every dashboard needs to import and to be queried below.
for f in "$ADDONS"/grafana/*.json; do
	jq -e '(.uid | type == "string") and (.title | type == "string") and
		.schemaVersion >= 36 and (.panels | length > 0) and
		([.. | objects | select(has("gridPos")) | .id] | length == (unique | length)) and
		any(.templating.list[]; .type == "datasource" and .query == "prometheus") and
		all(.. | objects | select(has("targets")) | .targets[];
		    .datasource.uid == "${datasource}" and (.expr | length > 0))' "$f" >/dev/null ||
		fail "$f: not a dashboard as shipped dashboards must be (uid, title, schemaVersion," \
			"unique panel ids, datasource variable, an expr per target)"
done
[ "$(jq -s 'map(.uid) | length == (unique | length)' "$ADDONS"/grafana/*.json)" = true ] ||
	fail "two dashboards share a uid"
ok "dashboards: $(cd "$ADDONS/grafana" && echo *.json)"

# ---- bookinfo on two nodes, requests through the proxy and TCP on the kernel path -----------
cat >"$TMP/vs.yaml" <<'EOF'
# reviews and ratings through the agents' proxy, with some injected errors for the
# dashboards' 4xx and 5xx panels; details stays on the kernel fast path.
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - fault:
      abort:
        percentage: {value: 10.0}
        httpStatus: 404
    route:
    - destination: {host: reviews}
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: ratings
spec:
  hosts: [ratings]
  http:
  - fault:
      abort:
        percentage: {value: 10.0}
        httpStatus: 503
    route:
    - destination: {host: ratings}
EOF
"${SIMCTL[@]}" --name "$SIM" down >/dev/null 2>&1
UP=1
"${SIMCTL[@]}" --name "$SIM" up "$BOOKINFO/bookinfo.yaml" "$BOOKINFO/client.yaml" "$TMP/vs.yaml" \
	--nodes 2 --build "$BUILD" >"$TMP/up.out" 2>&1 || fail "weir-sim up: $(tail -20 "$TMP/up.out")"
"${SIMCTL[@]}" --name "$SIM" status -o json >"$TMP/status.json"
jq -e '(.nodes | length) == 2 and all(.pods[]; .ready and .alive) and all(.nodes[]; .agent.alive)' \
	"$TMP/status.json" >/dev/null || fail "status: $(cat "$TMP/status.json")"
ok "bookinfo up on 2 nodes"

# ---- Prometheus with the shipped scrape job and rules -----------------------------------------
# One static target per node agent carries the labels Kubernetes discovery would give the
# agent Pod; a decoy Pod (another app) must be dropped by the shipped relabelling.
jq '[.nodes[] | {name, ip}]' "$TMP/status.json" >"$TMP/nodes.json"
/usr/bin/python3 - "$ADDONS/prometheus/prometheus.yaml" "$ADDONS/prometheus/rules.yaml" \
	"$TMP/nodes.json" "$TMP/prometheus.yml" <<'PY' || fail "cannot derive the test's Prometheus config"
import json, sys, yaml
shipped, rules, nodes, out = sys.argv[1:5]
cfg = yaml.safe_load(open(shipped))
jobs = [j for j in cfg["scrape_configs"] if "kubernetes_sd_configs" in j]
assert len(jobs) == 1, "want one job with kubernetes_sd_configs"
job = jobs[0]
del job["kubernetes_sd_configs"]
def pod(name, ip, node, app):
    return {"targets": ["discovered-pod-address:0"],
            "labels": {"__meta_kubernetes_namespace": "weir-system",
                       "__meta_kubernetes_pod_name": name,
                       "__meta_kubernetes_pod_ip": ip,
                       "__meta_kubernetes_pod_node_name": node,
                       "__meta_kubernetes_pod_phase": "Running",
                       "__meta_kubernetes_pod_label_app_kubernetes_io_name": app}}
job["static_configs"] = [pod("weir-agent-" + n["name"], n["ip"], n["name"], "weir-agent")
                         for n in json.load(open(nodes))]
job["static_configs"].append(pod("not-the-agent", "127.0.0.1", "n1", "something-else"))
cfg["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
cfg["rule_files"] = [rules]
yaml.safe_dump(cfg, open(out, "w"), sort_keys=False)
PY
promtool check config "$TMP/prometheus.yml" >"$TMP/config2.out" 2>&1 ||
	fail "promtool check config (shipped job, static targets): $(cat "$TMP/config2.out")"
ok "promtool check config: the shipped job and rules with static targets"

NSN=$(jq -r '.nodes[0].netns' "$TMP/status.json")
mkdir -p "$TMP/prom"
ip netns exec "$NSN" prometheus --config.file="$TMP/prometheus.yml" \
	--storage.tsdb.path="$TMP/prom" --web.listen-address="127.0.0.1:$PROM_PORT" \
	>"$TMP/prometheus.log" 2>&1 &
PROM_PID=$!

# Bounded load besides the client's own 2 req/s: 20 req/s for 10 s from the client Pod.
"${SIMCTL[@]}" --name "$SIM" exec client -- bookinfo-app --load http://productpage:9080/ \
	--rate 20 --duration 10 --concurrency 4 >"$TMP/load.json" 2>"$TMP/load.err" ||
	fail "load: $(cat "$TMP/load.err")"
jq -e '.requests > 0 and .completed > 0' "$TMP/load.json" >/dev/null ||
	fail "load: $(jq -c . "$TMP/load.json")"
ok "load: $(jq -c '{requests, ok, codes}' "$TMP/load.json")"
kill -0 "$PROM_PID" 2>/dev/null || fail "Prometheus exited: $(tail -20 "$TMP/prometheus.log")"

# ---- every panel target and every variable query of every dashboard --------------------------
# Values the variables take here: bookinfo's names. A variable the test has no value for fails
# (a new variable needs one here), and each value must be one the variable's own query offers.
cat >"$TMP/vars.json" <<'EOF'
{"namespace": "default", "service": "reviews.default.svc.cluster.local",
 "workload": "reviews-v2", "node": "n1|n2",
 "__rate_interval": "30s", "__interval": "15s", "__range": "5m"}
EOF
for f in "$ADDONS"/grafana/*.json; do
	jq -c --arg f "$(basename "$f")" '
		(.templating.list[] | select(.type == "query") |
		 {file: $f, kind: "variable", title: .name, expr: (.query.query // .query)}),
		(.. | objects | select(has("targets")) | .title as $t |
		 .targets[] | {file: $f, kind: "panel", title: $t, ref: .refId, expr})' "$f"
done >"$TMP/queries.jsonl"
[ -s "$TMP/queries.jsonl" ] || fail "no panel targets found in the dashboards"

# Runs in the node netns (where Prometheus listens): every query, until all are non-empty or
# the deadline passes; prints the ones still empty. The recorded rates need two rule
# evaluations over scraped data, so the first rounds may see some empty.
cat >"$TMP/check.py" <<'PY'
import json, re, sys, time, urllib.parse, urllib.request
port, qfile, vfile, deadline = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
values = json.load(open(vfile))
queries = [json.loads(l) for l in open(qfile)]

def query(expr):
    url = "http://127.0.0.1:%s/api/v1/query?%s" % (port, urllib.parse.urlencode({"query": expr}))
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            ans = json.load(r)
    except urllib.error.HTTPError as e:
        ans = json.load(e)
    except OSError as e:
        return None, str(e)
    if ans.get("status") != "success":
        return None, ans.get("error", "no status")
    return ans["data"]["result"], None

def subst(expr):
    def one(m):
        name = m.group(1) or m.group(2)
        if name not in values:
            raise KeyError(name)
        return values[name]
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", one, expr)

def check(q):
    """None when fine, else why not."""
    try:
        expr = subst(q["expr"])
    except KeyError as e:
        return "variable $%s has no test value (tests/e2e/obs_dashboards_test.sh)" % e.args[0]
    if q["kind"] == "variable":
        m = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\)\s*", expr, re.S)
        if not m:
            return "not a label_values(metric, label) query: %s" % expr
        res, err = query("count by (%s) (%s)" % (m.group(2), m.group(1)))
        if err:
            return "query error %s: %s" % (err, expr)
        got = sorted(r["metric"].get(m.group(2), "") for r in res)
        want = values.get(q["title"], "")
        if not any(re.fullmatch(want, g) for g in got):
            return "offers %s, not the test's %r" % (got, want)
        return None
    res, err = query(expr)
    if err:
        return "query error %s: %s" % (err, expr)
    if not res:
        return "empty result: %s" % expr
    return None

while True:
    bad = [(q, why) for q in queries for why in [check(q)] if why]
    if not bad or time.time() > deadline:
        break
    time.sleep(2)
for q, why in bad:
    print("%s %s %r%s: %s" % (q["file"], q["kind"], q["title"],
                              " target " + q["ref"] if q.get("ref") else "", why))
print("checked %d queries (%d panel targets), %d failed" %
      (len(queries), sum(q["kind"] == "panel" for q in queries), len(bad)))
sys.exit(1 if bad else 0)
PY
ip netns exec "$NSN" /usr/bin/python3 "$TMP/check.py" "$PROM_PORT" "$TMP/queries.jsonl" \
	"$TMP/vars.json" "$(($(date +%s) + 90))" >"$TMP/check.out" 2>&1
rc=$?
kill -0 "$PROM_PID" 2>/dev/null || fail "Prometheus exited: $(tail -20 "$TMP/prometheus.log")"
[ $rc -eq 0 ] || fail "dashboard queries:
$(cat "$TMP/check.out")"
ok "$(tail -1 "$TMP/check.out")"

# Values, not only presence, for the metrics this add-on brought: weir_edges holds entries on
# both nodes and its fill level reaches the rule; the exposition still passes promtool.
for n in $(jq -r '.nodes[].name' "$TMP/status.json"); do
	"${SIMCTL[@]}" --name "$SIM" exec "node:$n" -- curl -sf -m 5 http://127.0.0.1:15020/metrics \
		>"$TMP/metrics-$n.txt" || fail "/metrics on $n"
	# Istio's duration name is not in base units: the one lint promtool must give (telemetry.md).
	promtool check metrics <"$TMP/metrics-$n.txt" >"$TMP/promtool-$n.out" 2>&1 ||
		! grep -qv 'istio_request_duration_milliseconds use base unit' "$TMP/promtool-$n.out" ||
		fail "promtool check metrics on $n: $(head -20 "$TMP/promtool-$n.out")"
	grep -Eq '^weir_map_entries\{map="weir_edges",type="hash"\} [1-9]' "$TMP/metrics-$n.txt" ||
		fail "$n: no weir_map_entries for weir_edges above 0: $(grep '^weir_map_' "$TMP/metrics-$n.txt")"
	grep -Eq '^weir_map_max_entries\{map="weir_edges",type="hash"\} 65536$' "$TMP/metrics-$n.txt" ||
		fail "$n: weir_map_max_entries for weir_edges is not 65536"
done
ip netns exec "$NSN" curl -sf -m 5 "http://127.0.0.1:$PROM_PORT/api/v1/query" \
	--data-urlencode 'query=node:weir_map_fill:ratio{map="weir_edges"} > 0' >"$TMP/fill.json" ||
	fail "Prometheus query for the map fill level"
jq -e '.data.result | length == 2' "$TMP/fill.json" >/dev/null ||
	fail "node:weir_map_fill:ratio of weir_edges not above 0 on both nodes: $(jq -c .data "$TMP/fill.json")"
ok "weir_edges fill level on both nodes: $(jq -c '[.data.result[] | {(.metric.node): .value[1]}] | add' "$TMP/fill.json")"

# The shipped relabelling made one target per agent, labelled with its node, and dropped the
# decoy Pod.
ip netns exec "$NSN" curl -sf -m 5 "http://127.0.0.1:$PROM_PORT/api/v1/targets" >"$TMP/targets.json" ||
	fail "Prometheus /api/v1/targets"
jq -e --slurpfile n "$TMP/nodes.json" '
	(.data.activeTargets | map(.labels.node) | sort) == ($n[0] | map(.name) | sort) and
	all(.data.activeTargets[]; .health == "up" and .labels.namespace == "weir-system" and
	    (.labels.pod | startswith("weir-agent-")) and
	    (.scrapeUrl | endswith(":15020/metrics"))) and
	any(.data.droppedTargets[]; .discoveredLabels.__meta_kubernetes_pod_name == "not-the-agent")' \
	"$TMP/targets.json" >/dev/null ||
	fail "targets after the shipped relabelling: $(jq -c '[.data.activeTargets[] | {labels, health, scrapeUrl}]' "$TMP/targets.json")"
ok "relabelling: one target per agent with its node label, decoy Pod dropped"

"${SIMCTL[@]}" --name "$SIM" down >/dev/null 2>&1 || fail "weir-sim down"
UP=0
echo PASS

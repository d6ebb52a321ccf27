#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# weirctl routes and weirctl explain's L7 step against a real agent on the node simulator:
# bookinfo with Istio's destination-rule-all and virtual-service-reviews-test-v2 (end-user
# jason -> reviews v2, everyone else -> v1). `weirctl explain productpage reviews:9080
# --header end-user=jason -o json` must name the v2 route and subset, the same question
# without the header the v1 catch-all, `weirctl routes -o json` must hold the compiled table,
# and real requests from productpage must land where explain said. Everything is parsed with
# jq from -o json, never from human text. Exit 0 pass, 77 skip.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SIMCTL=(/usr/bin/python3 tools/sim/weir-sim)
BOOKINFO=deploy/samples/bookinfo
SIM=wt-l7explain
TMP=$(mktemp -d /tmp/wt-l7explain.XXXXXX)

[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
for b in weir-agent weir-cni weirctl bookinfo-app; do
	[ -x "$BUILD/$b" ] || { echo "SKIP: $BUILD/$b is not built"; exit 77; }
done
for t in jq curl nsenter; do
	command -v "$t" >/dev/null || { echo "SKIP: $t is not installed (tools/deps.sh)"; exit 77; }
done

cleanup() {
	"${SIMCTL[@]}" --name "$SIM" down >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }

# check JSON FILTER WHAT: jq -e FILTER holds on JSON, else fail naming WHAT.
check() {
	echo "$1" | jq -e "$2" >/dev/null || fail "$3: jq '$2' does not hold on: $(echo "$1" | jq -c .)"
}

# Istio's samples/bookinfo/networking/destination-rule-all.yaml and
# virtual-service-reviews-test-v2.yaml, as a user applies them.
cat >"$TMP/rules.yaml" <<'YAML'
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: productpage
spec:
  host: productpage
  subsets:
  - name: v1
    labels:
      version: v1
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
  subsets:
  - name: v1
    labels:
      version: v1
  - name: v2
    labels:
      version: v2
  - name: v3
    labels:
      version: v3
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: ratings
spec:
  host: ratings
  subsets:
  - name: v1
    labels:
      version: v1
  - name: v2
    labels:
      version: v2
  - name: v2-mysql
    labels:
      version: v2-mysql
  - name: v2-mysql-vm
    labels:
      version: v2-mysql-vm
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: details
spec:
  host: details
  subsets:
  - name: v1
    labels:
      version: v1
  - name: v2
    labels:
      version: v2
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts:
    - reviews
  http:
  - match:
    - headers:
        end-user:
          exact: jason
    route:
    - destination:
        host: reviews
        subset: v2
  - route:
    - destination:
        host: reviews
        subset: v1
YAML

"${SIMCTL[@]}" --name "$SIM" down >/dev/null 2>&1
"${SIMCTL[@]}" --name "$SIM" up "$BOOKINFO/bookinfo.yaml" "$TMP/rules.yaml" --nodes 1 \
	--build "$BUILD" >"$TMP/up.out" 2>&1 || { cat "$TMP/up.out"; fail "up"; }
"${SIMCTL[@]}" --name "$SIM" status -o json >"$TMP/status.json"
jq -e 'all(.pods[]; .ready and .alive) and all(.nodes[]; .agent.alive)' "$TMP/status.json" \
	>/dev/null || fail "status: $(cat "$TMP/status.json")"
NETNS=$(jq -r '.nodes[0].netns' "$TMP/status.json")
BPFFS=$(jq -r '.nodes[0].bpffs' "$TMP/status.json")
PP=$(jq -r '[.pods[] | select(.app == "productpage")][0] | "\(.namespace)/\(.name)"' "$TMP/status.json")
[ -n "$PP" ] && [ "$PP" != "null/null" ] || fail "no productpage Pod: $(cat "$TMP/status.json")"

# weirctl as an operator runs it: in the node netns, where the agent's admin API listens.
ctl() {
	nsenter --net="/run/netns/$NETNS" "$BUILD/weirctl" --bpffs-dir "$BPFFS" -o json "$@"
}

# The agent compiles the rules with the first snapshot that holds them; wait (bounded).
for _ in $(seq 50); do
	r=$(ctl routes 2>/dev/null) &&
		echo "$r" | jq -e '.ports[] | select(.service == "reviews" and .port == 9080)
			| .http | length == 2' >/dev/null && break
	sleep 0.2
done

# --- weirctl routes -------------------------------------------------------------------
r=$(ctl routes) || fail "weirctl routes exited $?"
rv='.ports[] | select(.namespace == "default" and .service == "reviews" and .port == 9080)'
check "$r" "[$rv] | length == 1" "one reviews:9080 table"
check "$r" "$rv | .protocol == \"http\" and .path == \"agent\" and .needs_agent == true
	and .virtual_service == \"default/reviews\"
	and (.path_reasons[0] | contains(\"VirtualService default/reviews\"))" "reviews takes the agent path"
check "$r" "$rv | .http | length == 2" "two http routes"
check "$r" "$rv | .http[0].matches[0].headers[\"end-user\"].exact == \"jason\"
	and (.http[0].destinations | length == 1)
	and .http[0].destinations[0].subset == \"v2\" and .http[0].destinations[0].weight == 100
	and .http[0].destinations[0].cluster == \"outbound|9080|v2|reviews.default.svc.cluster.local\"" \
	"route 0: end-user jason -> v2"
check "$r" "$rv | (.http[1].matches | length == 0) and .http[1].destinations[0].subset == \"v1\"" \
	"route 1: everyone -> v1"
check "$r" "$rv | .http[0].retries.attempts == 2 and .http[0].timeout_ms == 0" "Istio's defaults"
check "$r" "$rv | .default_cluster == \"outbound|9080||reviews.default.svc.cluster.local\"" "default cluster"
for v in v1 v2 v3; do
	check "$r" "$rv | .clusters[] | select(.subset == \"$v\")
		| .subset_labels.version == \"$v\" and .policy.destination_rule == \"default/reviews\"
		and (.endpoints | length == 1) and .endpoints[0].ready == true
		and (.endpoints[0].pod | startswith(\"default/reviews-$v-\"))" "cluster $v with its Pod"
done
check "$r" '.ports[] | select(.service == "details" and .port == 9080)
	| .path == "kernel" and (.http | length == 0) and .virtual_service == null' \
	"details (subsets only) stays on the kernel path"
check "$r" '.compile_errors == 0' "nothing rejected"
ok "weirctl routes: reviews:9080 agent path, jason -> v2, default -> v1, clusters with Pods"

# --- weirctl explain with and without the header ------------------------------------------
j=$(ctl explain "$PP" reviews:9080 --header end-user=jason) || fail "explain --header exited $?"
check "$j" '.l7.checked == true and .l7.applies == true and .l7.protocol == "http"
	and .l7.path == "agent"' "explain has an L7 answer"
check "$j" '.l7.verdict == "forward" and .l7.why == "match" and .l7.route.index == 0
	and .l7.route.match_index == 0 and .l7.virtual_service == "default/reviews"' "jason: route 0"
check "$j" '.l7.subset == "v2"
	and .l7.cluster == "outbound|9080|v2|reviews.default.svc.cluster.local"
	and (.l7.destinations | length == 1) and .l7.destinations[0].probability == 1
	and .l7.destinations[0].candidates == 1
	and (.l7.destinations[0].backends[0].pod | startswith("default/reviews-v2-"))' "jason: v2"
check "$j" '.l7.request.headers == [["end-user", "jason"]] and .l7.request.method == "GET"
	and .l7.request.path == "/"' "the request as asked"
check "$j" '.l7.source.labels.app == "productpage" and .l7.source.namespace == "default"' "source"
check "$j" '.l7.retries.attempts == 2 and .l7.timeout_ms == 0 and .l7.fault == null' "policy"
check "$j" '.route != null and (.route_note | length > 0)' "route and route_note kept"
check "$j" '.service.name == "reviews" and .service.model_mode == "agent"
	and .verdict.reason == "to_agent" and .verdict.to == "agent"' "connect4 sends it to the agent"
ok "explain --header end-user=jason: $(echo "$j" | jq -c '{route: .l7.route.index, subset: .l7.subset}')"

j=$(ctl explain "$PP" reviews:9080) || fail "explain exited $?"
check "$j" '.l7.applies == true and .l7.verdict == "forward" and .l7.why == "catch_all"
	and .l7.route.index == 1 and .l7.subset == "v1"
	and .l7.cluster == "outbound|9080|v1|reviews.default.svc.cluster.local"' "no header: v1"
check "$j" '.l7.tried[0].taken == false and .l7.tried[0].matches[0].failed == "headers"
	and .l7.tried[1].taken == true' "why route 0 did not take it"
ok "explain without the header: $(echo "$j" | jq -c '{route: .l7.route.index, subset: .l7.subset, failed: .l7.tried[0].matches[0].failed}')"

j=$(ctl explain "$PP" reviews:9080 --header end-user=jasonx --path /reviews/1 --method POST) ||
	fail "explain with attributes exited $?"
check "$j" '.l7.subset == "v1" and .l7.request.method == "POST" and .l7.request.path == "/reviews/1"' \
	"an exact match is exact"

j=$(ctl explain "$PP" details:9080 --header end-user=jason) || fail "explain details exited $?"
check "$j" '.l7.checked == true and .l7.applies == false and .l7.path == "kernel"
	and (.l7.note | contains("kernel path")) and .route == null' "details: no L7 route"
ok "explain details:9080: $(echo "$j" | jq -c .l7.note)"

# Bad attributes are usage errors, named.
err=$(ctl explain "$PP" reviews:9080 --header nonsense 2>&1 >/dev/null); rc=$?
[ "$rc" -eq 2 ] && [[ $err == *"want NAME=VALUE"* ]] || fail "--header nonsense: rc $rc: $err"
err=$(ctl explain "$PP" reviews:9080 --path nopath 2>&1 >/dev/null); rc=$?
[ "$rc" -eq 2 ] && [[ $err == *"--path"* ]] || fail "--path nopath: rc $rc: $err"
ok "malformed --header and --path are refused with exit 2"

# The text forms (for people, never parsed) still run to completion on the same answers.
nsenter --net="/run/netns/$NETNS" "$BUILD/weirctl" --bpffs-dir "$BPFFS" routes >"$TMP/routes.txt" ||
	fail "weirctl routes (text) exited $?"
nsenter --net="/run/netns/$NETNS" "$BUILD/weirctl" --bpffs-dir "$BPFFS" explain "$PP" reviews:9080 \
	--header end-user=jason >"$TMP/explain.txt" || fail "weirctl explain (text) exited $?"
[ -n "${L7_SHOW_TEXT:-}" ] && cat "$TMP/routes.txt" "$TMP/explain.txt"

# --- the proxy agrees with explain ---------------------------------------------------------
# Real requests from productpage through the agent: jason always reaches v2, anyone else v1.
# (Needs the router wired into the proxy; a failure here with the checks above passing means
# explain and the data path disagree.)
for who in jason ""; do
	want=$([ -n "$who" ] && echo v2 || echo v1)
	for i in 1 2 3 4 5 6; do
		"${SIMCTL[@]}" --name "$SIM" exec "$PP" -- curl -sf -m 5 ${who:+-H "end-user: $who"} \
			http://reviews:9080/ >"$TMP/r.json" || fail "productpage -> reviews (${who:-anonymous}) #$i"
		v=$(jq -r .version "$TMP/r.json")
		[ "$v" = "$want" ] || fail "${who:-anonymous} request #$i reached reviews $v, explain said $want"
	done
done
ok "requests land where explain said: jason -> v2, anonymous -> v1"

"${SIMCTL[@]}" --name "$SIM" down >/dev/null 2>&1 || fail "down"
ip netns list | grep -q "^$SIM-" && fail "down left namespaces"
echo PASS

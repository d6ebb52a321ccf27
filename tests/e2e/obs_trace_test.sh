#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Distributed tracing end to end: bookinfo on one simulated node, every Service on the agent
# path (a VirtualService each; reviews pinned to v2 so that every request reaches ratings), a
# meshed client Pod (sleep) calling productpage, and a Zipkin collector in a Pod of
# istio-system that the mesh config names as its default tracing provider, as Istio users
# write it (extensionProviders + defaultProviders + defaultConfig.tracing.sampling).
#   1. one request gives one trace with every agent-path hop (sleep->productpage,
#      productpage->details, productpage->reviews, reviews->ratings), parents right, children
#      nested inside their parents, Istio's span names and tags;
#   2. a root-namespace Telemetry with randomSamplingPercentage 0: nothing is exported;
#      back to 100 %: every request is;
#   3. an upstream "x-b3-sampled: 0" is honoured at 100 %;
#   4. a collector answering 500, then one that never answers: every request still succeeds
#      and the lost spans are counted in /metrics by outcome.
# Exit 0 pass, 77 skip.
. "$(dirname "$0")/lib.sh"

# The Zipkin fixture: its server script, run in a Pod on port 9411 with Zipkin's v2 API.
ZIPKIN_SRV=${ZIPKIN_SRV:-$E2E_DIR/../fixtures/zipkin/zipkin.py}
[ -f "$ZIPKIN_SRV" ] || e2e_skip "no Zipkin fixture at $ZIPKIN_SRV"
ZIPKIN_SRV=$(cd "$(dirname "$ZIPKIN_SRV")" && pwd)/$(basename "$ZIPKIN_SRV")

l7_init trace
N=5 # requests per sampling step
HOPS=4

# A Service + Deployment in istio-system running COMMAND (a JSON list) on port 9411.
collector_yaml() { # name command-json
	cat <<YAML
apiVersion: v1
kind: Service
metadata: {name: $1, namespace: istio-system}
spec:
  selector: {app: $1}
  ports: [{name: http-zipkin, port: 9411, targetPort: 9411}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: $1, namespace: istio-system}
spec:
  replicas: 1
  selector: {matchLabels: {app: $1}}
  template:
    metadata:
      labels: {app: $1, istio.io/dataplane-mode: none}
    spec:
      containers:
      - name: $1
        image: weir/test
        command: $2
---
YAML
}

# A tiny collector that answers every POST with 500, or (hang) reads it and never answers.
BAD_PY='import socket,sys,time
s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)
s.bind(("0.0.0.0",9411));s.listen(64);held=[]
while True:
    c,_=s.accept();c.settimeout(2)
    try: c.recv(65536)
    except OSError: pass
    if sys.argv[1]=="500": c.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");c.close()
    else: held=(held+[c])[-64:]'

# The mesh config with the default tracing provider $1 at $2 % sampling.
mesh_yaml() { # provider sampling
	cat <<YAML
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |-
    defaultConfig:
      tracing:
        sampling: $2
    extensionProviders:
    - name: zipkin
      zipkin: {service: zipkin.istio-system.svc.cluster.local, port: 9411}
    - name: zipkin-500
      zipkin: {service: zipkin-500.istio-system.svc.cluster.local, port: 9411}
    - name: zipkin-hang
      zipkin: {service: zipkin-hang.istio-system.svc.cluster.local, port: 9411}
    defaultProviders:
      tracing: [$1]
YAML
}

{
	collector_yaml zipkin "[\"/usr/bin/python3\", \"$ZIPKIN_SRV\", \"--listen\", \"0.0.0.0:9411\"]"
	collector_yaml zipkin-500 "[\"/usr/bin/python3\", \"-c\", $(jq -Rs . <<<"$BAD_PY"), \"500\"]"
	collector_yaml zipkin-hang "[\"/usr/bin/python3\", \"-c\", $(jq -Rs . <<<"$BAD_PY"), \"hang\"]"
	cat "$L7_ISTIO/destination-rule-all.yaml"
	for s in productpage details reviews ratings; do
		sub=
		[ "$s" = reviews ] && sub=', subset: v2'
		printf '%s\n' '---' 'apiVersion: networking.istio.io/v1' 'kind: VirtualService' \
			"metadata: {name: $s}" 'spec:' "  hosts: [$s]" '  http:' \
			"  - route: [{destination: {host: $s$sub}}]"
	done
} >"$L7_TMP/setup.yaml"
l7_up "$L7_BOOKINFO" "$L7_ISTIO/sleep.yaml" "$L7_TMP/setup.yaml"
# The mesh config goes in as the later ones do (one file per object): they replace it.
mesh_yaml zipkin 100 >"$L7_TMP/mesh.yaml"
l7_apply "$L7_TMP/mesh.yaml"

PP=http://productpage:9080/
spans_metric() { l7_metrics | l7_metric weir_trace_spans_total "outcome=$1"; }
# zipkin PATH: a GET on the Zipkin collector's API, from inside its own Pod.
zipkin() { l7_exec "$(l7_pods zipkin | head -1)" curl -sf -m 5 "http://127.0.0.1:9411$1"; }
# wait_metric OUTCOME VALUE SECS: until weir_trace_spans_total{outcome} reaches VALUE.
wait_metric() {
	l7_wait "$3" "test \"\$(spans_metric $1)\" -ge $2" ||
		e2e_fail "weir_trace_spans_total{outcome=\"$1\"} is $(spans_metric "$1"), want $2"
}
# get_n COUNT [curl args]: COUNT requests to productpage, each must answer 200.
get_n() {
	local n=$1 i code
	shift
	for i in $(seq "$n"); do
		code=$(l7_exec sleep curl -s -m 10 -o /dev/null -w '%{http_code}' "$@" "$PP") || true
		[ "$code" = 200 ] || e2e_fail "request $i answered $code, want 200"
	done
}

l7_wait 20 "l7_node grep -q 'tracing: spans go to' /run/weir-sim/$L7_SIM/logs/agent-n1.log" ||
	e2e_fail "the agent never resolved the zipkin provider to a collector"
l7_wait 20 "zipkin /api/v2/traces" || e2e_fail "the Zipkin collector does not answer"

e2e_log "1: one request, one trace with every hop"
e0=$(spans_metric exported)
l7_exec sleep curl -sf -m 10 -H 'x-request-id: wt-trace-1' "$PP" >"$L7_TMP/one.json" ||
	e2e_fail "sleep -> productpage failed"
# The agent started the trace (the client sent none): productpage saw its traceparent.
tid=$(jq -r '.trace.traceparent // empty' "$L7_TMP/one.json" | cut -d- -f2)
[ ${#tid} -eq 32 ] || e2e_fail "productpage saw no traceparent: $(jq -c .trace "$L7_TMP/one.json")"
wait_metric exported $((e0 + HOPS)) 15
l7_wait 10 "zipkin /api/v2/trace/$tid | jq -e 'length >= $HOPS'" ||
	e2e_fail "trace $tid: $(zipkin "/api/v2/trace/$tid" | jq -c 'map(.name)')"
zipkin "/api/v2/trace/$tid" >"$L7_TMP/trace.json"
jq -e --argjson n $HOPS 'length == $n' "$L7_TMP/trace.json" >/dev/null ||
	e2e_fail "trace has $(jq length "$L7_TMP/trace.json") spans, want $HOPS"
/usr/bin/python3 - "$L7_TMP/trace.json" <<'PY' || e2e_fail "trace shape (above)"
import json, sys
spans = json.load(open(sys.argv[1]))
fq = lambda s: "%s.default.svc.cluster.local:9080/*" % s
by = {s["name"]: s for s in spans}
want = {fq("productpage"): ("sleep.default", None),
        fq("details"): ("productpage.default", fq("productpage")),
        fq("reviews"): ("productpage.default", fq("productpage")),
        fq("ratings"): ("reviews.default", fq("reviews"))}
bad = []
if sorted(by) != sorted(want):
    bad.append("span names %s" % sorted(by))
for name, (local, parent) in want.items():
    s = by.get(name)
    if not s:
        continue
    t = s.get("tags", {})
    if s.get("kind") != "CLIENT": bad.append(name + ": kind " + str(s.get("kind")))
    if s["localEndpoint"]["serviceName"] != local: bad.append(name + ": local " + str(s["localEndpoint"]))
    if t.get("http.status_code") != "200" or t.get("component") != "proxy" or "error" in t:
        bad.append(name + ": tags " + json.dumps(t))
    if t.get("guid:x-request-id") != "wt-trace-1": bad.append(name + ": x-request-id " + str(t.get("guid:x-request-id")))
    svc = name.split(".")[0]
    sub = "v2" if svc == "reviews" else ""
    if t.get("upstream_cluster") != "outbound|9080|%s|%s.default.svc.cluster.local" % (sub, svc):
        bad.append(name + ": upstream_cluster " + str(t.get("upstream_cluster")))
    if not s.get("remoteEndpoint", {}).get("ipv4") or s["remoteEndpoint"].get("port") != 9080:
        bad.append(name + ": remoteEndpoint " + str(s.get("remoteEndpoint")))
    if parent is None:
        if "parentId" in s: bad.append(name + ": root has a parent")
        continue
    p = by.get(parent)
    if not p or s.get("parentId") != p["id"]:
        bad.append(name + ": parent " + str(s.get("parentId")) + " is not " + parent)
        continue
    # Nested on one clock: the child starts after and ends before its parent.
    if not (p["timestamp"] <= s["timestamp"] and
            s["timestamp"] + s["duration"] <= p["timestamp"] + p["duration"]):
        bad.append("%s [%d+%d] not inside %s [%d+%d]" % (name, s["timestamp"], s["duration"],
                   parent, p["timestamp"], p["duration"]))
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
PY
e2e_log "ok: trace $tid: $HOPS spans, parents and nesting right"

e2e_log "2: sampling 0 % (root Telemetry), then 100 % again"
cat >"$L7_TMP/tel0.yaml" <<'YAML'
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-default, namespace: istio-system}
spec:
  tracing:
  - randomSamplingPercentage: 0
YAML
l7_apply "$L7_TMP/tel0.yaml"
e0=$(spans_metric exported)
get_n $N
sleep 3 # two exporter periods: a span would have left by now
[ "$(spans_metric exported)" -eq "$e0" ] || e2e_fail "0 %: $(($(spans_metric exported) - e0)) spans exported"
l7_delete Telemetry mesh-default istio-system
e0=$(spans_metric exported)
get_n $N
wait_metric exported $((e0 + N * HOPS)) 15
e2e_log "ok: 0 % exports nothing, 100 % exports $((N * HOPS)) spans for $N requests"

e2e_log "3: an upstream x-b3-sampled: 0 is honoured"
e0=$(spans_metric exported)
get_n $N -H 'x-b3-sampled: 0'
l7_exec sleep curl -sf -m 10 -H 'x-b3-sampled: 0' "$PP" >"$L7_TMP/deny.json"
jq -e '.trace.traceparent | endswith("-00")' "$L7_TMP/deny.json" >/dev/null ||
	e2e_fail "productpage's traceparent is not unsampled: $(jq -c .trace "$L7_TMP/deny.json")"
sleep 3
[ "$(spans_metric exported)" -eq "$e0" ] ||
	e2e_fail "x-b3-sampled 0: $(($(spans_metric exported) - e0)) spans exported"
e2e_log "ok: nothing exported for requests the caller did not sample"

e2e_log "4a: a collector answering 500"
mesh_yaml zipkin-500 100 >"$L7_TMP/mesh500.yaml"
l7_apply "$L7_TMP/mesh500.yaml"
d0=$(spans_metric dropped_collector_error)
get_n $N
wait_metric dropped_collector_error $((d0 + N * HOPS)) 15
e2e_log "ok: $N requests answered, $((N * HOPS)) spans counted dropped_collector_error"

e2e_log "4b: a collector that never answers"
mesh_yaml zipkin-hang 100 >"$L7_TMP/meshhang.yaml"
l7_apply "$L7_TMP/meshhang.yaml"
d0=$(spans_metric dropped_timeout)
t0=$(date +%s)
get_n $N
[ $(($(date +%s) - t0)) -le $((N * 2 + 5)) ] || e2e_fail "requests slowed down by the hung collector"
wait_metric dropped_timeout $((d0 + N * HOPS)) 30
l7_metrics | grep -q '^weir_trace_queue_spans ' || e2e_fail "no weir_trace_queue_spans gauge"
e2e_log "ok: $N requests answered in time, $((N * HOPS)) spans counted dropped_timeout"
echo PASS

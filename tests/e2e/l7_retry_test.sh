#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Retries hiding a flaky backend (Istio's VirtualService `retries`), counted on the backend:
# httpbin answers 500 to 25 % of requests (BOOKINFO_FAIL_PERCENT, a fixed seed).
#   1. a route without `retries`: Istio's default policy retries 503 only, so the client sees
#      exactly the 500s that the backend's /stats counts as injected;
#   2. `retries: {attempts: 4, retryOn: 5xx}`: every answer is 200, the backend received the
#      client's requests plus one per injected failure, and weir_proxy_http_retries_total
#      counts exactly those retries.
# Exit 0 pass, 77 skip.
. "$(dirname "$0")/lib.sh"
l7_init retry
{
	l7_httpbin_yaml svc
	l7_httpbin_yaml v1 BOOKINFO_FAIL_PERCENT=25 BOOKINFO_FAIL_SEED=7 BOOKINFO_FAIL_CODE=500
} >"$L7_TMP/httpbin.yaml"
cat >"$L7_TMP/vs-plain.yaml" <<'YAML'
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: httpbin
spec:
  hosts: [httpbin]
  http:
  - route:
    - destination: {host: httpbin}
YAML
cat >"$L7_TMP/vs-retries.yaml" <<'YAML'
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: httpbin
spec:
  hosts: [httpbin]
  http:
  - route:
    - destination: {host: httpbin}
    retries:
      attempts: 4
      perTryTimeout: 2s
      retryOn: 5xx
YAML
l7_up "$L7_TMP/httpbin.yaml" "$L7_ISTIO/sleep.yaml"
URL=http://httpbin:8000/
N=100

# stat KEY: a field of httpbin's /stats (jq path).
stat() { l7_app_stats httpbin | jq "$1 // 0"; }

e2e_log "1: no retries policy (500 is not in Istio's default retryOn)"
l7_apply "$L7_TMP/vs-plain.yaml"
q0=$(stat .requests) i0=$(stat .injected)
l7_curl_many sleep "$URL" $N >"$L7_TMP/a.json"
q1=$(stat .requests) i1=$(stat .injected)
n500=$(jq -s 'map(select(.code == 500)) | length' "$L7_TMP/a.json")
n200=$(jq -s 'map(select(.code == 200)) | length' "$L7_TMP/a.json")
[ $((n200 + n500)) -eq $N ] || e2e_fail "1: answers other than 200/500: $(jq -s -c 'map(.code) | unique' "$L7_TMP/a.json")"
[ $((q1 - q0)) -eq $N ] || e2e_fail "1: httpbin received $((q1 - q0)) requests for $N (retried?)"
[ "$n500" -eq $((i1 - i0)) ] && [ "$n500" -gt 0 ] ||
	e2e_fail "1: client saw $n500 x 500, httpbin injected $((i1 - i0))"
e2e_log "ok: $n500 of $N failures reach the client, none retried"

e2e_log "2: retries attempts 4 on 5xx"
r0=$(l7_metrics | l7_metric weir_proxy_http_retries_total)
l7_apply "$L7_TMP/vs-retries.yaml"
q0=$(stat .requests) i0=$(stat .injected)
l7_curl_many sleep "$URL" $N >"$L7_TMP/b.json"
q1=$(stat .requests) i1=$(stat .injected)
r1=$(l7_metrics | l7_metric weir_proxy_http_retries_total)
jq -e -s "length == $N and all(.code == 200 and .body.service == \"httpbin\")" "$L7_TMP/b.json" \
	>/dev/null || e2e_fail "2: not every answer is 200: $(jq -s -c 'map(.code) | group_by(.) |
	map({(.[0] | tostring): length}) | add' "$L7_TMP/b.json")"
inj=$((i1 - i0))
[ "$inj" -gt 0 ] || e2e_fail "2: httpbin injected no failure; the test proves nothing"
[ $((q1 - q0)) -eq $((N + inj)) ] ||
	e2e_fail "2: httpbin received $((q1 - q0)) requests, want $N + $inj retries"
[ $((r1 - r0)) -eq "$inj" ] || e2e_fail "2: weir_proxy_http_retries_total +$((r1 - r0)), want +$inj"
e2e_log "ok: $N answers 200 over $inj injected failures, each retried once"
echo PASS

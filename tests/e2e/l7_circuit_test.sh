#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Istio's "Circuit Breaking" task on weir: the task's DestinationRule (maxConnections 1,
# http1MaxPendingRequests 1, maxRequestsPerConnection 1) on httpbin, whose answers take 300 ms,
# and 30 requests from a meshed Pod with curl, 4 at a time on their own connections. At most
# one request is in flight and one waits, so some answers are the agent's 503 with
# response_flags UO, which never reach httpbin (its /stats counts only the 200s), and the
# others are 200. Exit 0 pass, 77 skip.
. "$(dirname "$0")/lib.sh"
l7_init circuit
{
	l7_httpbin_yaml svc
	l7_httpbin_yaml v1 BOOKINFO_DELAY_MS=300
} >"$L7_TMP/httpbin.yaml"
l7_up "$L7_TMP/httpbin.yaml" "$L7_ISTIO/sleep.yaml"
l7_apply "$L7_ISTIO/circuit-breaking.yaml"
N=30

uo() {
	l7_metrics | l7_metric istio_requests_total reporter=source destination_service_name=httpbin \
		response_code=503 response_flags=UO
}
u0=$(uo)
q0=$(l7_app_stats httpbin | jq .requests)
l7_exec sleep curl -s --no-progress-meter -m 30 --parallel --parallel-immediate --parallel-max 4 -o /dev/null \
	-w '%{http_code}\n' "http://httpbin:8000/?n=[1-$N]" >"$L7_TMP/codes" || true
n200=$(grep -cx 200 "$L7_TMP/codes" || true)
n503=$(grep -cx 503 "$L7_TMP/codes" || true)
e2e_log "answers: 200 x $n200, 503 x $n503"
[ $((n200 + n503)) -eq $N ] || e2e_fail "answers other than 200 and 503: $(sort "$L7_TMP/codes" | uniq -c | tr '\n' ' ')"
[ "$n503" -gt 0 ] || e2e_fail "no request tripped the circuit breaker (4 concurrent, limit 1 + 1 pending)"
[ "$n200" -gt 0 ] || e2e_fail "the circuit breaker let no request through"
q1=$(l7_app_stats httpbin | jq .requests)
[ $((q1 - q0)) -eq "$n200" ] || e2e_fail "httpbin received $((q1 - q0)) requests, the client got $n200 x 200"
l7_wait 10 'test "$(uo)" -ge $((u0 + n503))' ||
	e2e_fail "istio_requests_total httpbin 503 UO +$(($(uo) - u0)), want +$n503"
[ "$(uo)" -eq $((u0 + n503)) ] || e2e_fail "istio_requests_total httpbin 503 UO +$(($(uo) - u0)), want +$n503"
# Local overflow answers are no upstream errors: outlier detection (consecutive5xxErrors 1)
# must not have ejected the only Pod, so a lone request still gets through.
code=$(l7_exec sleep curl -s -m 5 -o /dev/null -w '%{http_code}' http://httpbin:8000/)
[ "$code" = 200 ] || e2e_fail "a lone request after the burst answered $code (ejected by the overflow?)"
e2e_log "ok: $n503 x 503 UO never reached httpbin; $n200 x 200"
echo PASS

#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# HTTP/2 downstream (h2c with prior knowledge) through the agent: h2load in a meshed Pod sends
# 300 requests to reviews on ONE connection, 10 streams at a time. Istio's
# destination-rule-reviews (RANDOM) puts the port on the agent path, and the agent balances
# per request, so the three reviews Pods share the requests within binomial bounds (counted
# on each Pod's own /stats), while weir_proxy_http_sessions_total counts one session.
# nghttp then fetches three URLs on one connection. Exit 0 pass, 77 skip.
. "$(dirname "$0")/lib.sh"
l7_init h2
l7_up "$L7_BOOKINFO" "$L7_ISTIO/sleep.yaml"
l7_apply "$L7_ISTIO/destination-rule-reviews.yaml"
mapfile -t PODS < <(l7_pods reviews)
[ ${#PODS[@]} -eq 3 ] || e2e_fail "want 3 reviews Pods, have: ${PODS[*]}"
N=300

declare -A before
for p in "${PODS[@]}"; do before[$p]=$(l7_app_stats "$p" | jq .requests); done
l7_metrics >"$L7_TMP/m0.txt"
l7_exec sleep h2load -n $N -c 1 -m 10 -t 1 http://reviews:9080/ >"$L7_TMP/h2load.out" 2>&1 ||
	e2e_fail "h2load failed: $(tail -20 "$L7_TMP/h2load.out")"
# h2load's own summary: every request done and answered 2xx.
grep -Eq "^requests: $N total, $N started, $N done, $N succeeded, 0 failed" "$L7_TMP/h2load.out" &&
	grep -Eq "^status codes: $N 2xx, 0 3xx, 0 4xx, 0 5xx" "$L7_TMP/h2load.out" ||
	e2e_fail "h2load: not $N x 2xx: $(grep -E '^(requests|status codes|traffic):' "$L7_TMP/h2load.out")"
grep -q "Application protocol: h2c" "$L7_TMP/h2load.out" ||
	e2e_fail "h2load did not speak h2c: $(head -20 "$L7_TMP/h2load.out")"
sum=0 got=
for p in "${PODS[@]}"; do
	d=$(($(l7_app_stats "$p" | jq .requests) - before[$p]))
	got+="$p=$d "
	sum=$((sum + d))
	l7_binom_ok $N $d 0.3333333 || e2e_fail "$p received $d of $N: outside 4 sigma of a third ($got)"
done
[ $sum -eq $N ] || e2e_fail "the reviews Pods received $sum requests, h2load sent $N ($got)"
e2e_log "ok: $N requests on one h2c connection spread: $got"
l7_metrics >"$L7_TMP/m1.txt"
for m in weir_proxy_http_sessions_total:1 weir_proxy_http_requests_total:$N; do
	d=$(($(l7_metric "${m%%:*}" <"$L7_TMP/m1.txt") - $(l7_metric "${m%%:*}" <"$L7_TMP/m0.txt")))
	[ "$d" -eq "${m##*:}" ] || e2e_fail "${m%%:*} +$d, want +${m##*:}"
done
c0=$(l7_metric istio_requests_total reporter=source destination_service_name=reviews \
	response_code=200 <"$L7_TMP/m0.txt")
l7_wait 10 'test "$(l7_metrics | l7_metric istio_requests_total reporter=source \
	destination_service_name=reviews response_code=200)" -ge $((c0 + N))' ||
	e2e_fail "istio_requests_total to reviews 200 did not grow by $N"
e2e_log "ok: one session, $N requests counted"

l7_exec sleep nghttp -n -v http://reviews:9080/a http://reviews:9080/b http://reviews:9080/c \
	>"$L7_TMP/nghttp.out" 2>&1 || e2e_fail "nghttp failed: $(tail -20 "$L7_TMP/nghttp.out")"
n=$(grep -c ':status: 200' "$L7_TMP/nghttp.out" || true)
[ "$n" -eq 3 ] || e2e_fail "nghttp: $n of 3 streams answered 200"
e2e_log "ok: nghttp 3 streams 200"
echo PASS

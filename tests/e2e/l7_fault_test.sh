#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Istio's "Fault Injection" task on weir, with Istio's own YAML (destination-rule-all,
# virtual-service-all-v1, virtual-service-reviews-test-v2, then ratings-test-delay and
# ratings-test-abort), from a meshed client Pod:
#   delay: ratings is delayed 7 s for jason; productpage gives reviews 3 s and one retry, so
#     jason's page answers 200 after about 6 s with reviews_error; other users are unaffected;
#     the delayed ratings requests are counted with response_flags DI once they complete;
#   abort: ratings answers 500 to jason without reaching the ratings Pod (its /stats does not
#     move); reviews shows ratings_error; the agent counts 500 with response_flags FI.
# Exit 0 pass, 77 skip.
. "$(dirname "$0")/lib.sh"
l7_init fault
l7_up "$L7_BOOKINFO" "$L7_ISTIO/sleep.yaml"
PP=http://productpage:9080/
SORRY="Sorry, product reviews are currently unavailable for this book."
l7_apply "$L7_ISTIO/destination-rule-all.yaml" "$L7_ISTIO/virtual-service-all-v1.yaml" \
	"$L7_ISTIO/virtual-service-reviews-test-v2.yaml"

# ratings_count FLAG CODE: istio_requests_total to ratings with that flag and code (source side).
ratings_count() {
	l7_metrics | l7_metric istio_requests_total reporter=source \
		destination_service_name=ratings response_flags="$1" response_code="$2"
}

e2e_log "delay: 7 s on ratings for jason"
di0=$(ratings_count DI 200)
l7_apply "$L7_ISTIO/virtual-service-ratings-test-delay.yaml"
t0=$(date +%s%N)
l7_exec sleep curl -s -m 20 -H 'end-user: jason' -o "$L7_TMP/jason.json" -w '%{http_code}' \
	"$PP" >"$L7_TMP/jason.code" || true
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$(cat "$L7_TMP/jason.code")" = 200 ] ||
	e2e_fail "delay: jason's page answered $(cat "$L7_TMP/jason.code"), want 200 with reviews_error"
jq -e --arg s "$SORRY" '.reviews_error == $s' "$L7_TMP/jason.json" >/dev/null ||
	e2e_fail "delay: jason's page has no reviews_error: $(cat "$L7_TMP/jason.json")"
# Two 3 s attempts of productpage at reviews: about 6 s, never the 7 s of the delay itself.
[ "$ms" -ge 5500 ] && [ "$ms" -lt 9000 ] ||
	e2e_fail "delay: jason's page took $ms ms, want about 6000 (two 3 s attempts)"
e2e_log "ok: jason's page 200 after $ms ms with reviews_error"
l7_curl_many sleep "$PP" 20 >"$L7_TMP/others.json"
jq -e -s 'length == 20 and all(.code == 200 and (.body | has("reviews_error") | not) and
	[.body | .. | objects | select(.service? == "reviews")][0].version == "v1")' \
	"$L7_TMP/others.json" >/dev/null || e2e_fail "delay: other users were affected: $(head -c 600 \
	"$L7_TMP/others.json")"
e2e_log "ok: 20 pages of other users unaffected (reviews v1)"
# Each of productpage's two attempts reached reviews v2, whose ratings call the agent held
# 7 s and then forwarded: two requests with DI once the last delay ends.
l7_wait 12 'test "$(ratings_count DI 200)" -ge $((di0 + 2))' ||
	e2e_fail "delay: istio_requests_total ratings response_flags=DI +$(($(ratings_count DI 200) - di0)), want +2"
e2e_log "ok: ratings requests counted with DI"

e2e_log "abort: 500 on ratings for jason"
fi0=$(ratings_count FI 500)
l7_apply "$L7_ISTIO/virtual-service-ratings-test-abort.yaml"
r0=$(l7_app_stats ratings | jq .requests)
l7_curl_many sleep "$PP" 10 -H 'end-user: jason' >"$L7_TMP/abort.json"
jq -e -s 'length == 10 and all(.code == 200)' "$L7_TMP/abort.json" >/dev/null ||
	e2e_fail "abort: jason's pages are not all 200"
jq -e -s 'all([.body | .. | objects | select(.service? == "reviews")][0] |
	.version == "v2" and (.ratings_error | type == "string"))' "$L7_TMP/abort.json" >/dev/null ||
	e2e_fail "abort: jason's reviews answers lack ratings_error: $(head -c 800 "$L7_TMP/abort.json")"
r1=$(l7_app_stats ratings | jq .requests)
[ "$r1" -eq "$r0" ] || e2e_fail "abort: the ratings Pod received $((r1 - r0)) of jason's requests"
l7_wait 10 'test "$(ratings_count FI 500)" -ge $((fi0 + 10))' ||
	e2e_fail "abort: istio_requests_total ratings 500 FI +$(($(ratings_count FI 500) - fi0)), want +10"
[ "$(ratings_count FI 500)" -eq $((fi0 + 10)) ] ||
	e2e_fail "abort: istio_requests_total ratings 500 FI +$(($(ratings_count FI 500) - fi0)), want +10"
l7_curl_many sleep "$PP" 10 >"$L7_TMP/abort-others.json"
jq -e -s 'length == 10 and all(.code == 200 and ([.body | .. | objects |
	select(has("ratings_error"))] | length == 0))' "$L7_TMP/abort-others.json" >/dev/null ||
	e2e_fail "abort: other users saw a ratings error"
e2e_log "ok: 10 aborts (FI, ratings Pod untouched), other users unaffected"
echo PASS

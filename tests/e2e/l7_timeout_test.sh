#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Istio's "Request Timeouts" task on weir, with the task's YAML, from a meshed client Pod:
#   1. reviews to v2 and ratings delayed 2 s: a page takes about 2 s and shows black stars;
#   2. `timeout: 0.5s` on reviews: the agent answers productpage's two attempts with 504 after
#      0.5 s each (response_flags UT), so the page comes back 200 with reviews_error in about
#      1 s, well before the 2 s delay ends; weir_proxy_http_timeouts_total counts them.
# Exit 0 pass, 77 skip.
. "$(dirname "$0")/lib.sh"
l7_init timeout
l7_up "$L7_BOOKINFO" "$L7_ISTIO/sleep.yaml"
PP=http://productpage:9080/
l7_apply "$L7_ISTIO/destination-rule-all.yaml" "$L7_ISTIO/virtual-service-all-v1.yaml"

# page N: fetches productpage N times (one connection); prints the elapsed ms of the whole run.
page() {
	local t0
	t0=$(date +%s%N)
	l7_curl_many sleep "$PP" "$1" >"$L7_TMP/page.json"
	echo $((($(date +%s%N) - t0) / 1000000))
}
ut_count() {
	l7_metrics | l7_metric istio_requests_total reporter=source destination_service_name=reviews \
		response_code=504 response_flags=UT
}

e2e_log "step 1: reviews v2, ratings delayed 2 s"
l7_apply "$L7_ISTIO/request-timeouts.yaml"
ms=$(page 2)
jq -e -s 'length == 2 and all(.code == 200 and (.body | has("reviews_error") | not) and
	[.body | .. | objects | select(.service? == "reviews")][0].stars == "black")' \
	"$L7_TMP/page.json" >/dev/null || e2e_fail "step 1: not two pages with black stars: $(head -c 800 \
	"$L7_TMP/page.json")"
[ "$ms" -ge 3800 ] && [ "$ms" -lt 6000 ] ||
	e2e_fail "step 1: two pages took $ms ms; the 2 s ratings delay should make it about 4000"
e2e_log "ok: two pages with black stars in $ms ms"

e2e_log "step 2: timeout 0.5s on reviews"
ut0=$(ut_count)
to0=$(l7_metrics | l7_metric weir_proxy_http_timeouts_total)
l7_apply "$L7_ISTIO/request-timeouts-reviews-0.5s.yaml"
ms=$(page 3)
jq -e -s 'length == 3 and all(.code == 200 and (.body.reviews_error | type == "string"))' \
	"$L7_TMP/page.json" >/dev/null || e2e_fail "step 2: pages without reviews_error: $(head -c 800 \
	"$L7_TMP/page.json")"
jq -e -s 'all(.body.calls[1].status == 504)' "$L7_TMP/page.json" >/dev/null ||
	e2e_fail "step 2: productpage did not see 504 from reviews: $(jq -s -c 'map(.body.calls[1])' \
	"$L7_TMP/page.json")"
# Three pages of two 0.5 s attempts each: about 3 s; with no timeout it would be 3 x 2 x 2 s.
[ "$ms" -ge 2800 ] && [ "$ms" -lt 5000 ] ||
	e2e_fail "step 2: three pages took $ms ms, want about 3000 (two 0.5 s attempts each)"
l7_wait 10 'test "$(ut_count)" -ge $((ut0 + 6))' ||
	e2e_fail "step 2: istio_requests_total reviews 504 UT +$(($(ut_count) - ut0)), want +6"
[ "$(ut_count)" -eq $((ut0 + 6)) ] || e2e_fail "step 2: reviews 504 UT +$(($(ut_count) - ut0)), want +6"
to1=$(l7_metrics | l7_metric weir_proxy_http_timeouts_total)
[ "$to1" -ge $((to0 + 6)) ] || e2e_fail "step 2: weir_proxy_http_timeouts_total +$((to1 - to0)), want >= 6"
e2e_log "ok: three pages with reviews_error in $ms ms, 6 x 504 UT"
echo PASS

#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Istio's "Request Routing" task on weir: bookinfo on one simulated node, a meshed client Pod,
# Istio's own task YAML. Every phase sends many requests to productpage on one kept-alive
# connection and counts the reviews version in each answer:
#   1. destination-rule-all + virtual-service-all-v1: every answer is reviews v1 (no stars);
#   2. virtual-service-reviews-test-v2: `end-user: jason` gets v2 (black stars), others v1;
#   3. virtual-service-reviews-50-v3: 400 answers split v1/v3 within 4 binomial sigmas, no v2.
# The agent's istio_requests_total must count the same split (destination_version labels).
# Exit 0 pass, 77 skip.
. "$(dirname "$0")/lib.sh"
l7_init routing
l7_up "$L7_BOOKINFO" "$L7_ISTIO/sleep.yaml"
PP=http://productpage:9080/

# reviews_of FILE: the reviews versions of the answers in FILE (l7_curl_many lines), counted.
reviews_of() {
	jq -s -c 'map(.body | [.. | objects | select(.service? == "reviews")][0].version // "none")
		| group_by(.) | map({(.[0]): length}) | add // {}' "$1"
}

# reviews_total VERSION: istio_requests_total to reviews VERSION with code 200 (source side).
reviews_total() {
	l7_metrics | l7_metric istio_requests_total reporter=source destination_service_name=reviews \
		destination_version="$1" response_code=200
}

e2e_log "phase 1: all v1"
m1=$(reviews_total v1)
l7_apply "$L7_ISTIO/destination-rule-all.yaml" "$L7_ISTIO/virtual-service-all-v1.yaml"
l7_curl_many sleep "$PP" 100 >"$L7_TMP/p1.json"
jq -e -s 'length == 100 and all(.code == 200)' "$L7_TMP/p1.json" >/dev/null ||
	e2e_fail "all-v1: not 100 answers 200: $(jq -s -c 'map(.code) | group_by(.) |
		map({(.[0] | tostring): length}) | add' "$L7_TMP/p1.json")"
jq -e -s 'map(.connects) | add == 1' "$L7_TMP/p1.json" >/dev/null ||
	e2e_fail "all-v1: curl opened more than one connection"
v=$(reviews_of "$L7_TMP/p1.json")
[ "$v" = '{"v1":100}' ] || e2e_fail "all-v1: reviews versions $v, want {\"v1\":100}"
jq -e -s 'all(.body | [.. | objects | select(.service? == "reviews")][0] | has("stars") | not)' \
	"$L7_TMP/p1.json" >/dev/null || e2e_fail "all-v1: a reviews v1 answer has stars"
# Request telemetry is flushed on a tick: each phase waits until its own requests are counted,
# so that the next phase's baseline holds none of them.
l7_wait 10 'test "$(reviews_total v1)" -ge $((m1 + 100))' ||
	e2e_fail "all-v1: istio_requests_total to reviews v1 +$(($(reviews_total v1) - m1)), want +100"
e2e_log "ok: 100 answers on one connection, all reviews v1"

e2e_log "phase 2: jason to v2"
m2=$(reviews_total v2)
m1=$(reviews_total v1)
l7_apply "$L7_ISTIO/virtual-service-reviews-test-v2.yaml"
l7_curl_many sleep "$PP" 50 -H 'end-user: jason' >"$L7_TMP/p2j.json"
l7_curl_many sleep "$PP" 50 >"$L7_TMP/p2o.json"
jq -e -s 'length == 50 and all(.code == 200)' "$L7_TMP/p2j.json" >/dev/null ||
	e2e_fail "test-v2: jason's answers are not all 200"
v=$(reviews_of "$L7_TMP/p2j.json")
[ "$v" = '{"v2":50}' ] || e2e_fail "test-v2: jason got reviews $v, want {\"v2\":50}"
jq -e -s 'all(.body | [.. | objects | select(.service? == "reviews")][0].stars == "black")' \
	"$L7_TMP/p2j.json" >/dev/null || e2e_fail "test-v2: jason's reviews do not all show black stars"
jq -e -s 'all(.body.end_user == "jason")' "$L7_TMP/p2j.json" >/dev/null ||
	e2e_fail "test-v2: productpage did not see end-user jason"
v=$(reviews_of "$L7_TMP/p2o.json")
[ "$v" = '{"v1":50}' ] || e2e_fail "test-v2: other users got reviews $v, want {\"v1\":50}"
l7_wait 10 'test "$(reviews_total v2)" -ge $((m2 + 50))' ||
	e2e_fail "test-v2: istio_requests_total to reviews v2 went from $m2 to $(reviews_total v2), want +50"
l7_wait 10 'test "$(reviews_total v1)" -ge $((m1 + 50))' ||
	e2e_fail "test-v2: istio_requests_total to reviews v1 went from $m1 to $(reviews_total v1), want +50"
e2e_log "ok: jason 50/50 v2 with black stars, others 50/50 v1"

e2e_log "phase 3: 50 % v1, 50 % v3"
m1=$(reviews_total v1)
m3=$(reviews_total v3)
m2=$(reviews_total v2)
l7_apply "$L7_ISTIO/virtual-service-reviews-50-v3.yaml"
N=400
l7_curl_many sleep "$PP" $N >"$L7_TMP/p3.json"
jq -e -s "length == $N and all(.code == 200)" "$L7_TMP/p3.json" >/dev/null ||
	e2e_fail "50-v3: not $N answers 200"
v=$(reviews_of "$L7_TMP/p3.json")
n1=$(echo "$v" | jq '.v1 // 0')
n3=$(echo "$v" | jq '.v3 // 0')
[ $((n1 + n3)) -eq $N ] || e2e_fail "50-v3: answers other than v1 and v3: $v"
l7_binom_ok $N "$n1" 0.5 || e2e_fail "50-v3: $n1 of $N to v1 is outside 4 sigma of 50 %: $v"
jq -e -s 'all(.body | [.. | objects | select(.service? == "reviews")][0] |
	(.version == "v1" and (has("stars") | not)) or (.version == "v3" and .stars == "red"))' \
	"$L7_TMP/p3.json" >/dev/null || e2e_fail "50-v3: a v3 answer without red stars or v1 with stars"
# The agent counts the same split.
l7_wait 10 'test "$(reviews_total v3)" -ge $((m3 + n3))' ||
	e2e_fail "50-v3: istio_requests_total reviews v3 +$(($(reviews_total v3) - m3)), want +$n3"
l7_wait 10 'test "$(reviews_total v1)" -ge $((m1 + n1))' ||
	e2e_fail "50-v3: istio_requests_total reviews v1 +$(($(reviews_total v1) - m1)), want +$n1"
d1=$(($(reviews_total v1) - m1))
d3=$(($(reviews_total v3) - m3))
d2=$(($(reviews_total v2) - m2))
[ "$d1" -eq "$n1" ] && [ "$d3" -eq "$n3" ] && [ "$d2" -eq 0 ] ||
	e2e_fail "50-v3: metrics counted v1 +$d1 v2 +$d2 v3 +$d3, answers were v1 $n1 v3 $n3"
e2e_log "ok: $v of $N, metrics agree"
echo PASS

#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Istio's "Mirroring" task on weir: httpbin v1 and v2, all traffic to v1 and a copy of every
# request to v2. 50 requests on one connection: every answer comes from v1, v1's /stats counts
# 50, and v2's /stats counts the 50 copies (fire and forget, so waited for, bounded). v2
# answers 500 to everything, which the client must never see. Exit 0 pass, 77 skip.
. "$(dirname "$0")/lib.sh"
l7_init mirror
{
	l7_httpbin_yaml svc
	l7_httpbin_yaml v1
	l7_httpbin_yaml v2 BOOKINFO_FAIL_PERCENT=100 BOOKINFO_FAIL_CODE=500
} >"$L7_TMP/httpbin.yaml"
l7_up "$L7_TMP/httpbin.yaml" "$L7_ISTIO/sleep.yaml"
l7_apply "$L7_ISTIO/mirroring.yaml"
V1=$(l7_pods httpbin | grep -- '-v1-')
V2=$(l7_pods httpbin | grep -- '-v2-')
q() { l7_app_stats "$1" | jq .requests; }
a0=$(q "$V1") m0=$(q "$V2")
l7_curl_many sleep http://httpbin:8000/ 50 >"$L7_TMP/a.json"
jq -e -s 'length == 50 and all(.code == 200 and .body.version == "v1")' "$L7_TMP/a.json" \
	>/dev/null || e2e_fail "not 50 answers 200 from v1: $(jq -s -c 'map([.code, .body.version?])
	| unique' "$L7_TMP/a.json")"
[ $(($(q "$V1") - a0)) -eq 50 ] || e2e_fail "v1 received $(($(q "$V1") - a0)) requests, want 50"
l7_wait 10 'test "$(q "$V2")" -ge $((m0 + 50))' ||
	e2e_fail "the mirror v2 received $(($(q "$V2") - m0)) copies of 50"
[ $(($(q "$V2") - m0)) -eq 50 ] || e2e_fail "the mirror v2 received $(($(q "$V2") - m0)) copies, want 50"
e2e_log "ok: 50 answers from v1, 50 copies at v2"
echo PASS

#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Local rate limit (weir.dev/v1alpha1 RateLimit, docs/traffic.md) on the Service httpbin: a
# bucket of 5 tokens refilled every 30 s. 12 requests on one connection: the first 5 reach
# httpbin, the other 7 get the agent's 429 with x-ratelimit-limit/-remaining/-reset headers,
# counted with response_flags RL, and never reach httpbin (its /stats). Exit 0 pass, 77 skip.
. "$(dirname "$0")/lib.sh"
l7_init ratelimit
{
	l7_httpbin_yaml svc
	l7_httpbin_yaml v1
} >"$L7_TMP/httpbin.yaml"
cat >"$L7_TMP/rl.yaml" <<'YAML'
apiVersion: weir.dev/v1alpha1
kind: RateLimit
metadata:
  name: httpbin
spec:
  targetRef: {kind: Service, name: httpbin}
  maxTokens: 5
  tokensPerFill: 5
  fillInterval: 30s
YAML
l7_up "$L7_TMP/httpbin.yaml" "$L7_ISTIO/sleep.yaml"
l7_apply "$L7_TMP/rl.yaml"
rl() {
	l7_metrics | l7_metric istio_requests_total reporter=source destination_service_name=httpbin \
		response_code=429 response_flags=RL
}
r0=$(rl)
q0=$(l7_app_stats httpbin | jq .requests)
l7_curl_many sleep http://httpbin:8000/ 12 >"$L7_TMP/a.json"
codes=$(jq -s -c 'map(.code)' "$L7_TMP/a.json")
[ "$codes" = '[200,200,200,200,200,429,429,429,429,429,429,429]' ] ||
	e2e_fail "want 5 x 200 then 7 x 429, got $codes"
q1=$(l7_app_stats httpbin | jq .requests)
[ $((q1 - q0)) -eq 5 ] || e2e_fail "httpbin received $((q1 - q0)) requests, want the 5 admitted"
l7_exec sleep curl -s -m 5 -D "$L7_TMP/h429" -o /dev/null http://httpbin:8000/ || true
head -1 "$L7_TMP/h429" | grep -q ' 429' || e2e_fail "a 13th request was not 429: $(head -1 "$L7_TMP/h429")"
for h in x-ratelimit-limit x-ratelimit-remaining x-ratelimit-reset; do
	grep -qi "^$h: [0-9]" "$L7_TMP/h429" || e2e_fail "the 429 lacks a numeric $h: $(cat "$L7_TMP/h429")"
done
grep -qi '^x-ratelimit-remaining: 0' "$L7_TMP/h429" || e2e_fail "x-ratelimit-remaining is not 0"
l7_wait 10 'test "$(rl)" -ge $((r0 + 8))' || e2e_fail "istio_requests_total 429 RL +$(($(rl) - r0)), want +8"
e2e_log "ok: 5 admitted, 8 x 429 RL with x-ratelimit-* headers"
echo PASS

#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Outlier detection: httpbin has two Pods, v1 healthy and v2 answering 503 to everything
# (BOOKINFO_FAIL_PERCENT=100). A DestinationRule with consecutive5xxErrors 1, interval 1s,
# baseEjectionTime 5s and maxEjectionPercent 100:
#   1. 20 requests: v2 fails once and is ejected; Istio's default retry (503) sends the failed
#      requests to v1, so the client sees only 200;
#   2. 30 more requests at once: none reaches v2 (its /stats does not move);
#   3. a request every 200 ms: v2 receives requests again only after the base ejection time
#      (at least 5 s after the first phase began), and within 15 s.
# Exit 0 pass, 77 skip.
. "$(dirname "$0")/lib.sh"
l7_init outlier
{
	l7_httpbin_yaml svc
	l7_httpbin_yaml v1
	l7_httpbin_yaml v2 BOOKINFO_FAIL_PERCENT=100 BOOKINFO_FAIL_CODE=503
} >"$L7_TMP/httpbin.yaml"
cat >"$L7_TMP/dr.yaml" <<'YAML'
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: httpbin
spec:
  host: httpbin
  trafficPolicy:
    outlierDetection:
      consecutive5xxErrors: 1
      interval: 1s
      baseEjectionTime: 5s
      maxEjectionPercent: 100
YAML
l7_up "$L7_TMP/httpbin.yaml" "$L7_ISTIO/sleep.yaml"
l7_apply "$L7_TMP/dr.yaml"
BAD=$(l7_pods httpbin | grep -- '-v2-')
bad() { l7_app_stats "$BAD" | jq .requests; }

b0=$(bad)
t0=$(date +%s%N)
l7_curl_many sleep http://httpbin:8000/ 20 >"$L7_TMP/a.json"
jq -e -s 'length == 20 and all(.code == 200 and .body.version == "v1")' "$L7_TMP/a.json" \
	>/dev/null || e2e_fail "1: not 20 answers 200 from v1: $(jq -s -c 'map(.code)' "$L7_TMP/a.json")"
b1=$(bad)
[ "$b1" -gt "$b0" ] || e2e_fail "1: the failing Pod got none of 20 requests; nothing to eject"
e2e_log "ok: 20 x 200; the failing Pod got $((b1 - b0)) request(s) before its ejection"

l7_curl_many sleep http://httpbin:8000/ 30 >"$L7_TMP/b.json"
b2=$(bad)
[ "$b2" -eq "$b1" ] || e2e_fail "2: the ejected Pod still received $((b2 - b1)) of 30 requests"
jq -e -s 'length == 30 and all(.code == 200)' "$L7_TMP/b.json" >/dev/null || e2e_fail "2: answers not all 200"
e2e_log "ok: 30 x 200, none to the ejected Pod"

back=
for _ in $(seq 75); do
	l7_exec sleep curl -s -m 3 -o /dev/null http://httpbin:8000/ || true
	if [ "$(bad)" -gt "$b2" ]; then
		back=$((($(date +%s%N) - t0) / 1000000))
		break
	fi
	sleep 0.2
done
[ -n "$back" ] || e2e_fail "3: the ejected Pod got no request again within 15 s"
[ "$back" -ge 5000 ] || e2e_fail "3: the Pod came back after $back ms, before baseEjectionTime 5s"
e2e_log "ok: the Pod receives requests again $back ms after the first phase began"
echo PASS

#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Checks, without a mesh, the bookinfo app's behaviour that Istio's traffic tasks depend on:
# end-user from a header or the user cookie, productpage's 3 s x 2 attempts on reviews,
# reviews' 10 s on ratings, failures shown as "<service>_error" in a 200 answer, star colours,
# the BOOKINFO_FAIL_* / BOOKINFO_DELAY_MS knobs and GET /stats. Every process listens on
# 127.0.0.1 (no namespaces, no root), so it may be run by hand at any time; it is not named
# *_test.sh on purpose, since the e2e runner's tests own fixed netns names. About 25 s.
#   BUILD=build tests/e2e/bookinfo_app_check.sh
set -euo pipefail

BUILD=${BUILD:-build}
APP=$(cd "$BUILD" && pwd)/bookinfo-app
[ -x "$APP" ] || { echo "SKIP: $APP is not built"; exit 77; }
command -v jq >/dev/null && command -v curl >/dev/null || { echo "SKIP: needs jq and curl"; exit 77; }

TMP=$(mktemp -d /tmp/bookinfo-check.XXXXXX)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
# check JSON JQ WHAT: passes when jq -e JQ holds on JSON.
check() { if jq -e "$2" <<<"$1" >/dev/null; then ok "$3"; else bad "$3: $1"; fi; }

# A port block unlikely to be in use; each service gets BASE + k.
BASE=$((30000 + (RANDOM % 2000) * 10))
port() { echo $((BASE + $1)); }
url() { echo "http://127.0.0.1:$(port "$1")/"; }

# svc NAME K ARGS...: starts one bookinfo-app on port BASE+K and waits until it answers.
svc() {
	local name=$1 k=$2 i
	shift 2
	"$APP" --name "$name" --listen "127.0.0.1:$(port "$k")" "$@" >"$TMP/$name-$k.log" 2>&1 &
	PIDS+=($!)
	for i in $(seq 50); do
		curl -sf -m 1 "$(url "$k")health" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	cat "$TMP/$name-$k.log"
	bad "$name on port $(port "$k") did not start"
	exit 1
}
stop_all() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	PIDS=()
}
stats() { curl -sf -m 2 "$(url "$1")stats"; }
# page K [CURL ARGS]: GET / on port BASE+K; prints the body, then the status and seconds.
page() {
	local k=$1
	shift
	curl -s -m 20 -w '\n%{http_code} %{time_total}\n' "$@" "$(url "$k")"
}

# --- 1. the normal page: end-user and traces reach every hop, v2 shows black stars.
svc ratings 1
svc reviews 2 --version v2 --call "ratings=$(url 1)"
svc details 3
svc productpage 4 --call "details=$(url 3)" --call "reviews=$(url 2)"
out=$(page 4 -H 'end-user: jason' -H 'x-request-id: chk-1' \
	-H 'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')
body=$(head -1 <<<"$out")
check "$body" '[.. | objects | select(has("service"))] | length == 4 and
	all(.end_user == "jason" and .request_id == "chk-1" and
	    .trace.traceparent == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")' \
	"end-user header, x-request-id and traceparent reach productpage, details, reviews, ratings"
check "$body" '.calls[1].version == "v2" and .calls[1].stars == "black" and
	(has("reviews_error") | not) and .calls[1].calls[0].service == "ratings"' \
	"reviews v2 shows black stars and calls ratings"
[ "$(tail -1 <<<"$out" | cut -d' ' -f1)" = 200 ] && ok "page answers 200" || bad "page: $out"
body=$(page 4 -b 'theme=dark; user=jason; x=1' | head -1)
check "$body" '[.. | objects | select(has("service")) | .end_user] == ["jason","jason","jason","jason"]' \
	"the user=jason cookie becomes end-user on every outbound call"
body=$(page 4 -b 'user=bad"name' | head -1)
check "$body" '[.. | objects | select(has("end_user"))] | length == 0' "a bad user cookie is not forwarded"
body=$(page 4 -b 'user=jason' -H 'end-user;' | head -1)
check "$body" '[.. | objects | select(has("end_user"))] | length == 0' \
	"an empty end-user header is not forwarded (and wins over the cookie)"
check "$(stats 1)" '.requests == 4 and .by_status["200"] == 4 and .name == "ratings"' \
	"ratings /stats counts 4 requests (and not the readiness probes)"
stop_all

# --- 2. reviews v1 answers alone; v3 shows red stars.
svc reviews 5 --version v1 --call "ratings=$(url 1)"
svc reviews 6 --version v3
check "$(page 5 | head -1)" 'has("stars") | not' "reviews v1 shows no stars"
check "$(page 6 | head -1)" '.stars == "red"' "reviews v3 shows red stars"
stop_all

# --- 3. Istio's fault-injection task: ratings 7 s late. reviews (10 s) would absorb it, but
#        productpage gives up on reviews after 2 x 3 s and still answers 200.
svc ratings 1 --delay-ms 7000
svc reviews 2 --version v2 --call "ratings=$(url 1)"
svc details 3
svc productpage 4 --call "details=$(url 3)" --call "reviews=$(url 2)"
out=$(page 4 -H 'end-user: jason')
body=$(head -1 <<<"$out")
read -r code secs < <(tail -1 <<<"$out")
check "$body" '.reviews_error == "Sorry, product reviews are currently unavailable for this book."
	and .calls[1].attempts == 2 and .calls[1].error == "timeout" and .calls[0].service == "details"' \
	"a 7 s ratings delay: reviews unavailable at productpage, details still shown"
if [ "$code" = 200 ] && awk -v s="$secs" 'BEGIN { exit !(s >= 5.5 && s < 7.5) }'; then
	ok "answered 200 after ${secs}s (2 attempts of 3 s)"
else
	bad "want 200 after about 6 s, got $code after ${secs}s"
fi
check "$(stats 2)" '.requests == 2' "productpage sent reviews 2 requests (one retry)"
out=$(page 2 -H 'end-user: jason')
read -r code secs < <(tail -1 <<<"$out")
check "$(head -1 <<<"$out")" '(has("ratings_error") | not) and .calls[0].service == "ratings"' \
	"reviews itself absorbs the 7 s delay (10 s timeout)"
awk -v s="$secs" 'BEGIN { exit !(s >= 6.9) }' && ok "after ${secs}s" || bad "reviews answered in ${secs}s"
check "$(stats 2)" '.requests == 3 and .abandoned == 2 and .by_status["200"] == 3' \
	"reviews /stats: the 2 answers productpage had given up on are counted as abandoned"
stop_all

# --- 4. ratings aborts (Istio's HTTP abort task): reviews answers 200 with ratings_error.
svc ratings 1 --fail-percent 100 --fail-code 500
svc reviews 2 --version v2 --call "ratings=$(url 1)"
svc details 3
svc productpage 4 --call "details=$(url 3)" --call "reviews=$(url 2)"
out=$(page 4)
check "$(head -1 <<<"$out")" '.calls[1].ratings_error == "Ratings service is currently unavailable"
	and .calls[1].calls[0].status == 500 and (has("reviews_error") | not)' \
	"ratings 500: reviews shows ratings unavailable, productpage shows reviews"
[ "$(tail -1 <<<"$out" | cut -d' ' -f1)" = 200 ] && ok "still 200" || bad "page: $out"
check "$(stats 1)" '.requests == 1 and .injected == 1 and .by_status["500"] == 1' \
	"ratings /stats counts the injected 500"
stop_all

# --- 5. a flaky reviews: the first request fails, productpage's retry gets the answer.
svc reviews 2 --fail-first 1
svc details 3
svc productpage 4 --call "details=$(url 3)" --call "reviews=$(url 2)"
check "$(page 4 | head -1)" '.calls[1].service == "reviews" and (has("reviews_error") | not)' \
	"BOOKINFO_FAIL_FIRST=1 on reviews is hidden by productpage's retry"
check "$(stats 2)" '.requests == 2 and .by_status == {"503": 1, "200": 1}' \
	"reviews /stats: one 503 then one 200"
stop_all

# --- 6. a seeded 50 % failure rate is repeatable and near 50 %; environment variables work.
seq_of() { # K: the status codes of 40 requests to port BASE+K, as one string
	local i s=
	for i in $(seq 40); do s+=$(curl -s -o /dev/null -w '%{http_code},' -m 2 "$(url "$1")"); done
	echo "$s"
}
BOOKINFO_FAIL_PERCENT=50 BOOKINFO_FAIL_SEED=7 svc details 7
BOOKINFO_FAIL_PERCENT=50 BOOKINFO_FAIL_SEED=7 svc details 8
a=$(seq_of 7)
b=$(seq_of 8)
n=$(grep -o 503 <<<"$a" | wc -l)
[ "$a" = "$b" ] && ok "same seed, same sequence" || bad "seeded runs differ: $a vs $b"
[ "$n" -ge 10 ] && [ "$n" -le 30 ] && ok "$n of 40 failed at 50 %" || bad "$n of 40 failed: $a"
check "$(stats 7)" ".requests == 40 and .injected == $n" "/stats counts what was injected"
stop_all

# --- 7. details down: productpage still answers 200; a service outside bookinfo keeps 502.
svc reviews 2
svc productpage 4 --call "details=$(url 9)" --call "reviews=$(url 2)"
out=$(page 4)
check "$(head -1 <<<"$out")" \
	'.details_error == "Sorry, product details are currently unavailable for this book."' \
	"details down: details_error in a 200 page"
[ "$(tail -1 <<<"$out" | cut -d' ' -f1)" = 200 ] && ok "still 200" || bad "page: $out"
svc front 5 --call "$(url 9)"
[ "$(page 5 | tail -1 | cut -d' ' -f1)" = 502 ] && ok "a plain service answers 502" ||
	bad "front did not answer 502"
stop_all

# --- 8. bad knobs are refused with the source named.
for bad_env in BOOKINFO_FAIL_PERCENT=150 BOOKINFO_FAIL_FIRST=-1 BOOKINFO_DELAY_MS=x BOOKINFO_FAIL_CODE=404; do
	if env "$bad_env" "$APP" --listen "127.0.0.1:$(port 9)" >"$TMP/bad.out" 2>&1; then
		bad "$bad_env was accepted"
	elif grep -q "${bad_env%%=*}: '${bad_env#*=}' is not" "$TMP/bad.out"; then
		ok "$bad_env refused: $(cat "$TMP/bad.out")"
	else
		bad "$bad_env: unclear message: $(cat "$TMP/bad.out")"
	fi
done
if "$APP" --fail-seed 1x >"$TMP/bad.out" 2>&1; then bad "--fail-seed 1x accepted"
elif grep -q -- "--fail-seed: '1x' is not" "$TMP/bad.out"; then ok "--fail-seed 1x refused"
else bad "--fail-seed: unclear message: $(cat "$TMP/bad.out")"; fi

echo "$fails failure(s)"
[ "$fails" -eq 0 ]

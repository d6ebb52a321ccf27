#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Checks tests/e2e/grpcsvc.py against itself on 127.0.0.1, without a mesh: unary Echo and
# streaming Chat answer, Chat echoes each message before the stream ends (and the client does
# notice a server that buffers), --fail-code/--fail-first, --delay-ms against --timeout, Stats,
# and a refused connection. No namespaces and no root, so it may be run by hand at any time;
# it is not named *_test.sh on purpose (the e2e runner's tests own fixed netns names). ~10 s.
#   tests/e2e/grpcsvc_check.sh
set -euo pipefail

PY=/usr/bin/python3
SVC=$(cd "$(dirname "$0")" && pwd)/grpcsvc.py
"$PY" -c 'import grpc' 2>/dev/null || { echo "SKIP: $PY has no grpc (python3-grpcio)"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: needs jq"; exit 77; }

TMP=$(mktemp -d /tmp/grpcsvc-check.XXXXXX)
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
# check JSON-LINES JQ WHAT: passes when jq -s -e JQ holds on the lines as an array.
check() { if jq -s -e "$2" <<<"$1" >/dev/null; then ok "$3"; else bad "$3: $1"; fi; }

BASE=$((30000 + (RANDOM % 2000) * 10))
# server K ARGS...: starts a server named sK on port BASE+K; waits until Stats answers.
server() {
	local k=$1 i
	shift
	"$PY" "$SVC" server --host 127.0.0.1 --port $((BASE + k)) --name "s$k" --lifetime 120 "$@" \
		2>"$TMP/s$k.log" &
	PIDS+=($!)
	for i in $(seq 50); do
		"$PY" "$SVC" stats --target "127.0.0.1:$((BASE + k))" --timeout 0.5 >/dev/null 2>&1 &&
			return 0
		sleep 0.1
	done
	cat "$TMP/s$k.log"
	bad "server s$k did not start"
	exit 1
}
# client K ARGS...: runs the client against server K; prints its lines, then "rc=N".
client() {
	local k=$1 rc=0
	shift
	timeout 60 "$PY" "$SVC" client --target "127.0.0.1:$((BASE + k))" "$@" || rc=$?
	echo "{\"rc\": $rc}"
}
stats() { "$PY" "$SVC" stats --target "127.0.0.1:$((BASE + $1))"; }

server 1
out=$(client 1 --calls 3)
check "$out" 'length == 4 and .[3].rc == 0 and ([.[:3][] | .code == "OK" and .messages == 1 and
	.server == "s1" and .method == "Echo"] | all) and ([.[:3][].call] == [1, 2, 3])' \
	"3 unary calls, one JSON line each, exit 0"
out=$(client 1 --calls 2 --stream 20 --header end-user=jason)
check "$out" '.[2].rc == 0 and ([.[:2][] | .code == "OK" and .messages == 20 and .method == "Chat"] | all)' \
	"2 bidirectional streams of 20 messages, each echoed before the next is sent"
out=$(client 1 --calls 3 --channel-per-call)
check "$out" '.[3].rc == 0 and ([.[:3][].code] | unique) == ["OK"]' "a new channel per call"
check "$(stats 1)" '.[0] | .calls == 8 and .echo == 6 and .chat == 2 and .messages == 46 and .failed == 0' \
	"Stats counts calls and messages"

# A server that holds Chat until the client's stream ends: the client must report it.
server 2 --chat-buffered
out=$(client 2 --stream 3 --timeout 1)
check "$out" '.[0].code == "DEADLINE_EXCEEDED" and .[0].messages == 0 and .[1].rc == 1' \
	"a buffered stream is caught: DEADLINE_EXCEEDED with 0 of 3 messages, exit 1"

# Failing the first 2 calls with UNAVAILABLE (14), then serving.
server 3 --fail-code 14 --fail-first 2
out=$(client 3 --calls 4)
check "$out" '[.[:4][].code] == ["UNAVAILABLE", "UNAVAILABLE", "OK", "OK"] and .[0].code_num == 14 and
	(.[0].details | test("injected failure")) and .[4].rc == 1' "--fail-first 2 --fail-code 14"
check "$(stats 3)" '.[0] | .calls == 4 and .failed == 2' "Stats counts the failed calls"
# --summary: one line at the end, failed calls still printed; --parallel and --duration.
server 6 --fail-code 14 --fail-first 3
out=$(client 6 --calls 40 --parallel 4 --summary)
check "$out" 'length == 5 and ([.[:3][].code] | unique) == ["UNAVAILABLE"] and
	.[3].calls == 40 and .[3].ok == 37 and .[3].failed == 3 and .[3].codes.UNAVAILABLE == 3 and
	.[4].rc == 1' "--parallel 4 --summary: 40 calls, the 3 failed ones listed"
out=$(client 1 --calls 100000 --duration 1 --parallel 2 --summary)
check "$out" '.[0].calls > 10 and .[0].calls < 100000 and .[0].failed == 0 and .[1].rc == 0' \
	"--duration 1 ends a 100000-call run early"
server 4 --fail-code 13
out=$(client 4 --calls 2 --stream 2)
check "$out" '[.[:2][].code] == ["INTERNAL", "INTERNAL"] and ([.[:2][].messages] == [0, 0])' \
	"--fail-code 13 without --fail-first fails every call, streams too"

# A 600 ms server against a 300 ms and a 3 s deadline.
server 5 --delay-ms 600
out=$(client 5 --timeout 0.3)
check "$out" '.[0].code == "DEADLINE_EXCEEDED" and .[0].ms < 1000' "a 0.3 s deadline on a 0.6 s server"
out=$(client 5 --timeout 3 --stream 2)
check "$out" '.[0].code == "OK" and .[0].messages == 2 and .[0].ms >= 1200' \
	"--delay-ms delays each streamed echo (2 x 0.6 s)"

# Nobody listening: UNAVAILABLE, quickly.
out=$(client 9 --timeout 3)
check "$out" '.[0].code == "UNAVAILABLE" and .[0].ms < 3000 and .[1].rc == 1' "connection refused"

# Bad arguments exit 2 with the option named.
for a in "server --port 1 --fail-code 17" "server --port 70000" "server --port 1 --fail-first 1" \
	"client --target x --calls 0" "client --target x --header novalue" \
	"client --target x --parallel 2 --channel-per-call"; do
	rc=0
	# shellcheck disable=SC2086
	timeout 10 "$PY" "$SVC" $a >"$TMP/bad.out" 2>&1 || rc=$?
	if [ "$rc" -eq 2 ] && grep -qE -- '--[a-z-]+' "$TMP/bad.out"; then
		ok "refused: $a ($(tail -1 "$TMP/bad.out"))"
	else
		bad "$a: exit $rc: $(cat "$TMP/bad.out")"
	fi
done

echo "$fails failure(s)"
[ "$fails" -eq 0 ]

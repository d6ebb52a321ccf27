#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The Zipkin fixture (tests/fixtures/zipkin/zipkin.py) checked against a real Zipkin client,
# the OpenTelemetry Zipkin exporter: the spans it exports (nested, tagged, one failing) must
# be accepted and come back, field for field, through every query endpoint. Then what a
# real Zipkin refuses must get 400 naming the span index and field, gzip bodies and shared
# span merging must work, and the bad-collector modes (fail500, slow, hang) must do what
# the tracing tests rely on. Loopback only, no netns, no root; the fixture is ended by pid.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FIX=$ROOT/tests/fixtures/zipkin
PY=/usr/bin/python3

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# Node and the exporter are test dependencies (tools/deps.sh test installs both): their
# absence is a broken test machine, not a reason to skip.
command -v node >/dev/null || fail "node is not installed: run tools/deps.sh test"
[ -d "$FIX/otel/node_modules/@opentelemetry/exporter-zipkin" ] ||
	fail "$FIX/otel/node_modules is missing: run tools/deps.sh test (npm ci)"
command -v jq >/dev/null || fail "jq is not installed: run tools/deps.sh test"

TMP=$(mktemp -d /tmp/weirtest-zipkin.XXXXXX)
ZPID=
cleanup() {
	local rc=$?
	set +e
	[ -n "$ZPID" ] && kill "$ZPID" 2>/dev/null && wait "$ZPID" 2>/dev/null
	[ "$rc" -ne 0 ] && [ -f "$TMP/zipkin.err" ] && tail -20 "$TMP/zipkin.err" | sed 's/^/zipkin| /' >&2
	rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$PY" "$FIX/zipkin.py" --listen 127.0.0.1:0 >"$TMP/zipkin.out" 2>"$TMP/zipkin.err" &
ZPID=$!
PORT=
for _ in $(seq 100); do
	PORT=$(sed -n 's/^zipkin-fixture listening on 127.0.0.1:\([0-9]*\) .*/\1/p' "$TMP/zipkin.out")
	[ -n "$PORT" ] && break
	kill -0 "$ZPID" 2>/dev/null || fail "the fixture exited before its readiness line"
	sleep 0.1
done
[ -n "$PORT" ] || fail "no readiness line from the fixture in 10 s"
Z=http://127.0.0.1:$PORT
echo "--- fixture on $Z"

# get PATH: the body of a GET that must answer 200.
get() {
	local code
	code=$(curl -sS -o "$TMP/body" -w '%{http_code}' --max-time 5 "$Z$1")
	[ "$code" = 200 ] || fail "GET $1 answered $code: $(cat "$TMP/body")"
	cat "$TMP/body"
}

# post_spans EXPECTED_CODE BODY [curl args...]: POST /api/v2/spans; leaves the reply in body.
post_spans() {
	local want=$1 body=$2 code
	shift 2
	code=$(printf '%s' "$body" | curl -sS -o "$TMP/body" -w '%{http_code}' --max-time 5 \
		-H 'Content-Type: application/json' "$@" --data-binary @- "$Z/api/v2/spans")
	[ "$code" = "$want" ] || fail "POST spans answered $code, not $want: $(cat "$TMP/body") <- $body"
}

# eq WHAT GOT WANT
eq() {
	[ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
}

stat() {
	get /__fixture/stats | jq -r ".$1"
}

# --- a real client: the OpenTelemetry Zipkin exporter ---------------------------------
echo "--- export a trace with @opentelemetry/exporter-zipkin"
sent=$(cd "$FIX/otel" && timeout 60 node export.js "$Z/api/v2/spans") ||
	fail "the exporter did not report success against the fixture"
tid=$(jq -r .spans.root.traceId <<<"$sent")
root=$(jq -r .spans.root.id <<<"$sent")
call=$(jq -r .spans.call.id <<<"$sent")
db=$(jq -r .spans.db.id <<<"$sent")
served=$(jq -r .spans.served.id <<<"$sent")
eq "stats.received" "$(stat received)" 4
eq "stats.rejected" "$(stat rejected)" 0

eq "services" "$(get /api/v2/services | jq -c .)" '["otel-backend","otel-frontend"]'
eq "span names of otel-frontend" "$(get '/api/v2/spans?serviceName=otel-frontend' | jq -c .)" \
	'["db query","get /productpage","reviews call"]'
eq "span names of otel-backend" "$(get '/api/v2/spans?serviceName=otel-backend' | jq -c .)" \
	'["get /reviews"]'
# Service names are case-insensitive in Zipkin's query API.
eq "span names, upper-case query" "$(get '/api/v2/spans?serviceName=OTEL-Backend' | jq -c .)" \
	'["get /reviews"]'
eq "remote services (the exporter sets none)" \
	"$(get '/api/v2/remoteServices?serviceName=otel-frontend' | jq -c .)" '[]'

echo "--- the trace through /api/v2/trace/{id} and /api/v2/traces"
tr=$(get "/api/v2/trace/$tid")
eq "spans in the trace" "$(jq length <<<"$tr")" 4
eq "root first, no parent" "$(jq -r '.[0] | "\(.id) \(.parentId // "-") \(.kind)"' <<<"$tr")" \
	"$root - SERVER"
span() { jq -c --arg id "$1" '.[] | select(.id == $id)' <<<"$tr"; }
eq "call's parent" "$(span "$call" | jq -r .parentId)" "$root"
eq "call's kind" "$(span "$call" | jq -r .kind)" CLIENT
eq "call's event" "$(span "$call" | jq -r '.annotations[0].value')" "request sent"
eq "db's parent" "$(span "$db" | jq -r .parentId)" "$call"
eq "db's error tag" "$(span "$db" | jq -r .tags.error)" "connection refused"
eq "served's service" "$(span "$served" | jq -r .localEndpoint.serviceName)" otel-backend
eq "served's parent" "$(span "$served" | jq -r .parentId)" "$call"
eq "root's tags are strings" "$(span "$root" | jq -r '.tags["http.status_code"] | type')" string
eq "root's method tag" "$(span "$root" | jq -r '.tags["http.method"]')" GET
eq "root's timestamp is microseconds" \
	"$(span "$root" | jq -r '(.timestamp / 1000000 - now | fabs) < 300')" true

ids() { jq -c '[.[] | [.[].id] | sort]'; }
want_ids=$(jq -c '[[.[].id] | sort]' <<<"$tr")
eq "traces?serviceName" "$(get '/api/v2/traces?serviceName=otel-frontend' | ids)" "$want_ids"
eq "traces?serviceName=backend" "$(get '/api/v2/traces?serviceName=otel-backend' | ids)" "$want_ids"
eq "traces?spanName" \
	"$(get '/api/v2/traces?serviceName=otel-frontend&spanName=db%20query' | ids)" "$want_ids"
eq "traces, unknown spanName" \
	"$(get '/api/v2/traces?serviceName=otel-frontend&spanName=nope' | jq length)" 0
eq "traces, minDuration over every span" \
	"$(get '/api/v2/traces?minDuration=600000000' | jq length)" 0
eq "traces, minDuration 1us" "$(get '/api/v2/traces?minDuration=1' | jq length)" 1
eq "traces, endTs an hour ago" \
	"$(get "/api/v2/traces?endTs=$(($(date +%s) * 1000 - 3600000))&lookback=60000" | jq length)" 0
eq "traces, annotationQuery error" \
	"$(get '/api/v2/traces?annotationQuery=error' | jq length)" 1
eq "traces, annotationQuery http.method=POST" \
	"$(get '/api/v2/traces?annotationQuery=http.method%3DPOST' | jq length)" 0

code=$(curl -sS -o /dev/null -w '%{http_code}' "$Z/api/v2/trace/00000000000000000000000000000abc")
eq "unknown trace" "$code" 404
code=$(curl -sS -o /dev/null -w '%{http_code}' "$Z/api/v2/trace/xyz")
eq "malformed trace id" "$code" 400
code=$(curl -sS -o /dev/null -w '%{http_code}' "$Z/api/v2/traces?limit=ten")
eq "limit not a number" "$code" 400

# --- hand-made spans: gzip, remote services, limit, shared-span merging ----------------
echo "--- gzip body, remoteEndpoint, merging of a shared span reported twice"
now=$(($(date +%s) * 1000000))
t2=463ac35c9f6413ad48485a3953bb6124
s1='{"traceId":"'$t2'","id":"a2fb4a1d1a96d312","name":"Call","kind":"CLIENT","timestamp":'$now',
 "duration":2000,"localEndpoint":{"serviceName":"Hand","ipv4":"10.1.2.3","port":8080},
 "remoteEndpoint":{"serviceName":"db","ipv6":"fd00::1","port":5432},"debug":true}'
printf '[%s]' "$s1" | gzip -c >"$TMP/s1.gz"
code=$(curl -sS -o "$TMP/body" -w '%{http_code}' -H 'Content-Type: application/json' \
	-H 'Content-Encoding: gzip' --data-binary @"$TMP/s1.gz" "$Z/api/v2/spans")
eq "gzip POST" "$code" 202
eq "remote services of hand" "$(get '/api/v2/remoteServices?serviceName=hand' | jq -c .)" '["db"]'
sh1='{"traceId":"'$t2'","parentId":"a2fb4a1d1a96d312","id":"b2fb4a1d1a96d312","kind":"SERVER",
 "shared":true,"localEndpoint":{"serviceName":"db"},"tags":{"a":"1"}}'
sh2='{"traceId":"'$t2'","parentId":"a2fb4a1d1a96d312","id":"b2fb4a1d1a96d312","kind":"SERVER",
 "shared":true,"name":"query","timestamp":'$((now + 100))',"duration":1500,
 "localEndpoint":{"serviceName":"db"},"tags":{"b":"2"},"annotations":[{"timestamp":'$now',"value":"x"}]}'
post_spans 202 "[$sh1]"
post_spans 202 "[$sh2]"
t2j=$(get "/api/v2/trace/$t2")
eq "spans after merging" "$(jq length <<<"$t2j")" 2
eq "merged shared span" \
	"$(jq -c '.[] | select(.shared) | [.name, .duration, .tags, (.annotations | length)]' <<<"$t2j")" \
	'["query",1500,{"a":"1","b":"2"},1]'
eq "names are lower-cased" "$(jq -r '.[] | select(.kind == "CLIENT") | .name' <<<"$t2j")" call
eq "traces?limit=1 keeps the newest" "$(get '/api/v2/traces?limit=1' | jq -r '.[0][0].traceId')" "$t2"
eq "traces?limit=2" "$(get '/api/v2/traces?limit=2' | jq length)" 2
post_spans 202 '[]'

# --- what Zipkin refuses: 400 naming the span index and the field ---------------------
echo "--- invalid input"
stored=$(stat stored)
good='{"traceId":"'$t2'","id":"c2fb4a1d1a96d312"}'
# reject FIELD_IN_MESSAGE BAD_SPAN: a batch [good, bad] must be refused as a whole.
reject() {
	post_spans 400 "[$good,$2]"
	grep -qF -- "$1" "$TMP/body" || fail "400 does not name '$1': $(cat "$TMP/body")"
}
reject 'span[1].traceId' '{"traceId":"463AC35C9F6413AD","id":"c2fb4a1d1a96d313"}'
reject 'span[1].traceId' '{"traceId":"463ac35c9f6413ad4","id":"c2fb4a1d1a96d313"}'
reject 'span[1].traceId' '{"id":"c2fb4a1d1a96d313"}'
reject 'span[1].traceId' '{"traceId":12345,"id":"c2fb4a1d1a96d313"}'
reject 'span[1].id' '{"traceId":"'$t2'","id":"c2fb4a1d1a96d31"}'
reject 'span[1].id' '{"traceId":"'$t2'","id":"0000000000000000"}'
reject 'span[1].id' '{"traceId":"'$t2'"}'
reject 'span[1].parentId' '{"traceId":"'$t2'","id":"c2fb4a1d1a96d313","parentId":"zz"}'
reject 'span[1].kind' '{"traceId":"'$t2'","id":"c2fb4a1d1a96d313","kind":"INTERNAL"}'
reject 'span[1].timestamp' '{"traceId":"'$t2'","id":"c2fb4a1d1a96d313","timestamp":"1700000000000000"}'
reject 'span[1].duration' '{"traceId":"'$t2'","id":"c2fb4a1d1a96d313","duration":1.5}'
reject 'span[1].duration' '{"traceId":"'$t2'","id":"c2fb4a1d1a96d313","duration":-3}'
reject 'span[1].debug' '{"traceId":"'$t2'","id":"c2fb4a1d1a96d313","debug":"true"}'
reject 'span[1].shared' '{"traceId":"'$t2'","id":"c2fb4a1d1a96d313","shared":1}'
reject 'span[1].tags.http.status_code' \
	'{"traceId":"'$t2'","id":"c2fb4a1d1a96d313","tags":{"http.status_code":200}}'
reject 'span[1].tags' '{"traceId":"'$t2'","id":"c2fb4a1d1a96d313","tags":["a"]}'
reject 'span[1].annotations[0].value' \
	'{"traceId":"'$t2'","id":"c2fb4a1d1a96d313","annotations":[{"timestamp":1}]}'
reject 'span[1].annotations[0].timestamp' \
	'{"traceId":"'$t2'","id":"c2fb4a1d1a96d313","annotations":[{"timestamp":"1","value":"v"}]}'
reject 'span[1].localEndpoint.ipv4' \
	'{"traceId":"'$t2'","id":"c2fb4a1d1a96d313","localEndpoint":{"ipv4":"300.1.1.1"}}'
reject 'span[1].remoteEndpoint.port' \
	'{"traceId":"'$t2'","id":"c2fb4a1d1a96d313","remoteEndpoint":{"port":70000}}'
reject 'span[1].localEndpoint.serviceName' \
	'{"traceId":"'$t2'","id":"c2fb4a1d1a96d313","localEndpoint":{"serviceName":7}}'
reject 'span[1]: expected an object' '"span"'
post_spans 400 '[{"traceId":'
grep -q 'Malformed' "$TMP/body" || fail "malformed JSON: $(cat "$TMP/body")"
post_spans 400 '{"traceId":"'$t2'","id":"c2fb4a1d1a96d313"}'
grep -q 'expected a list' "$TMP/body" || fail "not a list: $(cat "$TMP/body")"
post_spans 400 ''
post_spans 400 'garbage' -H 'Content-Encoding: gzip'
grep -q 'gunzip' "$TMP/body" || fail "bad gzip: $(cat "$TMP/body")"
code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/x-protobuf' \
	--data-binary '[]' "$Z/api/v2/spans")
eq "protobuf body" "$code" 415
eq "nothing stored from refused batches" "$(stat stored)" "$stored"
[ "$(stat rejected)" -ge 25 ] || fail "stats.rejected $(stat rejected) < 25"

# --- bad-collector modes, switched at run time ------------------------------------------
echo "--- modes: fail500, slow, hang, ok"
mode() {
	local code
	code=$(curl -sS -o "$TMP/body" -w '%{http_code}' --max-time 5 --data-binary "$1" \
		"$Z/__fixture/mode")
	[ "$code" = "$2" ] || fail "mode $1 answered $code, not $2: $(cat "$TMP/body")"
}
mode bogus 400
mode slow:x 400
mode fail500 200
eq "GET mode" "$(get /__fixture/mode | jq -r .mode)" fail500
post_spans 500 "[$good]"
(cd "$FIX/otel" && timeout 60 node export.js "$Z/api/v2/spans" --expect failure >/dev/null) ||
	fail "the exporter did not see failures in mode fail500"
eq "stats.failed" "$(stat failed)" 5
mode '{"mode":"slow:400"}' 200
t0=$(date +%s%N)
post_spans 202 "[$good]"
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -ge 400 ] || fail "slow:400 answered in $ms ms"
mode hang 200
code=$(printf '[%s]' "$good" | curl -s -o /dev/null -w '%{http_code}' --max-time 1 \
	-H 'Content-Type: application/json' --data-binary @- "$Z/api/v2/spans") || true
eq "a hung POST times out" "$code" 000
# A request held by hang is answered once the mode changes back.
printf '[%s]' "$good" | curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
	-H 'Content-Type: application/json' --data-binary @- "$Z/api/v2/spans" >"$TMP/held" &
held=$!
for _ in $(seq 50); do
	[ "$(stat hung)" -ge 2 ] && break
	sleep 0.1
done
eq "stats.hung" "$(stat hung)" 2
mode ok 200
wait "$held" || true
eq "held POST after mode ok" "$(cat "$TMP/held")" 202
post_spans 202 "[$good]"

echo "--- reset"
curl -sS -o /dev/null --max-time 5 -X POST "$Z/__fixture/reset"
eq "services after reset" "$(get /api/v2/services | jq -c .)" '[]'
eq "stored after reset" "$(stat stored)" 0
echo "PASS: zipkin fixture"

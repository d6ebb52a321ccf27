#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Access logs through the agent: a client Pod sends HTTP/1.1 and HTTP/2 requests (200, 404,
# an unreachable backend) and TCP connections (one relayed, one refused) through the agent
# path, and the --access-log file must hold exactly one line per request or connection with
# the right code, flags, bytes and addresses: first in Istio's default text format (each line
# parsed by the format's own field layout), then with --access-log-encoding json (each line
# parsed as JSON), where SIGHUP after a rename must start a new file. Then Istio's Telemetry
# accessLogging: without the flag nothing is logged until a Telemetry turns it on for the
# namespace (exactly one line per request, counted in /metrics), and with the flag a
# Telemetry with disabled: true turns it off.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || e2e_skip "jq not installed"
e2e_init alog
e2e_node
e2e_pod srv 198.18.1.11
e2e_pod client 198.18.1.20
{
	e2e_pod_yaml srv 198.18.1.11 web v1 1
	e2e_pod_yaml client 198.18.1.20 client v1 1
	# web: HTTP and TCP on the srv Pod; dead: the same Pod on ports nothing
	# listens on; empty: no endpoints at all.
	cat <<YAML
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: default
  annotations: {weir.dev/path: agent}
spec:
  clusterIP: 198.19.0.30
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: 8080}
  - {name: tcp, port: 9000, targetPort: 8090}
---
apiVersion: v1
kind: Service
metadata:
  name: dead
  namespace: default
  annotations: {weir.dev/path: agent}
spec:
  clusterIP: 198.19.0.31
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: 8099}
  - {name: tcp, port: 9000, targetPort: 8098}
---
apiVersion: v1
kind: Service
metadata:
  name: empty
  namespace: default
  annotations: {weir.dev/path: agent}
spec:
  clusterIP: 198.19.0.32
  selector: {app: nobody}
  ports:
  - {name: http, port: 80, targetPort: 8080}
  - {name: tcp, port: 9000, targetPort: 8090}
YAML
} >"$E2E_TMP/config/app.yaml"
mkdir -p "$E2E_TMP/www"
head -c 1234 /dev/zero | tr '\0' x >"$E2E_TMP/www/hello.txt"
e2e_run srv "$E2E_PY" -m http.server 8080 --bind 0.0.0.0 --directory "$E2E_TMP/www"
REPLY=5000
e2e_run srv env REPLY_BYTES=$REPLY "$E2E_PY" "$E2E_DIR/tcpsrv.py" sink 8090

# to_json FILE ENCODING: every line of the access log as one JSON object a line. Text lines
# are split by the layout of Istio's default format; a line that does not fit fails.
to_json() {
	if [ "$2" = json ]; then
		jq -c . "$1" || e2e_fail "access log line is not JSON: $(cat "$1")"
		return
	fi
	"$E2E_PY" - "$1" <<'PY' || e2e_fail "access log line not in Istio's text format"
import json, re, sys
q = r'"((?:[^"\\]|\\.)*)"'
pat = re.compile(r'^\[(\S+)\] "(\S+) (\S+) (\S+)" (\d+) (\S+) (\S+) (\S+) ' + q +
                 r' (\d+) (\d+) (\d+) (\S+) ' + ' '.join([q] * 5) + r' (\S+) (\S+) (\S+) (\S+)'
                 r' (\S+) (\S+)$')
keys = ["start_time", "method", "path", "protocol", "response_code", "response_flags",
        "response_code_details", "connection_termination_details",
        "upstream_transport_failure_reason", "bytes_received", "bytes_sent", "duration",
        "upstream_service_time", "x_forwarded_for", "user_agent", "request_id", "authority",
        "upstream_host", "upstream_cluster", "upstream_local_address",
        "downstream_local_address", "downstream_remote_address", "requested_server_name",
        "route_name"]
for line in open(sys.argv[1]):
    m = pat.match(line.rstrip("\n"))
    if not m:
        sys.exit("not the text format: %r" % line)
    d = dict(zip(keys, m.groups()))
    for k in ("response_code", "bytes_received", "bytes_sent", "duration"):
        d[k] = int(d[k])
    # "-" is the text format's null; response_flags keeps its "-" as in JSON.
    print(json.dumps({k: (None if v == "-" and k != "response_flags" else v)
                      for k, v in d.items()}))
PY
}

# wait_lines FILE N: waits (10 s) until FILE has N lines; the writer flushes every 200 ms.
wait_lines() {
	local _
	for _ in $(seq 100); do
		[ "$(wc -l <"$1" 2>/dev/null || echo 0)" -ge "$2" ] && break
		sleep 0.1
	done
	sleep 0.5 # and no more come
	[ "$(wc -l <"$1")" -eq "$2" ] || e2e_fail "$1 has $(wc -l <"$1") lines, want $2: $(cat "$1")"
}

# line_of JSONL SELECTOR: the one entry the jq SELECTOR picks; fails unless exactly one.
line_of() {
	local n
	n=$(jq -c "select($2)" "$1" | wc -l)
	[ "$n" -eq 1 ] || e2e_fail "$n access log entries match $2, want 1: $(cat "$1")"
	jq -c "select($2)" "$1"
}

# expect JSON JQ-BOOL WHAT
expect() {
	jq -e "$2" <<<"$1" >/dev/null || e2e_fail "$3: $2 is false for $1"
}

# traffic TAG: the eight requests and connections whose lines the checks below look for.
traffic() {
	local tag=$1 code out
	code=$(e2e_exec client curl -s -o /dev/null -w '%{http_code}' -m 10 -A "weir-e2e/$tag" \
		-H "x-request-id: $tag-ok" http://198.19.0.30/hello.txt)
	[ "$code" = 200 ] || e2e_fail "GET /hello.txt: $code"
	code=$(e2e_exec client curl -s -o /dev/null -w '%{http_code}' -m 10 \
		-H "x-request-id: $tag-404" http://198.19.0.30/missing)
	[ "$code" = 404 ] || e2e_fail "GET /missing: $code"
	code=$(e2e_exec client curl -s -o /dev/null -w '%{http_code}' -m 10 --http2-prior-knowledge \
		-H "x-request-id: $tag-h2" http://198.19.0.30/hello.txt)
	[ "$code" = 200 ] || e2e_fail "h2 GET /hello.txt: $code"
	code=$(e2e_exec client curl -s -o /dev/null -w '%{http_code}' -m 20 \
		-H "x-request-id: $tag-dead" http://198.19.0.31/)
	[ "$code" = 503 ] || e2e_fail "GET to a dead backend: $code, want 503"
	out=$(e2e_exec client "$E2E_PY" "$E2E_DIR/tcpcli.py" send 198.19.0.30 9000 10000)
	TCP_TOTAL=$(jq .reply_total <<<"$out")
	e2e_exec client "$E2E_PY" "$E2E_DIR/tcpcli.py" send 198.19.0.31 9000 100 >/dev/null 2>&1 &&
		e2e_fail "TCP to a port nobody listens on did not fail"
	code=$(e2e_exec client curl -s -o /dev/null -w '%{http_code}' -m 10 \
		-H "x-request-id: $tag-empty" http://198.19.0.32/)
	[ "$code" = 503 ] || e2e_fail "GET to a Service without endpoints: $code, want 503"
	e2e_exec client "$E2E_PY" "$E2E_DIR/tcpcli.py" send 198.19.0.32 9000 100 >/dev/null 2>&1 &&
		e2e_fail "TCP to a Service without endpoints did not fail"
	return 0
}

# check JSONL TAG: one entry per request of traffic TAG, each with its own facts.
check() {
	local f=$1 tag=$2 e
	e=$(line_of "$f" ".request_id == \"$tag-ok\"")
	expect "$e" '.method == "GET" and .path == "/hello.txt" and .protocol == "HTTP/1.1"' ok
	expect "$e" '.response_code == 200 and .response_flags == "-"' ok
	expect "$e" '.response_code_details == "via_upstream"' ok
	expect "$e" '.bytes_sent == 1234 and .bytes_received == 0' ok
	expect "$e" ".user_agent == \"weir-e2e/$tag\" and .authority == \"198.19.0.30\"" ok
	expect "$e" '.upstream_host == "198.18.1.11:8080"' ok
	expect "$e" '.downstream_local_address == "198.19.0.30:80"' ok
	expect "$e" '.downstream_remote_address | test("^198\\.18\\.1\\.20:[1-9][0-9]*$")' ok
	expect "$e" '.start_time | test("^20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-9:]{8}\\.[0-9]{3}Z$")' ok
	expect "$e" '.duration >= 0 and .duration < 10000' ok
	e=$(line_of "$f" ".request_id == \"$tag-404\"")
	expect "$e" '.response_code == 404 and .response_flags == "-" and .path == "/missing"' 404
	e=$(line_of "$f" ".request_id == \"$tag-h2\"")
	expect "$e" '.protocol == "HTTP/2" and .response_code == 200 and .bytes_sent == 1234' h2
	e=$(line_of "$f" ".request_id == \"$tag-dead\"")
	expect "$e" '.response_code == 503 and (.response_flags | split(",") | index("UF"))' dead
	expect "$e" '.downstream_local_address == "198.19.0.31:80"' dead
	expect "$e" '.upstream_host == "198.18.1.11:8099"' dead
	e=$(line_of "$f" '.downstream_local_address == "198.19.0.30:9000"')
	expect "$e" '.method == null and .path == null and .protocol == null' tcp
	expect "$e" '.response_code == 0 and .response_flags == "-" and .request_id == null' tcp
	expect "$e" ".bytes_received == 10000 and .bytes_sent == $TCP_TOTAL" tcp
	expect "$e" '.upstream_host == "198.18.1.11:8090"' tcp
	expect "$e" '.downstream_remote_address | test("^198\\.18\\.1\\.20:")' tcp
	e=$(line_of "$f" '.downstream_local_address == "198.19.0.31:9000"')
	expect "$e" '.response_flags == "UF" and .bytes_received == 0 and .bytes_sent == 0' refused
	expect "$e" '.upstream_host == "198.18.1.11:8098"' refused
	e=$(line_of "$f" ".request_id == \"$tag-empty\"")
	expect "$e" '.response_code == 503 and (.response_flags | split(",") | index("UH"))' empty
	expect "$e" '.upstream_host == null and .response_code_details == null' empty
	e=$(line_of "$f" '.downstream_local_address == "198.19.0.32:9000"')
	expect "$e" '.response_flags == "UH" and .upstream_host == null and .bytes_sent == 0' no-ep
	expect "$e" '.downstream_remote_address | test("^198\\.18\\.1\\.20:")' no-ep
}

e2e_log "text encoding (the default)"
LOG=$E2E_TMP/access.log
e2e_agent --access-log "$LOG"
sleep 0.5
traffic t
wait_lines "$LOG" 8
to_json "$LOG" text >"$E2E_TMP/text.jsonl"
check "$E2E_TMP/text.jsonl" t
e2e_log "text lines:"
cat "$LOG"
m=$(e2e_node_curl /metrics)
grep -qx 'weir_access_log_lines_total{outcome="written"} 8' <<<"$m" ||
	e2e_fail "metrics: $(grep weir_access_log <<<"$m")"
grep -qx 'weir_access_log_lines_total{outcome="dropped"} 0' <<<"$m" ||
	e2e_fail "metrics: $(grep weir_access_log <<<"$m")"
e2e_agent_stop
[ "$(wc -l <"$LOG")" -eq 8 ] || e2e_fail "the agent's stop added lines: $(cat "$LOG")"

e2e_log "json encoding"
JLOG=$E2E_TMP/access.json
e2e_agent --access-log "$JLOG" --access-log-encoding json
sleep 0.5
traffic j
wait_lines "$JLOG" 8
to_json "$JLOG" json >"$E2E_TMP/json.jsonl"
check "$E2E_TMP/json.jsonl" j
e2e_log "json: $(head -1 "$JLOG")"

e2e_log "SIGHUP after a rename: a new file"
mv "$JLOG" "$JLOG.1"
kill -HUP "$E2E_AGENT_PID"
for _ in $(seq 50); do
	[ -f "$JLOG" ] && break
	sleep 0.1
done
[ -f "$JLOG" ] || e2e_fail "no new $JLOG after SIGHUP"
code=$(e2e_exec client curl -s -o /dev/null -w '%{http_code}' -m 10 \
	-H "x-request-id: after-hup" http://198.19.0.30/hello.txt)
[ "$code" = 200 ] || e2e_fail "GET after SIGHUP: $code"
wait_lines "$JLOG" 1
jq -e '.request_id == "after-hup"' "$JLOG" >/dev/null || e2e_fail "new file: $(cat "$JLOG")"
[ "$(wc -l <"$JLOG.1")" -eq 8 ] || e2e_fail "the rotated file changed: $(cat "$JLOG.1")"
kill -0 "$E2E_AGENT_PID" || e2e_fail "SIGHUP ended the agent"

e2e_log "Istio Telemetry accessLogging turns the log on and off per workload"
e2e_agent_stop
e2e_agent # no --access-log: the log is off unless Telemetry turns it on (on stdout)
# written: weir_access_log_lines_total{outcome="written"} now.
written() { e2e_node_curl /metrics | l7_metric weir_access_log_lines_total outcome=written; }
get() {
	e2e_exec client curl -s -o /dev/null -w '%{http_code}' -m 10 http://198.19.0.30/hello.txt
}
w0=$(written)
for _ in 1 2 3; do [ "$(get)" = 200 ] || e2e_fail "GET without access logging failed"; done
sleep 0.5
[ "$(written)" -eq "$w0" ] || e2e_fail "lines written with no flag and no Telemetry: $w0 -> $(written)"
# telemetry VALUE: the default namespace's Telemetry, accessLogging disabled: VALUE.
telemetry() {
	cat >"$E2E_TMP/config/telemetry.yaml.tmp" <<-YAML
		apiVersion: telemetry.istio.io/v1
		kind: Telemetry
		metadata: {name: logs, namespace: default}
		spec:
		  accessLogging:
		  - providers: [{name: envoy}]
		    disabled: $1
	YAML
	mv "$E2E_TMP/config/telemetry.yaml.tmp" "$E2E_TMP/config/telemetry.yaml"
}
telemetry false
# The snapshot takes a moment: one request at a time until one is logged (bounded).
for i in $(seq 50); do
	[ "$(get)" = 200 ] || e2e_fail "GET with access logging on failed"
	[ "$(written)" -gt "$w0" ] && break
	sleep 0.2
done
[ "$(written)" -gt "$w0" ] || e2e_fail "Telemetry accessLogging on: nothing logged after $i requests"
w1=$(written)
for _ in 1 2 3 4 5; do get >/dev/null; done
for _ in $(seq 50); do [ "$(written)" -ge $((w1 + 5)) ] && break; sleep 0.1; done
[ "$(written)" -eq $((w1 + 5)) ] || e2e_fail "5 requests logged as $(($(written) - w1)) lines"
e2e_agent_stop
# With --access-log every workload logs, unless its Telemetry says disabled.
telemetry true
e2e_agent --access-log "$E2E_TMP/flag.log"
w0=$(written)
for _ in 1 2 3; do get >/dev/null; done
sleep 0.5
[ "$(written)" -eq "$w0" ] || e2e_fail "Telemetry disabled: still logged $(($(written) - w0)) lines"
rm -f "$E2E_TMP/config/telemetry.yaml"
e2e_log "ok: off by default, on and off by Telemetry, exact line counts"

e2e_log "bad flags are refused at start"
out=$("$BUILD/weir-agent" --config-dir "$E2E_TMP/config" --access-log-encoding yaml 2>&1) &&
	e2e_fail "--access-log-encoding yaml was accepted"
grep -q "access-log-encoding: 'yaml'" <<<"$out" || e2e_fail "message: $out"
e2e_log "ok"

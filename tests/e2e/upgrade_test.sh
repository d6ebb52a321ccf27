#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Upgrades without failed requests: ten times in a row a new agent process starts with the
# same flags (and --handoff-socket), takes the listening sockets over from the running one
# and tells it to drain; the test waits until the old pid is gone each time. Across all of
# it a client Pod keeps keep-alive HTTP/1.1 load (h2load --h1, one run over every upgrade)
# on an agent-path Service: h2load's own summary must show no failed or errored request.
# HTTP/2 load (h2load h2, one run per upgrade: its client never reconnects after GOAWAY)
# must show every request it sent answered 2xx. A gRPC client (python3-grpcio: four callers
# multiplexed on one channel, which reconnects after GOAWAY and retries the streams the old
# agent refused unprocessed, as HTTP/2 lets a client do) runs over all ten upgrades and must
# see every call OK. A TCP connection to a kernel-path Service, held open over all ten
# upgrades, must not notice anything.
. "$(dirname "$0")/lib.sh"
command -v h2load >/dev/null || e2e_skip "h2load not installed"
/usr/bin/python3 -c 'import grpc' 2>/dev/null || e2e_skip "python3-grpcio is not installed"
e2e_init upg
e2e_node
e2e_pod srv 198.18.1.11
e2e_pod client 198.18.1.20
{
	e2e_pod_yaml srv 198.18.1.11 web v1 1
	e2e_pod_yaml client 198.18.1.20 client v1 1
	cat <<YAML
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: default
  annotations: {weir.dev/path: agent}
spec:
  clusterIP: 198.19.0.60
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: default}
spec:
  clusterIP: 198.19.0.61
  selector: {app: web}
  ports: [{name: tcp, port: 7, targetPort: 8081}]
---
apiVersion: v1
kind: Service
metadata:
  name: rpc
  namespace: default
  annotations: {weir.dev/path: agent}
spec:
  clusterIP: 198.19.0.62
  selector: {app: web}
  ports: [{name: grpc, port: 50051, targetPort: 50051}]
YAML
} >"$E2E_TMP/config/app.yaml"
e2e_run srv "$BUILD/bookinfo-app" --name web --version v1 --listen 8080
e2e_run srv "$E2E_PY" "$E2E_DIR/tcpsrv.py" echo 8081
e2e_run srv /usr/bin/python3 "$E2E_DIR/grpcsvc.py" server --port 50051 --lifetime 300
HANDOFF=$E2E_TMP/handoff.sock
e2e_agent --handoff-socket "$HANDOFF" --drain-seconds 5
sleep 0.5

UPGRADES=10
# Enough time for ten upgrades at a few seconds each on a busy machine, bounded; checked.
LOAD_SECS=${LOAD_SECS:-60}

# Fails unless the client gets answers from web through the agent.
out=$(e2e_exec client curl -sS -m 5 -o /dev/null -w '%{http_code}' http://198.19.0.60/)
[ "$out" = 200 ] || e2e_fail "web through the agent answered '$out'"

# The kernel-path connection, held over every upgrade (a line per 100 ms).
e2e_exec client "$E2E_PY" "$E2E_DIR/tcpcli.py" hold 198.19.0.61 7 $((LOAD_SECS + 5)) \
	>"$E2E_TMP/hold.json" 2>&1 &
hold=$!
E2E_PIDS+=("$hold")

# gRPC over all upgrades: IPv4 only in the client Pod (l7_grpc_test.sh says why).
e2e_exec client sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
	net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.lo.disable_ipv6=1 ||
	e2e_fail "cannot disable IPv6 in the client Pod"
out=$(e2e_exec client /usr/bin/python3 "$E2E_DIR/grpcsvc.py" client --target 198.19.0.62:50051 \
	--calls 3 --summary) || e2e_fail "gRPC through the agent before the upgrades: $out"
# ... and through the agent indeed: it counted them as gRPC requests.
for _ in $(seq 30); do
	n=$(e2e_node_curl /metrics | l7_metric istio_requests_total request_protocol=grpc \
		destination_service_name=rpc grpc_response_status=0)
	[ "$n" -ge 3 ] && break
	sleep 0.1
done
[ "$n" -ge 3 ] || e2e_fail "the agent counted $n gRPC requests to rpc, want 3"
e2e_exec client timeout $((LOAD_SECS + 30)) /usr/bin/python3 "$E2E_DIR/grpcsvc.py" client \
	--target 198.19.0.62:50051 --calls 100000 --duration "$LOAD_SECS" --parallel 4 --summary \
	>"$E2E_TMP/grpc.txt" 2>&1 &
grpcload=$!
E2E_PIDS+=("$grpcload")

# Keep-alive HTTP/1.1 load over all upgrades.
e2e_exec client timeout $((LOAD_SECS + 30)) h2load --h1 -c 4 -m 1 -t 1 -D "$LOAD_SECS" \
	http://198.19.0.60/ >"$E2E_TMP/h1.txt" 2>&1 &
h1=$!
E2E_PIDS+=("$h1")
sleep 1

# summary FILE: h2load's "requests:" and "status codes:" numbers as one line of words.
summary() {
	sed -n 's/^requests: \([0-9]*\) total, \([0-9]*\) started, \([0-9]*\) done, \([0-9]*\) succeeded, \([0-9]*\) failed, \([0-9]*\) errored, \([0-9]*\) timeout.*/total=\1 started=\2 done=\3 succeeded=\4 failed=\5 errored=\6 timeout=\7/p; s/^status codes: \([0-9]*\) 2xx, \([0-9]*\) 3xx, \([0-9]*\) 4xx, \([0-9]*\) 5xx.*/s2xx=\1 s3xx=\2 s4xx=\3 s5xx=\4/p' "$1" | tr '\n' ' '
}

start=$(date +%s)
for i in $(seq $UPGRADES); do
	old=$E2E_AGENT_PID
	# HTTP/2 for this upgrade: started before it, ended after it.
	e2e_exec client timeout 30 h2load -c 4 -m 4 -t 1 -D 3 http://198.19.0.60/ \
		>"$E2E_TMP/h2-$i.txt" 2>&1 &
	h2=$!
	E2E_PIDS+=("$h2")
	sleep 0.5
	e2e_agent --handoff-socket "$HANDOFF" --drain-seconds 5
	for _ in $(seq 100); do
		kill -0 "$old" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$old" 2>/dev/null && e2e_fail "upgrade $i: the old agent $old did not exit in 10 s"
	rc=0
	wait "$old" || rc=$?
	[ "$rc" -eq 0 ] || e2e_fail "upgrade $i: the old agent exited with $rc"
	[ "$(grep -c 'drained (0 connections left)' "$E2E_TMP/logs/agent.log")" -eq "$i" ] ||
		e2e_fail "upgrade $i: the old agent did not drain to 0 connections"
	wait "$h2" || e2e_fail "upgrade $i: h2load h2 exited with $?: $(tail -5 "$E2E_TMP/h2-$i.txt")"
	s=$(summary "$E2E_TMP/h2-$i.txt")
	e2e_log "upgrade $i: agent $old -> $E2E_AGENT_PID; h2: $s"
	eval "$s"
	# Every answer a success; what h2load counts failed is what nghttp2 held unsent at
	# GOAWAY (at most -m 4 per client): it never reached the agent.
	[ "${succeeded:-0}" -gt 0 ] && [ "$s2xx" -eq "$succeeded" ] && [ "$timeout" -eq 0 ] &&
		[ "$failed" -le 16 ] || e2e_fail "upgrade $i: h2 load: $s"
done
e2e_log "$UPGRADES upgrades in $(($(date +%s) - start)) s"
kill -0 "$h1" 2>/dev/null || e2e_fail "the HTTP/1.1 load ended before the last upgrade"
kill -0 "$grpcload" 2>/dev/null || e2e_fail "the gRPC load ended before the last upgrade"
kill -0 "$hold" 2>/dev/null || e2e_fail "the held connection ended before the last upgrade"
# The listeners were handed on each time: one agent still owns the outbound port.
[ "$(grep -c 'took 2 listening sockets over' "$E2E_TMP/logs/agent.log")" -eq $UPGRADES ] ||
	e2e_fail "not every agent took the listeners over: $(grep -c 'took' "$E2E_TMP/logs/agent.log")"

# The count travels with the listeners: the tenth successor says ten.
n=$(e2e_node_curl /metrics | sed -n 's/^weir_agent_upgrades_total \([0-9]*\)$/\1/p')
[ "$n" = "$UPGRADES" ] || e2e_fail "weir_agent_upgrades_total is '$n', not $UPGRADES"

wait "$h1" || e2e_fail "h2load --h1 exited with $?: $(tail -5 "$E2E_TMP/h1.txt")"
s=$(summary "$E2E_TMP/h1.txt")
e2e_log "h1 over $UPGRADES upgrades: $s"
eval "$s"
[ "${succeeded:-0}" -gt 100 ] || e2e_fail "too little HTTP/1.1 load: $(cat "$E2E_TMP/h1.txt")"
[ "$failed" -eq 0 ] && [ "$errored" -eq 0 ] && [ "$timeout" -eq 0 ] ||
	e2e_fail "HTTP/1.1 requests failed across the upgrades: $s"
[ "$s2xx" -eq "$succeeded" ] || e2e_fail "HTTP/1.1 answers other than 2xx: $s"

rc=0
wait "$grpcload" || rc=$?
g=$(tail -1 "$E2E_TMP/grpc.txt")
e2e_log "gRPC over $UPGRADES upgrades: $g"
[ "$rc" -eq 0 ] || e2e_fail "gRPC calls failed across the upgrades (exit $rc): $(tail -5 "$E2E_TMP/grpc.txt")"
echo "$g" | jq -e '.failed == 0 and .ok == .calls and .calls > 100' >/dev/null ||
	e2e_fail "gRPC load across the upgrades: $g"

wait "$hold" || true
h=$(cat "$E2E_TMP/hold.json")
e2e_log "held kernel-path connection: $h"
echo "$h" | jq -e ".fail == null and .ok >= $((LOAD_SECS * 5))" >/dev/null ||
	e2e_fail "the kernel-path connection noticed the upgrades: $h"
e2e_log "ok"

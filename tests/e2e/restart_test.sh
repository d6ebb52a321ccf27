#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Stopping the agent leaves the kernel datapath in force: a kernel-path connection open
# across the stop keeps flowing, new connections are still load-balanced while the agent
# is away, and the restarted agent picks up the pinned state with no counter lost or
# counted twice.
. "$(dirname "$0")/lib.sh"
e2e_init rst
e2e_node
e2e_pod srv 198.18.1.11
e2e_pod client 198.18.1.20
{
	e2e_pod_yaml srv 198.18.1.11 echo v1 1
	e2e_pod_yaml client 198.18.1.20 client v1 1
	cat <<YAML
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: default}
spec:
  clusterIP: 198.19.0.40
  selector: {app: echo}
  ports: [{name: tcp, port: 7, targetPort: 8080}]
YAML
} >"$E2E_TMP/config/app.yaml"
e2e_run srv "$E2E_PY" "$E2E_DIR/tcpsrv.py" echo 8080
e2e_agent
sleep 0.3

conns() { e2e_ctl edges | jq '[.edges[] | select(.source.app == "client" and .destination.app == "echo") | .connections_opened] | add // 0'; }

# 1 long connection held over the restart, plus 5 short ones before, during and after.
e2e_exec client "$E2E_PY" "$E2E_DIR/tcpcli.py" hold 198.19.0.40 7 6 >"$E2E_TMP/hold.json" 2>&1 &
hold=$!
E2E_PIDS+=("$hold")
for i in 1 2 3 4 5; do
	e2e_exec client "$E2E_PY" "$E2E_DIR/tcpcli.py" hold 198.19.0.40 7 0.2 | jq -e '.fail == null' >/dev/null ||
		e2e_fail "connection $i before the stop failed"
done
sleep 0.5
before=$(conns)
[ "$before" -eq 6 ] || e2e_fail "expected 6 connections counted before the stop, got $before"

e2e_agent_stop
e2e_log "agent stopped"
for i in 1 2 3 4 5; do
	e2e_exec client "$E2E_PY" "$E2E_DIR/tcpcli.py" hold 198.19.0.40 7 0.2 | jq -e '.fail == null' >/dev/null ||
		e2e_fail "connection $i while the agent is down failed"
done
during=$(conns)
[ "$during" -eq 11 ] || e2e_fail "kernel counting must go on while the agent is down: $during != 11"

e2e_agent
e2e_log "agent restarted"
after_restart=$(conns)
[ "$after_restart" -eq 11 ] || e2e_fail "restart changed the counters: $after_restart != 11"
for i in 1 2 3 4 5; do
	e2e_exec client "$E2E_PY" "$E2E_DIR/tcpcli.py" hold 198.19.0.40 7 0.2 | jq -e '.fail == null' >/dev/null ||
		e2e_fail "connection $i after the restart failed"
done
wait "$hold" || true
h=$(cat "$E2E_TMP/hold.json")
e2e_log "held connection: $h"
echo "$h" | jq -e '.fail == null and .ok >= 40' >/dev/null || e2e_fail "the held connection broke: $h"
sleep 0.3
final=$(conns)
[ "$final" -eq 16 ] || e2e_fail "expected 16 connections in total, got $final"
# One link per hook after the restart: the pinned links were updated, not duplicated.
st=$(e2e_ctl status)
echo "$st" | jq -e '[.links[] | select(.present)] | length == 4' >/dev/null || e2e_fail "links: $st"
e2e_log "ok"

#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# A relayed (agent-path) connection outlives its Service: the Service is deleted from the
# config while the connection is open. Its close and its later bytes still belong to the
# edge it was opened on (client -> echo via Service echo), so that edge ends with no
# active connection, and no edge is left with a negative active count.
. "$(dirname "$0")/lib.sh"
e2e_init rtcp-sgone
e2e_node
e2e_pod srv 198.18.1.11
e2e_pod client 198.18.1.20
{
	e2e_pod_yaml srv 198.18.1.11 echo v1 1
	e2e_pod_yaml client 198.18.1.20 client v1 1
} >"$E2E_TMP/config/pods.yaml"
cat >"$E2E_TMP/config/svc.yaml" <<YAML
apiVersion: v1
kind: Service
metadata:
  name: echo
  namespace: default
  annotations: {weir.dev/path: agent}
spec:
  clusterIP: 198.19.0.95
  selector: {app: echo}
  ports: [{name: tcp, port: 7, targetPort: 8080}]
YAML
e2e_run srv "$E2E_PY" "$E2E_DIR/tcpsrv.py" echo 8080
e2e_agent
sleep 0.5

agent_edges() { e2e_ctl edges | jq -c '[.edges[] | select(.path == "agent")]'; }
e2e_run client "$E2E_PY" "$E2E_DIR/tcpcli.py" hold 198.19.0.95 7 4
holder=$E2E_LAST_PID
for _ in $(seq 30); do
	agent_edges | jq -e '[.[] | select(.service.name == "echo" and .connections_opened == 1)] | length == 1' >/dev/null && break
	sleep 0.2
done
agent_edges | jq -e '[.[] | select(.service.name == "echo" and .connections_opened == 1)] | length == 1' >/dev/null ||
	e2e_fail "the open connection is not on an edge of Service echo: $(agent_edges)"

# The Service goes while the connection is open.
rm "$E2E_TMP/config/svc.yaml"
for _ in $(seq 50); do
	e2e_ctl services | jq -e '[.services[] | select(.vip == "198.19.0.95")] | length == 0' >/dev/null && break
	sleep 0.1
done
e2e_ctl services | jq -e '[.services[] | select(.vip == "198.19.0.95")] | length == 0' >/dev/null ||
	e2e_fail "the deleted Service is still programmed"
wait "$holder"
grep -q '"fail": null' "$E2E_TMP/logs/client.log" || e2e_fail "the held connection failed: $(cat "$E2E_TMP/logs/client.log")"
for _ in $(seq 30); do
	agent_edges | jq -e '[.[] | .connections_closed] | add == 1' >/dev/null && break
	sleep 0.2
done
e=$(agent_edges)
e2e_log "edges: $e"
echo "$e" | jq -e '[.[] | .connections_closed] | add == 1' >/dev/null || e2e_fail "the close was not counted: $e"
echo "$e" | jq -e 'length == 1' >/dev/null || e2e_fail "the connection is split over several edges: $e"
echo "$e" | jq -e '.[0].service.name == "echo" and .[0].connections_active == 0' >/dev/null ||
	e2e_fail "the Service's edge keeps an active connection: $e"
e2e_log "ok"

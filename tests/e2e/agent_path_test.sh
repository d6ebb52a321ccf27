#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The agent path: a Service annotated weir.dev/path: agent is rewritten at connect() to
# the node agent, which recovers the original destination (SO_ORIGINAL_DST answered by the
# BPF getsockopt hook), picks a backend and relays. Bytes arrive intact both ways, and the
# agent-path edge in weir_edges carries exactly the bytes relayed.
. "$(dirname "$0")/lib.sh"
e2e_init agentp
e2e_node
e2e_pod srv 198.18.1.11
e2e_pod client 198.18.1.20
{
	e2e_pod_yaml srv 198.18.1.11 sink v1 1
	e2e_pod_yaml client 198.18.1.20 client v1 1
	cat <<YAML
apiVersion: v1
kind: Service
metadata:
  name: sink
  namespace: default
  annotations: {weir.dev/path: agent}
spec:
  clusterIP: 198.19.0.20
  selector: {app: sink}
  ports: [{name: tcp, port: 9000, targetPort: 8080}]
YAML
} >"$E2E_TMP/config/app.yaml"
REPLY=1048576
REPLY_BYTES=$REPLY e2e_run srv env REPLY_BYTES=$REPLY "$E2E_PY" "$E2E_DIR/tcpsrv.py" sink 8080
e2e_agent
sleep 0.5

SENT=4194304
out=$(e2e_exec client "$E2E_PY" "$E2E_DIR/tcpcli.py" send 198.19.0.20 9000 $SENT)
e2e_log "transfer: $out"
[ "$(echo "$out" | jq -r .sha)" = "$(echo "$out" | jq -r .server_sha)" ] || e2e_fail "payload corrupted: $out"
[ "$(echo "$out" | jq .server_got)" -eq $SENT ] || e2e_fail "server got a different length: $out"
[ "$(echo "$out" | jq .reply_bytes)" -eq $REPLY ] || e2e_fail "reply length differs: $out"
total=$(echo "$out" | jq .reply_total)

# The relay hands its counts to the control thread every second.
for _ in $(seq 30); do
	edges=$(e2e_ctl edges)
	e=$(echo "$edges" | jq -c '[.edges[] | select(.path == "agent" and .service.name == "sink")] | .[0] // empty')
	[ -n "$e" ] && [ "$(echo "$e" | jq .connections_closed)" -ge 1 ] && break
	sleep 0.2
done
[ -n "$e" ] || e2e_fail "no agent-path edge to sink: $edges"
e2e_log "edge: $e"
[ "$(echo "$e" | jq -r .source.app)" = client ] || e2e_fail "edge source is not the client: $e"
[ "$(echo "$e" | jq -r .destination.app)" = sink ] || e2e_fail "edge destination is not sink: $e"
[ "$(echo "$e" | jq .connections_opened)" -eq 1 ] || e2e_fail "expected 1 connection: $e"
[ "$(echo "$e" | jq .bytes_sent)" -eq $SENT ] || e2e_fail "bytes_sent != $SENT: $e"
[ "$(echo "$e" | jq .bytes_received)" -eq "$total" ] || e2e_fail "bytes_received != $total: $e"
# No kernel-path edge for the same flow: the client->agent socket is not counted twice.
n=$(echo "$edges" | jq '[.edges[] | select(.path == "kernel" and .destination.app == "sink")] | length')
[ "$n" -eq 0 ] || e2e_fail "the relayed flow was also counted on the kernel path: $edges"
e2e_log "ok"

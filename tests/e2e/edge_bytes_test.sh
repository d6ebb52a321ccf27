#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# weir_edges byte counts equal the bytes actually sent, on the kernel path: a mesh client
# through a Service (counted at the client, reporter "source"), and a client outside the
# mesh connecting to a mesh Pod directly (counted at the server, source unknown). Checked
# with sk_msg splicing on (same-node Pods) and off.
. "$(dirname "$0")/lib.sh"
e2e_init edgeb
e2e_node
e2e_pod srv 198.18.1.11
e2e_pod client 198.18.1.20
e2e_pod outsider 198.18.1.21
{
	e2e_pod_yaml srv 198.18.1.11 sink v1 1
	e2e_pod_yaml client 198.18.1.20 client v1 1
	e2e_pod_yaml outsider 198.18.1.21 outsider v1 1 | sed 's/labels: {app: outsider, version: v1}/labels: {app: outsider, version: v1, istio.io\/dataplane-mode: none}/'
	cat <<YAML
apiVersion: v1
kind: Service
metadata: {name: sink, namespace: default}
spec:
  clusterIP: 198.19.0.30
  selector: {app: sink}
  ports: [{name: tcp, port: 9000, targetPort: 8080}]
YAML
} >"$E2E_TMP/config/app.yaml"
REPLY=300000
e2e_run srv env REPLY_BYTES=$REPLY "$E2E_PY" "$E2E_DIR/tcpsrv.py" sink 8080

edge_of() { # jq filter on edges -> first match
	e2e_ctl edges | jq -c "[.edges[] | select($1)] | .[0] // empty"
}

check_run() { # label, agent flags...
	local label=$1 sent1=1000000 sent2=777777 sent3=4242 out e total=0 t
	shift
	e2e_agent "$@"
	sleep 0.3
	for s in $sent1 $sent2; do
		out=$(e2e_exec client "$E2E_PY" "$E2E_DIR/tcpcli.py" send 198.19.0.30 9000 $s)
		[ "$(echo "$out" | jq -r .sha)" = "$(echo "$out" | jq -r .server_sha)" ] || e2e_fail "$label: corrupted: $out"
		total=$((total + $(echo "$out" | jq .reply_total)))
	done
	out=$(e2e_exec outsider "$E2E_PY" "$E2E_DIR/tcpcli.py" send 198.18.1.11 8080 $sent3)
	t3=$(echo "$out" | jq .reply_total)
	e2e_wait_edges '([.[] | select(.path == "kernel" and .source.app == "client" and .destination.app == "sink") | .connections_closed] | add // 0) >= 2 and
		([.[] | select(.path == "kernel" and .source.id == 0 and .destination.app == "sink") | .connections_closed] | add // 0) >= 1' ||
		e2e_fail "$label: the closes were not counted in 10 s: $(e2e_ctl edges)"
	e=$(edge_of '.path == "kernel" and .source.app == "client" and .destination.app == "sink"')
	e2e_log "$label client edge: $e"
	[ -n "$e" ] || e2e_fail "$label: no client->sink kernel edge: $(e2e_ctl edges)"
	[ "$(echo "$e" | jq .connections_opened)" -eq 2 ] || e2e_fail "$label: opened != 2: $e"
	[ "$(echo "$e" | jq .connections_closed)" -eq 2 ] || e2e_fail "$label: closed != 2: $e"
	[ "$(echo "$e" | jq .bytes_sent)" -eq $((sent1 + sent2)) ] || e2e_fail "$label: bytes_sent != $((sent1 + sent2)): $e"
	[ "$(echo "$e" | jq .bytes_received)" -eq $total ] || e2e_fail "$label: bytes_received != $total: $e"
	[ "$(echo "$e" | jq -r .service.name)" = sink ] || e2e_fail "$label: service is not sink: $e"
	e=$(edge_of '.path == "kernel" and .source.id == 0 and .destination.app == "sink"')
	e2e_log "$label outsider edge: $e"
	[ -n "$e" ] || e2e_fail "$label: no unknown->sink edge"
	[ "$(echo "$e" | jq .connections_opened)" -eq 1 ] || e2e_fail "$label: outsider opened != 1: $e"
	[ "$(echo "$e" | jq .bytes_sent)" -eq $sent3 ] || e2e_fail "$label: outsider bytes_sent != $sent3: $e"
	[ "$(echo "$e" | jq .bytes_received)" -eq "$t3" ] || e2e_fail "$label: outsider bytes_received != $t3: $e"
	e2e_agent_stop
}

check_run splice
# Fresh pins for the second run: the counters must start from zero again.
"$BUILD/weir-agent" --uninstall --bpffs-dir "$E2E_BPFFS" >/dev/null
check_run nosplice --no-splice
e2e_log "ok"

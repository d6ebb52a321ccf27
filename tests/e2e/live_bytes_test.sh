#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Bytes of open connections reach weir_edges while the connections live (--flush-interval):
# a mesh client through a Service (counted at the client) and a client outside the mesh
# (counted at the server) each hold one connection that carries bytes in steps; the edges
# grow between the steps and end exact at the close. With --flush-interval 0 the same
# edges stay at zero bytes until the close, which shows it is the flush that moves them.
# Splicing is off where the flush is checked (sk_msg counts spliced bytes on its own) and
# on in a last run that checks that flush and splice do not count anything twice.
. "$(dirname "$0")/lib.sh"
# Pod addresses no other e2e test uses: the agent finds a Pod's netns by its address, and
# tests of other runs may be up at the same time.
e2e_init live
e2e_node
e2e_pod srv 198.18.1.71
e2e_pod client 198.18.1.72
e2e_pod outsider 198.18.1.73
{
	e2e_pod_yaml srv 198.18.1.71 echo v1 1
	e2e_pod_yaml client 198.18.1.72 client v1 1
	e2e_pod_yaml outsider 198.18.1.73 outsider v1 1 | sed 's/labels: {app: outsider, version: v1}/labels: {app: outsider, version: v1, istio.io\/dataplane-mode: none}/'
	cat <<YAML
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: default}
spec:
  clusterIP: 198.19.0.31
  selector: {app: echo}
  ports: [{name: tcp, port: 9000, targetPort: 8080}]
YAML
} >"$E2E_TMP/config/app.yaml"
e2e_run srv "$E2E_PY" "$E2E_DIR/tcpsrv.py" echo 8080

# One connection, STEPS chunks of CHUNK bytes, each echoed back, PAUSE seconds apart.
cat >"$E2E_TMP/hold.py" <<'PY'
import json, socket, sys, time
host, port, steps, chunk, pause = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
c = socket.create_connection((host, port), timeout=30)
data = bytes(range(251)) * (chunk // 251 + 1)
sent = rcvd = 0
for i in range(steps):
    time.sleep(pause)
    c.sendall(data[:chunk])
    sent += chunk
    while rcvd < sent:
        b = c.recv(65536)
        if not b:
            sys.exit("early EOF")
        rcvd += len(b)
time.sleep(pause)
c.close()
print(json.dumps({"sent": sent, "rcvd": rcvd}))
PY

edge_of() { # jq filter on edges -> first match
	e2e_ctl edges | jq -c "[.edges[] | select($1)] | .[0] // empty"
}

SEL_CLIENT='.path == "kernel" and .source.app == "client" and .destination.app == "echo"'
SEL_OUTSIDER='.path == "kernel" and .source.id == 0 and .destination.app == "echo"'

# check_run LABEL FLUSH(0|1) AGENT-FLAGS...: both clients at once; samples the edges while open.
check_run() {
	local label=$1 flush=$2 cpid opid i e s m seen_c="" seen_o="" out max_open=0
	shift 2
	e2e_agent "$@"
	sleep 0.3
	e2e_run client "$E2E_PY" "$E2E_TMP/hold.py" 198.19.0.31 9000 4 250001 1.2
	cpid=$E2E_LAST_PID
	e2e_run outsider "$E2E_PY" "$E2E_TMP/hold.py" 198.18.1.71 8080 4 70001 1.2
	opid=$E2E_LAST_PID
	# Samples only while the edge says the connection is open (connections_closed 0).
	for i in $(seq 80); do
		kill -0 "$cpid" 2>/dev/null || kill -0 "$opid" 2>/dev/null || break
		e=$(e2e_ctl edges)
		s=$(echo "$e" | jq -r "[.edges[] | select($SEL_CLIENT) | select(.connections_closed == 0) | .bytes_sent] | .[0] // empty")
		[ -n "$s" ] && seen_c="$seen_c $s"
		s=$(echo "$e" | jq -r "[.edges[] | select($SEL_OUTSIDER) | select(.connections_closed == 0) | .bytes_sent] | .[0] // empty")
		[ -n "$s" ] && seen_o="$seen_o $s"
		# The agent's own flush metrics, while both connections are open.
		m=$(e2e_node_curl /metrics | awk '$1 == "weir_agent_flush_open_connections" { print $2 }')
		[ -n "$m" ] && [ "$m" -gt "$max_open" ] && max_open=$m
		sleep 0.25
	done
	wait "$cpid" || e2e_fail "$label: client failed: $(tail -3 "$E2E_TMP/logs/client.log")"
	wait "$opid" || e2e_fail "$label: outsider failed: $(tail -3 "$E2E_TMP/logs/outsider.log")"
	e2e_log "$label: client bytes_sent while open:$seen_c"
	e2e_log "$label: outsider bytes_sent while open:$seen_o"
	if [ "$flush" -gt 0 ]; then
		# The client's and the server's socket (outsider) are both counted open connections.
		[ "$max_open" -ge 2 ] || e2e_fail "$label: /metrics showed $max_open open connections flushed"
	else
		[ "$max_open" -eq 0 ] || e2e_fail "$label: flushes ran with --flush-interval 0"
	fi
	check_seen "$label client" "$flush" 1000004 $seen_c
	check_seen "$label outsider" "$flush" 280004 $seen_o
	e2e_wait_edges "([.[] | select($SEL_CLIENT) | .connections_closed] | add // 0) >= 1 and
		([.[] | select($SEL_OUTSIDER) | .connections_closed] | add // 0) >= 1" ||
		e2e_fail "$label: the closes were not counted in 10 s"
	check_final "$label client" "$SEL_CLIENT" "$(tail -1 "$E2E_TMP/logs/client.log")"
	check_final "$label outsider" "$SEL_OUTSIDER" "$(tail -1 "$E2E_TMP/logs/outsider.log")"
	e2e_agent_stop
	# Fresh pins for the next run: the counters must start from zero again.
	"$BUILD/weir-agent" --uninstall --bpffs-dir "$E2E_BPFFS" >/dev/null
}

# check_seen LABEL FLUSH TOTAL SAMPLES...: with a flush, at least two different non-zero
# values below the total (growth while open); without, zero throughout.
check_seen() {
	local label=$1 flush=$2 total=$3 v distinct
	shift 3
	[ $# -gt 3 ] || e2e_fail "$label: only $# samples while open"
	if [ "$flush" -eq 0 ]; then
		for v in "$@"; do
			[ "$v" -eq 0 ] || e2e_fail "$label: $v bytes while open with --flush-interval 0"
		done
		return
	fi
	distinct=$(printf '%s\n' "$@" | awk -v t="$total" '$1 > 0 && $1 < t' | sort -un | wc -l)
	[ "$distinct" -ge 2 ] || e2e_fail "$label: bytes did not grow while open: $*"
	printf '%s\n' "$@" | sort -n -c 2>/dev/null || e2e_fail "$label: bytes went down: $*"
}

# check_final LABEL SELECTOR CLIENT-JSON: one connection, closed, bytes exact both ways.
check_final() {
	local label=$1 sel=$2 out=$3 e
	e=$(edge_of "$sel")
	e2e_log "$label edge: $e (client: $out)"
	[ -n "$e" ] || e2e_fail "$label: no edge: $(e2e_ctl edges)"
	[ "$(echo "$e" | jq .connections_opened)" -eq 1 ] || e2e_fail "$label: opened != 1: $e"
	[ "$(echo "$e" | jq .connections_closed)" -eq 1 ] || e2e_fail "$label: closed != 1: $e"
	[ "$(echo "$e" | jq .bytes_sent)" -eq "$(echo "$out" | jq .sent)" ] || e2e_fail "$label: bytes_sent: $e vs $out"
	[ "$(echo "$e" | jq .bytes_received)" -eq "$(echo "$out" | jq .rcvd)" ] || e2e_fail "$label: bytes_received: $e vs $out"
}

check_run noflush 0 --no-splice --flush-interval 0
check_run flush 1 --no-splice --flush-interval 1
check_run splice 1 --flush-interval 1
e2e_log "ok"

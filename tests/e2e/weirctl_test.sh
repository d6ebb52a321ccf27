#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# weirctl against a real datapath: the agent pins its maps and links for a Service with
# two backends and a client Pod, real connections go through the VIP, and every noun's
# JSON is checked against what the YAML and the traffic put there: first with the agent
# up, then with the agent stopped (weirctl reads the pins, not the agent). Also the
# exit statuses: bad usage 2, missing pins 1 with the path named.
. "$(dirname "$0")/lib.sh"

CTL=$BUILD/weirctl
[ -x "$CTL" ] || e2e_skip "$CTL not built"
command -v jq >/dev/null || e2e_skip "jq not installed"

# expect_rc RC PATTERN CMD...: CMD exits RC and its stderr matches PATTERN.
expect_rc() {
	local want=$1 pat=$2 rc=0 err
	shift 2
	err=$("$@" 2>&1 >/dev/null) || rc=$?
	[ "$rc" -eq "$want" ] || e2e_fail "'$*' exited $rc, not $want: $err"
	[[ $err == *"$pat"* ]] || e2e_fail "'$*': message lacks '$pat': $err"
}

# --- usage and missing pins: no datapath needed -------------------------------------
expect_rc 2 "unknown command 'frobnicate'" "$CTL" frobnicate
expect_rc 2 "" "$CTL"
expect_rc 2 "not json, text or dot" "$CTL" -o yaml status
expect_rc 2 "unexpected argument" "$CTL" pods extra
expect_rc 2 "for 'graph' only" "$CTL" services -o dot
expect_rc 2 "map dump NAME" "$CTL" map list
expect_rc 2 "--window" "$CTL" graph --window 2m
expect_rc 2 "not a pin name" "$CTL" map dump ../etc
"$CTL" help | grep -q 'map dump NAME' || e2e_fail "weirctl help does not list map dump"
"$CTL" graph help | grep -q -- '--window' || e2e_fail "weirctl graph help lacks --window"

e2e_init ctl
missing=$E2E_TMP/no-such-dir
expect_rc 1 "$missing" "$CTL" --bpffs-dir "$missing" status
expect_rc 1 "$missing/weir_services" "$CTL" --bpffs-dir "$missing" services -o json
expect_rc 1 "$missing/weir_edges" "$CTL" --bpffs-dir "$missing" graph --window 0
mkdir "$E2E_TMP/bpffs/empty"
expect_rc 1 "no weir pins under $E2E_TMP/bpffs/empty" "$CTL" --bpffs-dir "$E2E_TMP/bpffs/empty" status

# --- a node with a Service and a client ---------------------------------------------
e2e_node
e2e_pod a 198.18.1.11
e2e_pod b 198.18.1.12
e2e_pod client 198.18.1.20
{
	e2e_pod_yaml be-a 198.18.1.11 backend va 1
	e2e_pod_yaml be-b 198.18.1.12 backend vb 3
	e2e_pod_yaml client 198.18.1.20 client v1 1
	cat <<YAML
apiVersion: v1
kind: Service
metadata: {name: backend, namespace: default}
spec:
  clusterIP: 198.19.0.10
  selector: {app: backend}
  ports: [{name: tcp-who, port: 80, targetPort: 8080}]
YAML
} >"$E2E_TMP/config/app.yaml"
e2e_run a "$E2E_PY" "$E2E_DIR/tcpsrv.py" who a 8080
e2e_run b "$E2E_PY" "$E2E_DIR/tcpsrv.py" who b 8080
e2e_agent
sleep 0.5

# weirctl as an operator runs it on the node: in the node netns, where the admin API is.
ctl_node() {
	nsenter --net="/run/netns/$E2E_NODE" "$CTL" --bpffs-dir "$E2E_BPFFS" -o json "$@"
}

# Waits (bounded) for the agent's first sync to reach the maps.
for _ in $(seq 50); do
	n=$(e2e_ctl services | jq '[.services[] | select(.name == "backend")] | length')
	[ "$n" -ge 1 ] && break
	sleep 0.1
done

check_services() { # label
	local svc
	svc=$(e2e_ctl services)
	echo "$svc" | jq -e '[.services[] | select(.namespace == "default" and .name == "backend"
		and .known and .vip == "198.19.0.10" and .port == 80 and .protocol == "tcp"
		and .mode == "kernel" and (.id | type == "number") and .id > 0)] | length == 1' \
		>/dev/null || e2e_fail "$1: services lacks default/backend 198.19.0.10:80/tcp: $svc"
	echo "$svc" | jq -e '[.services[] | select(.name == "backend") | .backends[]
		| select(.port == 8080 and .healthy and .workload.app == "backend")
		| .ip] | sort == ["198.18.1.11", "198.18.1.12"]' >/dev/null ||
		e2e_fail "$1: backends are not 198.18.1.11/12:8080 of app backend: $svc"
	echo "$svc" | jq -e '[.services[] | select(.name == "backend") | .backends[]
		| {(.ip): .weight}] | add == {"198.18.1.11": 1, "198.18.1.12": 3}' >/dev/null ||
		e2e_fail "$1: backend weights are not 1 and 3 from the YAML: $svc"
}

check_pods() { # label
	local pods
	pods=$(e2e_ctl pods)
	echo "$pods" | jq -e '[.pods[] | .ip] | sort == ["198.18.1.11", "198.18.1.12", "198.18.1.20"]' \
		>/dev/null || e2e_fail "$1: enrolled Pods are not a, b and client: $pods"
	echo "$pods" | jq -e 'all(.pods[]; (.cookie | test("^0x[0-9a-f]+$")) and .workload.known
		and .workload.namespace == "default" and (.workload.id > 0))' >/dev/null ||
		e2e_fail "$1: a Pod lacks its cookie or workload: $pods"
	echo "$pods" | jq -e '[.pods[] | select(.ip == "198.18.1.20") | .workload
		| select(.app == "client" and .version == "v1" and .service_account == "client")]
		| length == 1' >/dev/null || e2e_fail "$1: client Pod's names are wrong: $pods"
}

check_map_dump() { # label
	local d n
	d=$(e2e_ctl map dump weir_services)
	echo "$d" | jq -e '.map == "weir_services" and .decoded and ([.entries[]
		| select(.key.vip == "198.19.0.10" and .key.port == 80 and .key.protocol == "tcp"
		  and (.value.backends | length) == 2 and .value.mode == "kernel")] | length == 1)' \
		>/dev/null || e2e_fail "$1: map dump weir_services does not decode the Service: $d"
	# The dump and the noun read the same map: same number of Pods.
	n=$(e2e_ctl map dump weir_netns | jq '.entries | length')
	[ "$n" -eq "$(e2e_ctl pods | jq '.pods | length')" ] ||
		e2e_fail "$1: map dump weir_netns has $n entries, pods another number"
	d=$(e2e_ctl map dump weir_wl_info)
	echo "$d" | jq -e '[.entries[] | select(.value.app == "backend") | .value.version] | sort
		== ["va", "vb"]' >/dev/null || e2e_fail "$1: weir_wl_info dump lacks backend va/vb: $d"
	d=$(e2e_ctl map dump weir_ips)
	echo "$d" | jq -e '[.entries[] | select(.key.ip == "198.18.1.20") | .value
		| select(.workload.app == "client" and (.flags | index("local")))] | length == 1' \
		>/dev/null || e2e_fail "$1: weir_ips dump lacks the client's address: $d"
	# Every walkable map of the ABI decodes: the sizes the real datapath pinned are the
	# ones weirctl's decoders expect.
	for m in weir_netns weir_ips weir_services weir_wl_info weir_svc_info weir_edges \
		weir_origdst weir_peers weir_sockhash weir_deny weir_reasons; do
		e2e_ctl map dump "$m" | jq -e --arg m "$m" '.map == $m and .decoded' >/dev/null ||
			e2e_fail "$1: map dump $m is not decoded"
	done
	# sk_storage cannot be walked from user space: a clear failure, not an empty list.
	expect_rc 1 "cannot be read from user space" e2e_ctl map dump weir_sockstate
	expect_rc 1 "$E2E_BPFFS/weir_nonesuch" e2e_ctl map dump weir_nonesuch
}

check_status() { # label, agent expected up (1/0)
	local st
	st=$(ctl_node status)
	echo "$st" | jq -e --arg d "$E2E_BPFFS" '.bpffs_dir == $d' >/dev/null ||
		e2e_fail "$1: status names another bpffs dir: $st"
	echo "$st" | jq -e '[.maps[] | select(.present) | .name] | sort == ["weir_deny",
		"weir_edges", "weir_ips", "weir_netns", "weir_origdst", "weir_peers", "weir_reasons",
		"weir_services", "weir_sockhash", "weir_sockstate", "weir_svc_info", "weir_wl_info"]' \
		>/dev/null || e2e_fail "$1: not every map of the ABI is present: $st"
	echo "$st" | jq -e '(.maps[] | select(.name == "weir_services") | .entries >= 1) and
		(.maps[] | select(.name == "weir_netns") | .entries == 3) and
		(.maps[] | select(.name == "weir_sockstate") | .entries == null) and
		(.maps[] | select(.name == "weir_reasons") | .type == "percpu_array")' >/dev/null ||
		e2e_fail "$1: map entry counts are wrong: $st"
	echo "$st" | jq -e '[.links[] | select(.present and .prog_id > 0 and
		(.prog_name | type == "string" and length > 0)) | .name] | sort == ["link_connect4",
		"link_getpeername4", "link_getsockopt", "link_sockops"]' >/dev/null ||
		e2e_fail "$1: the 4 link pins are not all present with their programs: $st"
	echo "$st" | jq -e '[.reasons[] | select(.hook == "connect4" and .reason == "lb_kernel")
		| .count] | add >= 20' >/dev/null ||
		e2e_fail "$1: the 20 balanced connects are not in the reason counters: $st"
	if [ "$2" -eq 1 ]; then
		echo "$st" | jq -e '.agent != null and .agent_error == null' >/dev/null ||
			e2e_fail "$1: the agent's /status is missing: $st"
	else
		echo "$st" | jq -e '.agent == null and (.agent_error | type == "string")' >/dev/null ||
			e2e_fail "$1: status claims an agent that is down: $st"
	fi
}

check_edges() { # label
	local edges n
	edges=$(e2e_ctl edges)
	n=$(echo "$edges" | jq '[.edges[] | select(.path == "kernel" and .source.app == "client"
		and .destination.app == "backend" and .service.name == "backend"
		and .dport == 8080 and .protocol == "tcp") | .connections_opened] | add // 0')
	[ "$n" -eq 20 ] || e2e_fail "$1: client->backend kernel edges opened $n, not 20: $edges"
}

check_graph() { # label
	local g
	g=$(e2e_ctl graph --window 0)
	echo "$g" | jq -e '(.nodes | has("client") and has("backend")) and ([.edges[]
		| select(.source == "client" and .target == "backend") | .labels.version]
		| length >= 1 and (. - ["va", "vb"] == [])) and all(.edges[]; .labels.qps | test("^[0-9]+\\.[0-9]{6}$"))' \
		>/dev/null || e2e_fail "$1: graph lacks client -> backend: $g"
	e2e_ctl graph --window 0 -o dot >"$E2E_TMP/g.dot"
	grep -q '"client" -> "backend"' "$E2E_TMP/g.dot" || e2e_fail "$1: DOT lacks the edge"
	if command -v dot >/dev/null; then
		dot -Tsvg "$E2E_TMP/g.dot" >/dev/null || e2e_fail "$1: Graphviz rejects the DOT output"
	fi
}

# --- with the agent up --------------------------------------------------------------
out=$(e2e_exec client "$E2E_PY" "$E2E_DIR/tcpcli.py" who 198.19.0.10 80 20)
[ "$(echo "$out" | jq .errors)" -eq 0 ] || e2e_fail "connections through the VIP failed: $out"
sleep 0.3
check_services up
check_pods up
check_map_dump up
check_status up 1
check_edges up
check_graph up

# Rates over a window: 30 connections inside a 3 s window give about 10 qps.
ctl_node graph --window 3s >"$E2E_TMP/rate.json" &
gpid=$!
E2E_PIDS+=("$gpid")
sleep 0.5
out=$(e2e_exec client "$E2E_PY" "$E2E_DIR/tcpcli.py" who 198.19.0.10 80 30)
[ "$(echo "$out" | jq .errors)" -eq 0 ] || e2e_fail "connections in the window failed: $out"
wait "$gpid" || e2e_fail "weirctl graph --window 3s failed"
q=$(jq '[.edges[] | select(.source == "client" and .target == "backend") | .labels.qps
	| tonumber] | add * 3' "$E2E_TMP/rate.json")
e2e_log "connections seen in the window: $q (30 made)"
jq -e --argjson q "$q" -n '$q >= 27 and $q <= 31' >/dev/null ||
	e2e_fail "graph rate: $q connections over the window, not about 30: $(cat "$E2E_TMP/rate.json")"

# --- agent stopped: the pins still answer -------------------------------------------
# lib.sh's $! is the shell that wraps the agent: stop the agent itself, the one process in
# its cgroup, by pid, and wait (bounded) until it is gone.
apid=$(head -1 "$E2E_CG/agent/cgroup.procs")
[ -n "$apid" ] || e2e_fail "no agent process in $E2E_CG/agent"
kill "$apid"
for _ in $(seq 100); do kill -0 "$apid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$apid" 2>/dev/null && e2e_fail "the agent (pid $apid) did not stop on SIGTERM"
wait "$E2E_AGENT_PID" 2>/dev/null || true # the wrapper, gone with the agent
E2E_AGENT_PID=
out=$(e2e_exec client "$E2E_PY" "$E2E_DIR/tcpcli.py" who 198.19.0.10 80 10)
[ "$(echo "$out" | jq .errors)" -eq 0 ] || e2e_fail "the datapath stopped with the agent: $out"
sleep 0.3
check_services down
check_pods down
check_map_dump down
check_status down 0
e2e_ctl edges | jq -e '[.edges[] | select(.path == "kernel" and .source.app == "client"
	and .destination.app == "backend") | .connections_opened] | add == 60' >/dev/null ||
	e2e_fail "edges with the agent down do not count all 60 connections: $(e2e_ctl edges)"
check_graph down
# Text output exists for people (never parsed beyond "it ran").
for c in status pods services edges "graph --window 0" "map dump weir_edges"; do
	# shellcheck disable=SC2086
	"$CTL" --bpffs-dir "$E2E_BPFFS" --admin '' $c >/dev/null || e2e_fail "text output of '$c' failed"
done
e2e_log "ok"

#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# bench/run.sh quick|full: weir against a direct connection, a per-node proxy mesh and a sidecar
# mesh (HAProxy stand-ins), side by side on simulated nodes (tools/sim/weir-sim), one node and
# two nodes. Every round runs every configuration once, in a fresh random order, with the same
# CPU placement; the report (bench/lib/report.py) takes medians and min-max over rounds.
# quick: 2 short rounds, report under $BUILD/bench-quick/, fails only if a configuration cannot
# carry traffic at all. full: 5 rounds, report in bench/results/<date>.{md,json}.
# See bench/README.md for what is measured and how to read it.
set -euo pipefail

MODE=${1:-quick}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
LOAD=$BUILD/weir-load
SIM=$ROOT/tools/sim/weir-sim
PY=/usr/bin/python3
CONF=$ROOT/bench/configs

case $MODE in
quick) ROUNDS=2 DUR=0.2 MAXDUR=0.2 BULK=1 BULK_ROUNDS=1 IDLE=100 HOLD=0.5 SETTLE=0.3 WARM=0
	H2RUN=(-n 2000) L7TESTS="r16 max h2" L7KTESTS="r16" NROUTES=${BENCH_NROUTES:-1000}
	OUT=$BUILD/bench-quick ;;
full) ROUNDS=${BENCH_ROUNDS:-5} DUR=2 MAXDUR=1 BULK=1 BULK_ROUNDS=$ROUNDS IDLE=1000 HOLD=5 SETTLE=3 WARM=0.5
	H2RUN=(-D 2 --warm-up-time 300ms) L7TESTS="r4 r16 max cpr h2" L7KTESTS="r4 r16 max h2"
	NROUTES=${BENCH_NROUTES:-10000} OUT=$ROOT/bench/results ;;
*) echo "usage: bench/run.sh quick|full" >&2; exit 2 ;;
esac
TOPOS=${BENCH_TOPOS:-"1n 2n"}
RATE=1000
# The L7 rows route on this header: every request of every configuration carries it, so that
# direct and the meshes see the same bytes.
HEADER="x-bench: l7"
# Routes that do not match ahead of the one that does: the L7 rows' VirtualService and HAProxy
# ACLs have 10 routes in all; the weir-l7-10k row's VirtualService has NROUTES + 1 (10,000 in
# full; 1,000 in quick, whose simulator would spend 10 s more per topology parsing 10,000).
# HTTP/2 (h2load, h2c prior knowledge): connections and concurrent streams on each.
H2_CONNS=4
H2_STREAMS=10
# CPU placement, the same for every configuration: the load generator on CPU 0, the servers on
# CPU 1, the mesh (agent or HAProxy) free on both, as a node daemon would be.
CPU_CLIENT=0
CPU_SERVER=1
CPU_MESH=0,1

[ "$(id -u)" = 0 ] || { echo "bench: must run as root (namespaces, cgroups, BPF)" >&2; exit 2; }
for t in "$LOAD" "$BUILD/weir-agent"; do
	[ -x "$t" ] || { echo "bench: $t is not built (make BUILD=$BUILD all)" >&2; exit 2; }
done
for t in haproxy iperf3 iptables openssl jq nsenter taskset h2load; do
	command -v $t >/dev/null || { echo "bench: $t is missing (tools/deps.sh all)" >&2; exit 2; }
done

TMP=$(mktemp -d /tmp/weir-bench.XXXXXX)
# Logs of the agents and proxies outlive the run (they explain a broken row), under $BUILD.
LOGDIR=$BUILD/bench-logs
rm -rf "$LOGDIR" && mkdir -p "$LOGDIR"
RAW=$TMP/raw.jsonl
CG2=$(awk '$0 ~ / - cgroup2 / { print $5; exit }' /proc/self/mountinfo)
SIMNAME=
declare -a MYPIDS=() MYCGS=() IPT_NS=()
AGENT_FLAGS=

T0=$(date +%s)
log() { printf 'bench: [%3ds] %s\n' $(($(date +%s) - T0)) "$*" >&2; }

# alive PID: runs and is not a zombie.
alive() {
	local st
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# mine PID: is PID still a child of this script (not a pid the system reused since)?
mine() { [ "$(awk '{ print $4 }' "/proc/$1/stat" 2>/dev/null)" = $$ ]; }

# --- cleanup: everything this run made, whatever happened ---------------------------------------
cleanup() {
	local rc=$? p c ns
	set +e
	for p in "${MYPIDS[@]}"; do mine "$p" && kill "$p" 2>/dev/null; done
	for p in "${MYPIDS[@]}"; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do mine "$p" || break; sleep 0.1; done
		mine "$p" && kill -9 "$p" 2>/dev/null
	done
	for ns in "${IPT_NS[@]}"; do
		ip netns exec "$ns" iptables -w -t nat -F 2>/dev/null
	done
	for c in "${MYCGS[@]}"; do rmdir "$c" 2>/dev/null; done
	[ -n "$SIMNAME" ] && "$SIM" down --name "$SIMNAME" >/dev/null 2>&1
	if [ $rc -ne 0 ]; then
		for f in "$LOGDIR"/*.log "$TMP"/*.log "$TMP"/load.err; do
			[ -s "$f" ] && { log "--- ${f##*/}"; tail -5 "$f" >&2; }
		done
	fi
	rm -rf "$TMP"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- helpers ------------------------------------------------------------------------------------
ST=   # the simulator's status JSON of the current topology

# Lookups in the status JSON, cached: a run makes thousands and jq is a process each time.
declare -A STC
st_get() { # st_get pods|nodes NAME FIELD
	local k="$1/$2/$3"
	[ -n "${STC[$k]+x}" ] || STC[$k]=$(jq -r --arg n "$2" ".$1[] | select(.name == \$n) | .$3" <<<"$ST")
	printf '%s\n' "${STC[$k]}"
}
pod() { st_get pods "$1" "$2"; }
node() { st_get nodes "$1" "$2"; }
vip() { jq -r --arg n "$1" '.services[] | select(.name == $n) | .vip' <<<"$ST"; }

# podexec POD CMD...: CMD in the Pod's netns and cgroup (as `weir-sim exec` does), on the client
# CPU. The socket hooks only see processes in the Pod's cgroup, so joining it is required.
podexec() {
	local p=$1
	shift
	sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$(pod "$p" cgroup)" \
		nsenter --net="/run/netns/$(pod "$p" netns)" -- taskset -c $CPU_CLIENT "$@"
}

# spawn CGROUP NETNS LOG CMD...: a long-lived process in its own session, placed in CGROUP and
# NETNS; its pid is recorded for cleanup and left in $SPAWNED.
spawn() {
	local cg=$1 ns=$2 logf=$3
	shift 3
	setsid sh -c 'ulimit -n "$(ulimit -Hn)"; echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$cg" \
		nsenter --net="/run/netns/$ns" -- "$@" </dev/null >>"$logf" 2>&1 &
	SPAWNED=$!
	MYPIDS+=("$SPAWNED")
}

mkcg() { mkdir -p "$1" && MYCGS=("$1" "${MYCGS[@]}"); }
cg_usage() { # the summed usage_usec of the cgroups given
	local t=0 c v
	for c in "$@"; do
		v=$(awk '$1 == "usage_usec" { print $2 }' "$c/cpu.stat")
		t=$((t + v))
	done
	echo $t
}
rss_kb() { # the summed VmRSS of the pids given
	local t=0 p v
	for p in "$@"; do
		v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)
		t=$((t + ${v:-0}))
	done
	echo $t
}

wait_tcp() { # wait_tcp NETNS IP PORT: until something accepts there (10 s at most)
	local i
	for i in $(seq 100); do
		nsenter --net="/run/netns/$1" -- bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null && return 0
		sleep 0.1
	done
	log "nothing listens on $2:$3 in $1"
	return 1
}

# --- the weir agent: restarted with the flags a configuration needs -----------------------------
declare -A AGENT_PID AGENT_ARGS
agent_capture() { # the simulator's agent command line per node, reused on every restart
	local n pid
	for n in $NODES; do
		pid=$(node "$n" agent.pid)
		AGENT_PID[$n]=$pid
		AGENT_ARGS[$n]=$(tr '\0' '\n' <"/proc/$pid/cmdline")
	done
	AGENT_FLAGS=sim-default
}

agent_restart() { # agent_restart FLAGS: every node's agent, --workers 1 plus FLAGS
	local flags=$1 n pid i t0
	[ "$AGENT_FLAGS" = "$flags" ] && return 0
	t0=$(date +%s%N)
	# All nodes at once: an agent takes a second or two to stop.
	# Only a live agent is signalled, and after the first restart only our own child: a pid
	# that died may have been reused since.
	for n in $NODES; do
		pid=${AGENT_PID[$n]}
		if alive "$pid" && { [ "$AGENT_FLAGS" = sim-default ] || mine "$pid"; }; then
			kill "$pid" 2>/dev/null || true
		fi
	done
	for n in $NODES; do
		pid=${AGENT_PID[$n]}
		for i in $(seq 200); do alive "$pid" || break; sleep 0.05; done
		alive "$pid" && { log "agent $pid on $n does not stop"; return 1; }
		local -a args
		mapfile -t args <<<"${AGENT_ARGS[$n]}"
		# shellcheck disable=SC2086
		spawn "$(node "$n" cgroup)/agent" "$(node "$n" netns)" "$LOGDIR/agent-$n.log" \
			taskset -c $CPU_MESH "${args[@]}" --workers 1 $flags
		AGENT_PID[$n]=$SPAWNED
	done
	for n in $NODES; do
		for i in $(seq 200); do
			nsenter --net="/run/netns/$(node "$n" netns)" -- curl -sf -o /dev/null \
				--max-time 1 http://127.0.0.1:15021/healthz/ready && break
			alive "${AGENT_PID[$n]}" || {
				log "weir-agent on $n exited; log:"; tail -5 "$LOGDIR/agent-$n.log" >&2; return 1; }
			sleep 0.05
		done
	done
	# The agent syncs the model to the maps right after it is ready; give it a moment.
	sleep 0.5
	AGENT_FLAGS=$flags
	log "agents restarted with '${flags}' in $((($(date +%s%N) - t0) / 1000000)) ms"
}

# agents_alive: 0 if every node's agent runs; otherwise logs which died and how, and makes the
# next configuration that needs the agent start it again. A weir row measured while its agent
# was dead would be a measurement of fail-open, not of weir, and is flagged in the report.
agents_alive() {
	local n ok=0
	for n in $NODES; do
		alive "${AGENT_PID[$n]}" && continue
		log "weir-agent on $n (pid ${AGENT_PID[$n]}) DIED; last lines of its log:"
		tail -5 "$LOGDIR/agent-$n.log" >&2 || true
		AGENT_FLAGS=dead
		ok=1
	done
	return $ok
}

# --- topology -----------------------------------------------------------------------------------
manifest() { # manifest CLIENT_NODE SERVER_NODE: the four Pods and two Services, as YAML
	local cn=$1 sn=$2 p
	for p in srv:"$sn": srvp:"$sn":none; do
		IFS=: read -r name nd dp <<<"$p"
		cat <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $name
  namespace: default
  labels: {app: $name, version: v1$( [ -n "$dp" ] && echo ", istio.io/dataplane-mode: none")}
spec:
  nodeName: $nd
  containers:
  - name: http
    command: [$LOAD, serve, --listen, "0.0.0.0:8080", --size, "1024", --lifetime, "3600"]
    ports: [{containerPort: 8080}]
  - name: bulk
    command: [/usr/bin/iperf3, -s, -p, "5201"]
    ports: [{containerPort: 5201}]
---
EOF
	done
	for p in cli:"$cn": clip:"$cn":none; do
		IFS=: read -r name nd dp <<<"$p"
		cat <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $name
  namespace: default
  labels: {app: $name$( [ -n "$dp" ] && echo ", istio.io/dataplane-mode: none")}
spec:
  nodeName: $nd
  containers:
  - name: hold
    command: [/bin/sleep, "3600"]
---
EOF
	done
	cat <<EOF
apiVersion: v1
kind: Service
metadata: {name: srv-k, namespace: default}
spec:
  selector: {app: srv}
  ports: [{name: http, port: 8080, targetPort: 8080}, {name: bulk, port: 5201, targetPort: 5201}]
---
apiVersion: v1
kind: Service
metadata: {name: srv-a, namespace: default, annotations: {weir.dev/path: agent}}
spec:
  selector: {app: srv}
  # tcp-: Istio's protocol selection makes this port TCP, so weir-agent stays the L4 relay.
  ports: [{name: tcp-http, port: 8080, targetPort: 8080}, {name: bulk, port: 5201, targetPort: 5201}]
EOF
	l7_yaml srv-l 9
	l7_yaml srv-l10k "$NROUTES"
}

# l7_yaml NAME MISSES: an http Service NAME on srv, its DestinationRule with subsets v1 and v2,
# and a VirtualService with MISSES header-match routes that never match ahead of the one that
# does (x-bench: l7), which splits 50/50 over the two subsets. There is one server Pod: subset
# v1 is {version: v1} and v2 is {app: srv}, both select it. Routing does all its work (match,
# weighted pick, subset endpoints, pooled upstream per cluster) and the server stays the same
# as every other row's. The HAProxy L7 rows split over two server lines to one address likewise.
l7_yaml() {
	cat <<EOF
---
apiVersion: v1
kind: Service
metadata: {name: $1, namespace: default, annotations: {weir.dev/path: agent}}
spec:
  selector: {app: srv}
  ports: [{name: http, port: 8080, targetPort: 8080}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: $1, namespace: default}
spec:
  host: $1.default.svc.cluster.local
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {app: srv}}
---
EOF
	"$PY" - "$1" "$2" <<'PYEOF'
import sys
name, misses = sys.argv[1], int(sys.argv[2])
out = ['apiVersion: networking.istio.io/v1', 'kind: VirtualService',
       f'metadata: {{name: {name}, namespace: default}}', 'spec:', f'  hosts: [{name}]', '  http:']
for i in range(misses):
    out.append(f'  - match: [{{headers: {{x-bench: {{exact: miss-{i}}}}}}}]')
    out.append(f'    route: [{{destination: {{host: {name}, subset: v1}}}}]')
out.append('  - match: [{headers: {x-bench: {exact: l7}}}]')
out.append(f'    route: [{{destination: {{host: {name}, subset: v1}}, weight: 50}}, '
           f'{{destination: {{host: {name}, subset: v2}}, weight: 50}}]')
print('\n'.join(out))
PYEOF
}

fill() { # fill TEMPLATE OUT VAR=VALUE...: @VAR@ substitution
	local in=$1 out=$2 kv s=()
	shift 2
	for kv in "$@"; do s+=(-e "s|@${kv%%=*}@|${kv#*=}|g"); done
	sed "${s[@]}" "$in" >"$out"
}

haproxy_start() { # haproxy_start NAME CGROUP NETNS CFG...: checked, then spawned
	local name=$1 cg=$2 ns=$3
	shift 3
	local -a f=()
	local c
	for c in "$@"; do f+=(-f "$c"); done
	haproxy -c -q "${f[@]}" || { log "HAProxy config $name is invalid"; return 1; }
	mkcg "$cg"
	spawn "$cg" "$ns" "$LOGDIR/haproxy-$name.log" taskset -c $CPU_MESH haproxy -db "${f[@]}"
	HAP_PIDS[$name]=$SPAWNED
}

declare -A HAP_PIDS
topo_up() { # topo_up 1n|2n
	local topo=$1 cn=n1 sn=n1 nn=1 n
	[ "$topo" = 2n ] && sn=n2 nn=2
	NODES=$(seq -f 'n%g' 1 $nn | tr '\n' ' ')
	SIMNAME=wbench-$topo-$$
	manifest $cn $sn >"$TMP/manifest-$topo.yaml"
	log "topology $topo: weir-sim up ($nn node(s))"
	BUILD=$BUILD "$SIM" up "$TMP/manifest-$topo.yaml" --nodes $nn --name "$SIMNAME" --build "$BUILD" \
		>"$TMP/sim-$topo.log" 2>&1 || { cat "$TMP/sim-$topo.log" >&2; return 1; }
	ST=$("$SIM" status --name "$SIMNAME" -o json)
	STC=()
	local k v
	while IFS=$'\t' read -r k v; do STC[$k]=$v; done < <(jq -r '
		(.pods[] | . as $p | ("ip", "netns", "cgroup") | "pods/\($p.name)/\(.)\t\($p[.])"),
		(.nodes[] | . as $n | ("ip", "netns", "cgroup") | "nodes/\($n.name)/\(.)\t\($n[.])"),
		(.nodes[] | "nodes/\(.name)/agent.pid\t\(.agent.pid)")' <<<"$ST")
	SRV_IP=$(pod srv ip) SRVP_IP=$(pod srvp ip)
	VIP_K=$(vip srv-k) VIP_A=$(vip srv-a) VIP_L=$(vip srv-l) VIP_L10K=$(vip srv-l10k)
	CN_IP=$(node $cn ip) SN_IP=$(node $sn ip)
	for p in $(jq -r '.pods[] | select(.name == "srv" or .name == "srvp") | .pids[]' <<<"$ST"); do
		taskset -a -p -c $CPU_SERVER "$p" >/dev/null
	done
	agent_capture
	agent_restart ""
	# A Zipkin collector per node for the tracing rows (the test fixture, on the node's
	# loopback where its agent sends spans), outside the mesh's cgroups: its CPU is not the
	# agent's.
	if has_config weir-l7-trace1 || has_config weir-l7-trace100; then
		for n in $NODES; do
			mkcg "$(node "$n" cgroup)/weirbench-zipkin"
			spawn "$(node "$n" cgroup)/weirbench-zipkin" "$(node "$n" netns)" \
				"$LOGDIR/zipkin-$n.log" "$PY" "$ROOT/tests/fixtures/zipkin/zipkin.py" \
				--listen 127.0.0.1:9411
			wait_tcp "$(node "$n" netns)" 127.0.0.1 9411
		done
	fi
	# The per-node proxies, one per node, in the node's netns and in a cgroup below the node's.
	HAP_PIDS=()
	HAP_NODE_CGS=()
	for n in $NODES; do
		local ip peer
		ip=$(node "$n" ip)
		if [ "$n" = $cn ]; then peer=$SN_IP; else peer=$CN_IP; fi
		fill "$CONF/haproxy-node.cfg.in" "$TMP/hap-$n.cfg" NODE_IP="$ip" PEER_IP="$peer" \
			SERVER_IP="$SRVP_IP" CERTS="$TMP/certs"
		haproxy_start "node-$n" "$(node "$n" cgroup)/weirbench-proxy" "$(node "$n" netns)" \
			"$CONF/haproxy-common.cfg.in" "$TMP/hap-$n.cfg"
		HAP_NODE_CGS+=("$(node "$n" cgroup)/weirbench-proxy")
	done
	# The sidecars, in a cgroup below each Pod's: the Pod's usage includes its sidecar's.
	fill "$CONF/haproxy-sidecar-client.cfg.in" "$TMP/hap-sc-client.cfg" SERVER_IP="$SRVP_IP" \
		CERTS="$TMP/certs"
	fill "$CONF/haproxy-sidecar-server.cfg.in" "$TMP/hap-sc-server.cfg" CERTS="$TMP/certs"
	haproxy_start sc-client "$(pod clip cgroup)/weirbench-sidecar" "$(pod clip netns)" \
		"$CONF/haproxy-common.cfg.in" "$TMP/hap-sc-client.cfg"
	haproxy_start sc-server "$(pod srvp cgroup)/weirbench-sidecar" "$(pod srvp netns)" \
		"$CONF/haproxy-common.cfg.in" "$TMP/hap-sc-server.cfg"
	HAP_SC_CGS=("$(pod clip cgroup)/weirbench-sidecar" "$(pod srvp cgroup)/weirbench-sidecar")
	IPT_NS+=("$(pod clip netns)" "$(pod srvp netns)")
	wait_tcp "$(node $cn netns)" "$CN_IP" 16001
	wait_tcp "$(node $cn netns)" "$CN_IP" 16021
	wait_tcp "$(pod clip netns)" 127.0.0.1 15011
	wait_tcp "$(pod srvp netns)" "$SRVP_IP" 15016
	wait_tcp "$(pod clip netns)" 127.0.0.1 15001
	wait_tcp "$(pod srvp netns)" "$SRVP_IP" 15006
	wait_tcp "$(pod srvp netns)" 127.0.0.1 8080
	wait_tcp "$(pod srvp netns)" 127.0.0.1 5201
	wait_tcp "$(pod srv netns)" 127.0.0.1 8080
	l7_check
}

# l7_check: the L7 rows measure routing only if their routes are in force. A request that no
# route matches must get the 404 of a VirtualService (Envoy's NR), not the 200 of a Service's
# default route, and one with x-bench: l7 a 200, from weir (10 and NROUTES routes) and from
# the per-node HAProxy alike. Anything else stops the run: its L7 numbers would be of
# something else.
l7_check() {
	local what c t cl want h code
	for what in weir-l7:cli:$VIP_L:8080 weir-l7-10k:cli:$VIP_L10K:8080 \
		haproxy-node-l7:clip:$CN_IP:16021; do
		IFS=: read -r c cl t <<<"$what"
		has_config "$c" || continue
		for h in none:404 l7:200; do
			code=$(podexec "$cl" curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
				-H "x-bench: ${h%:*}" "http://$t/") || true
			want=${h#*:}
			[ "$code" = "$want" ] && continue
			log "$c: x-bench: ${h%:*} to $t answered '$code', not $want: routes not in force"
			return 1
		done
	done
	log "L7 routes in force (a request no route matches gets 404)"
}

topo_down() {
	local p c
	for p in "${MYPIDS[@]}"; do mine "$p" && kill "$p" 2>/dev/null; done
	for p in "${MYPIDS[@]}"; do
		for _ in $(seq 30); do mine "$p" || break; sleep 0.1; done
	done
	MYPIDS=()
	for c in "${MYCGS[@]}"; do rmdir "$c" 2>/dev/null || true; done
	MYCGS=() IPT_NS=()
	"$SIM" down --name "$SIMNAME" >/dev/null 2>&1 || log "weir-sim down $SIMNAME failed"
	SIMNAME=
}

# --- configurations -----------------------------------------------------------------------------
# Each sets CLIENT (Pod), TARGET / BULK_TARGET (ip:port, empty = not applicable), MESH_CGS (the
# mesh component's cgroups), MESH_PIDS (for memory), TESTS; and may need agent flags.
ALL_CONFIGS="direct weir-kernel weir-kernel-nosplice weir-kernel-noflow weir-agent \
weir-l7 weir-l7-10k weir-l7-trace1 weir-l7-trace100 weir-l7-alog haproxy-node-tcp \
haproxy-node-http haproxy-node-l7 haproxy-sidecar haproxy-sidecar-l7"
# BENCH_CONFIGS: a subset, for a focused run (direct is always measured: latency is added over it).
if [ -n "${BENCH_CONFIGS:-}" ]; then
	for c in $BENCH_CONFIGS; do
		case " $ALL_CONFIGS " in
		*" $c "*) ;;
		*) echo "bench: BENCH_CONFIGS: there is no configuration '$c'" >&2; exit 2 ;;
		esac
	done
	ALL_CONFIGS="direct $(printf '%s\n' $BENCH_CONFIGS | grep -vx direct | tr '\n' ' ')"
fi
has_config() { case " $ALL_CONFIGS " in *" $1 "*) return 0 ;; esac; return 1; }

config_set() {
	local c=$1 n
	local -a agcgs=()
	for n in $NODES; do agcgs+=("$(node "$n" cgroup)/agent"); done
	TESTS="r4 r16 max cpr bulk"
	case $c in weir-*) agents_alive || true ;; esac
	case $c in
	direct) CLIENT=clip TARGET=$SRVP_IP:8080 BULK_TARGET=$SRVP_IP:5201 MESH_CGS=() ;;
	weir-kernel) agent_restart "" ;;
	weir-kernel-nosplice) agent_restart --no-splice ;;
	weir-kernel-noflow) agent_restart --no-flow-counters; TESTS="r16 max" ;;
	# Tracing: every request starts a trace (the client sends no context), 1 % or 100 % of
	# them sampled and exported; access logs: one line per request to a file.
	weir-l7-trace1) agent_restart "--zipkin-addr 127.0.0.1:9411 --trace-sampling 1" ;;
	weir-l7-trace100) agent_restart "--zipkin-addr 127.0.0.1:9411 --trace-sampling 100" ;;
	weir-l7-alog) agent_restart "--access-log $TMP/access.log" ;;
	weir-agent | weir-l7*) agent_restart "" ;;
	haproxy-node-tcp)
		CLIENT=clip TARGET=$CN_IP:16001 BULK_TARGET=$CN_IP:16002 MESH_CGS=("${HAP_NODE_CGS[@]}") ;;
	haproxy-node-http)
		CLIENT=clip TARGET=$CN_IP:16011 BULK_TARGET= MESH_CGS=("${HAP_NODE_CGS[@]}")
		TESTS="r4 r16 max cpr" ;;
	haproxy-sidecar)
		CLIENT=clip TARGET=$SRVP_IP:8080 BULK_TARGET=$SRVP_IP:5201 MESH_CGS=("${HAP_SC_CGS[@]}")
		sidecar_redirect on ;;
	haproxy-node-l7)
		CLIENT=clip TARGET=$CN_IP:16021 BULK_TARGET= MESH_CGS=("${HAP_NODE_CGS[@]}")
		TESTS=$L7TESTS ;;
	haproxy-sidecar-l7)
		CLIENT=clip TARGET=$SRVP_IP:8080 BULK_TARGET= MESH_CGS=("${HAP_SC_CGS[@]}")
		TESTS=$L7TESTS
		sidecar_redirect l7 ;;
	esac
	case $c in
	weir-kernel*) CLIENT=cli TARGET=$VIP_K:8080 BULK_TARGET=$VIP_K:5201 MESH_CGS=("${agcgs[@]}") ;;
	weir-agent) CLIENT=cli TARGET=$VIP_A:8080 BULK_TARGET=$VIP_A:5201 MESH_CGS=("${agcgs[@]}") ;;
	weir-l7 | weir-l7-trace* | weir-l7-alog)
		CLIENT=cli TARGET=$VIP_L:8080 BULK_TARGET= MESH_CGS=("${agcgs[@]}")
		TESTS=$L7TESTS ;;
	weir-l7-10k)
		CLIENT=cli TARGET=$VIP_L10K:8080 BULK_TARGET= MESH_CGS=("${agcgs[@]}")
		TESTS=$L7KTESTS ;;
	esac
}

config_unset() {
	case $1 in haproxy-sidecar*) sidecar_redirect off ;; esac
	return 0
}

# The sidecar mesh's traffic capture: the client Pod's outbound connections to the server's
# ports go to its sidecar (not the sidecar's own: owner match on the haproxy uid); the server
# Pod's inbound connections to them go to its sidecar's TLS listeners. on: TCP-mode sidecars;
# l7: port 8080 to the HTTP-mode listeners (routing on the client side, as Envoy's outbound).
sidecar_redirect() {
	local cns sns uid out=15001 in=15006
	cns=$(pod clip netns) sns=$(pod srvp netns) uid=$(id -u haproxy)
	ip netns exec "$cns" iptables -w -t nat -F OUTPUT
	ip netns exec "$sns" iptables -w -t nat -F PREROUTING
	case $1 in on) ;; l7) out=15011 in=15016 ;; *) return 0 ;; esac
	ip netns exec "$cns" iptables -w -t nat -A OUTPUT -p tcp -d "$SRVP_IP" --dport 8080 \
		-m owner ! --uid-owner "$uid" -j REDIRECT --to-ports $out
	ip netns exec "$cns" iptables -w -t nat -A OUTPUT -p tcp -d "$SRVP_IP" --dport 5201 \
		-m owner ! --uid-owner "$uid" -j REDIRECT --to-ports 15002
	ip netns exec "$sns" iptables -w -t nat -A PREROUTING -p tcp --dport 8080 \
		-j REDIRECT --to-ports $in
	ip netns exec "$sns" iptables -w -t nat -A PREROUTING -p tcp --dport 5201 \
		-j REDIRECT --to-ports 15007
}

# bulk_once: one iperf3 run from $CLIENT to $BULK_TARGET; sets out (JSON) and rc.
bulk_once() {
	rc=0
	out=$(podexec "$CLIENT" iperf3 -c "${BULK_TARGET%:*}" -p "${BULK_TARGET#*:}" -t $BULK -J \
		2>/dev/null | jq -c '{bits_per_second: (.end.sum_received.bits_per_second // 0),
			bytes: (.end.sum_received.bytes // 0), error: .error}' 2>/dev/null) || rc=$?
	[ -n "$out" ] || out='{"bits_per_second":0,"bytes":0,"error":"no output"}'
}

# run_test TOPO ROUND CONFIG TEST: one measurement, appended to $RAW as one JSON line.
run_test() {
	local topo=$1 round=$2 cfg=$3 t=$4 out rc=0 n0 n1 m0 m1 t0 t1 kind=http
	local -a nodecgs=() args=()
	local n
	for n in $NODES; do nodecgs+=("$(node "$n" cgroup)"); done
	case $t in
	r4) args=(run --target "$TARGET" --rate $RATE --conns 4 --duration $DUR) ;;
	r16) args=(run --target "$TARGET" --rate $RATE --conns 16 --duration $DUR) ;;
	max) args=(run --target "$TARGET" --max --conns 16 --duration $MAXDUR) ;;
	cpr) args=(run --target "$TARGET" --max --conns 16 --conn-per-request --duration $MAXDUR) ;;
	h2) kind=h2 ;;
	bulk)
		[ -n "$BULK_TARGET" ] && [ "$round" -le "$BULK_ROUNDS" ] || return 0
		kind=bulk ;;
	esac
	n0=$(cg_usage "${nodecgs[@]}")
	m0=$(cg_usage "${MESH_CGS[@]}")
	t0=$(date +%s%N)
	if [ $kind = bulk ]; then
		bulk_once
		# iperf3's server refuses a test while it still tears the last one down: once more.
		if [ "$(jq .bits_per_second <<<"$out")" = 0 ]; then
			sleep 0.5
			n0=$(cg_usage "${nodecgs[@]}")
			m0=$(cg_usage "${MESH_CGS[@]}")
			t0=$(date +%s%N)
			bulk_once
		fi
	elif [ $kind = h2 ]; then
		# Closed loop, h2c prior knowledge: H2_CONNS connections of H2_STREAMS streams each.
		out=$(podexec "$CLIENT" "$PY" "$ROOT/bench/lib/h2load.py" -- "${H2RUN[@]}" \
			-c $H2_CONNS -m $H2_STREAMS -t 1 -H "$HEADER" "http://$TARGET/" \
			2>>"$TMP/load.err") || rc=$?
		[ -n "$out" ] || out='{"requests":0,"errors_total":-1}'
	else
		out=$(podexec "$CLIENT" "$LOAD" "${args[@]}" --header "$HEADER" \
			2>>"$TMP/load.err") || rc=$?
		[ -n "$out" ] || out='{"requests":0,"errors_total":-1}'
	fi
	t1=$(date +%s%N)
	n1=$(cg_usage "${nodecgs[@]}")
	m1=$(cg_usage "${MESH_CGS[@]}")
	local died=false
	case $cfg in weir-*) agents_alive || died=true ;; esac
	jq -nc --arg topo "$topo" --argjson round "$round" --arg config "$cfg" --arg test "$t" \
		--argjson r "$out" --argjson node_us $((n1 - n0)) --argjson mesh_us $((m1 - m0)) \
		--argjson wall_us $(((t1 - t0) / 1000)) --argjson rc $rc --argjson died $died \
		'{topo: $topo, round: $round, config: $config, test: $test, rc: $rc, result: $r,
		  agent_died: $died,
		  cpu: {node_us: $node_us, mesh_us: $mesh_us, wall_us: $wall_us}}' >>"$RAW"
}

# Memory: the mesh component idle, and holding IDLE idle keep-alive connections (HTTP/1.1, or
# h2c when WHAT ends in -h2), read SETTLE s after they are all open: idle connections, as
# they sit between a client's requests, the same wait for every proxy measured.
measure_memory() {
	local topo=$1 what=$2 target=$3 client=$4
	shift 4
	local pids=("$@") idle held out i
	local -a h2=()
	case $what in *-h2) h2=(--h2) ;; esac
	sleep "$HOLD"
	idle=$(rss_kb "${pids[@]}")
	podexec "$client" "$LOAD" idle --target "$target" --conns $IDLE --hold $HOLD \
		--header "$HEADER" "${h2[@]}" >"$TMP/idle.out" 2>/dev/null &
	local ip=$!
	for i in $(seq 100); do [ -s "$TMP/idle.out" ] && break; sleep 0.1; done
	sleep "$SETTLE"
	held=$(rss_kb "${pids[@]}")
	out=$(head -1 "$TMP/idle.out")
	[ -n "$out" ] || out='{"connected":0}'
	wait $ip || true
	jq -nc --arg topo "$topo" --arg what "$what" --argjson idle "$idle" --argjson held "$held" \
		--argjson conns "$out" --argjson n $IDLE \
		'{topo: $topo, memory: $what, rss_idle_kb: $idle, rss_held_kb: $held, idle_conns: $n,
		  result: $conns}' >>"$RAW"
	rm -f "$TMP/idle.out"
}

# reap_stale: what an earlier run left behind when it was killed before its trap could run
# (SIGKILL, a CI timeout): its simulations are named wbench-<topo>-<pid> and its temporary dir
# holds its pid. Only runs whose pid is gone are touched.
reap_stale() {
	local d name pid c
	for d in /run/weir-sim/wbench-*; do
		[ -d "$d" ] || continue
		name=${d##*/}
		pid=${name##*-}
		alive "$pid" && continue
		log "removing $name, left by an earlier run (pid $pid) that did not clean up"
		c=$CG2/weir-sim-$name
		[ -d "$c" ] && echo 1 >"$c/cgroup.kill" 2>/dev/null
		sleep 0.2
		[ -d "$c" ] && find "$c" -depth -type d -name 'weirbench-*' -exec rmdir {} \; 2>/dev/null
		"$SIM" down --name "$name" >/dev/null 2>&1 || log "weir-sim down $name failed"
	done
	for d in /tmp/weir-bench.*; do
		[ -f "$d/owner" ] || continue
		alive "$(cat "$d/owner")" || rm -rf "$d"
	done
}

# --- main ---------------------------------------------------------------------------------------
log "mode $MODE: $ROUNDS round(s), topologies: $TOPOS"
echo $$ >"$TMP/owner"
reap_stale
"$LOAD" selftest || { log "weir-load selftest failed: percentiles cannot be trusted"; exit 1; }
"$ROOT/bench/lib/certs.sh" "$TMP/certs"
: >"$RAW"
START=$(date +%s)
for topo in $TOPOS; do
	topo_up "$topo"
	# One unmeasured pass to warm every path (ARP, conntrack, TLS code, page cache).
	[ "$WARM" = 0 ] || for cfg in $ALL_CONFIGS; do
		config_set "$cfg"
		podexec "$CLIENT" "$LOAD" run --target "$TARGET" --rate 500 --conns 4 --duration $WARM \
			--header "$HEADER" >/dev/null 2>&1 || log "warm-up of $cfg on $topo failed"
		config_unset "$cfg"
	done
	for round in $(seq "$ROUNDS"); do
		order=$(printf '%s\n' $ALL_CONFIGS | shuf | tr '\n' ' ')
		log "$topo round $round/$ROUNDS: $order"
		for cfg in $order; do
			config_set "$cfg"
			for t in $TESTS; do run_test "$topo" "$round" "$cfg" "$t"; done
			config_unset "$cfg"
		done
	done
	log "$topo: memory, idle and with $IDLE idle connections"
	agent_restart ""
	agpids=()
	for n in $NODES; do agpids+=("${AGENT_PID[$n]}"); done
	hp=()
	for n in $NODES; do hp+=("${HAP_PIDS[node-$n]}"); done
	if has_config weir-agent; then
		measure_memory "$topo" weir-agent "$VIP_A:8080" cli "${agpids[@]}"
		measure_memory "$topo" haproxy-node-tcp "$CN_IP:16001" clip "${hp[@]}"
		sidecar_redirect on
		measure_memory "$topo" haproxy-sidecar "$SRVP_IP:8080" clip "${HAP_PIDS[sc-client]}" \
			"${HAP_PIDS[sc-server]}"
		sidecar_redirect off
	fi
	# Idle HTTP/2 connections through the L7 paths (one GET each, then held).
	if has_config weir-l7; then
		measure_memory "$topo" weir-l7-h2 "$VIP_L:8080" cli "${agpids[@]}"
		measure_memory "$topo" haproxy-node-l7-h2 "$CN_IP:16021" clip "${hp[@]}"
		sidecar_redirect l7
		measure_memory "$topo" haproxy-sidecar-l7-h2 "$SRVP_IP:8080" clip \
			"${HAP_PIDS[sc-client]}" "${HAP_PIDS[sc-server]}"
		sidecar_redirect off
	fi
	topo_down
done
log "measured in $(($(date +%s) - START)) s"

mkdir -p "$OUT"
if [ "$MODE" = full ]; then
	base=$OUT/$(date -u +%Y-%m-%d)
else
	base=$OUT/quick
fi
"$PY" "$ROOT/bench/lib/report.py" --raw "$RAW" --mode "$MODE" --rounds "$ROUNDS" \
	--nroutes "$NROUTES" --out "$base" --check

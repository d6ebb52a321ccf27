#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The real CNI chain as a container runtime runs it: /usr/lib/cni/bridge (with host-local IPAM
# in a private dataDir) wires a Pod netns to a bridge in a node netns, then build/weir-cni gets
# the bridge's result as prevResult. First with no agent (failPolicy open passes, closed fails
# with code 11), then against a real weir-agent serving --cni-socket (ADD, CHECK, DEL twice).
# Everything lives in netns weirtest-cni-host / weirtest-cni-pod and a temp dir; the trap
# removes it all and checks that no namespace is left behind.

source "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || e2e_skip "needs root"
[ -x "$BUILD/weir-cni" ] || e2e_skip "$BUILD/weir-cni not built"
for p in bridge host-local; do
	[ -x /usr/lib/cni/$p ] || e2e_skip "/usr/lib/cni/$p missing (containernetworking-plugins)"
done
command -v jq >/dev/null || e2e_skip "jq missing"

HOST=weirtest-cni-host
POD=weirtest-cni-pod
CID=weirtestcni0123456789abcdef
POD_IP=198.18.77.10
NET=weirtest-cni

# lib.sh's cleanup, with this test's names (e2e_init is not used: the agent-less half of this
# test must run even where weir-agent is not built).
T=weirtest-cni
E2E_TMP=$(mktemp -d /tmp/weirtest-cni.XXXXXX)
E2E_BPFFS=$E2E_TMP/bpffs/weir
E2E_CG=
E2E_PIDS=()
E2E_NETNS=()
E2E_AGENT_PID=

cni_cleanup() {
	local rc=$? ns
	set +e
	if [ -n "$E2E_AGENT_PID" ]; then
		kill "$E2E_AGENT_PID" 2>/dev/null
		wait "$E2E_AGENT_PID" 2>/dev/null
		E2E_AGENT_PID=
	fi
	# Deleting the namespaces removes the veth pair and the bridge with them.
	for ns in "${E2E_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	E2E_NETNS=()
	if ip netns list | grep -q "^weirtest-cni-"; then
		echo "FAIL: network namespaces left behind: $(ip netns list | grep '^weirtest-cni-')" >&2
		rc=1
	fi
	(exit $rc)
	e2e_cleanup # kills what is left, removes the cgroup, bpffs and $E2E_TMP; exits with rc
}
trap cni_cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$E2E_TMP/ipam" "$E2E_TMP/config" "$E2E_TMP/logs" "$E2E_TMP/bpffs"

# A previous run killed hard may have left its namespaces: they carry this test's names only.
for ns in "$HOST" "$POD"; do
	ip netns del "$ns" 2>/dev/null || true
done
for ns in "$HOST" "$POD"; do
	ip netns add "$ns"
	E2E_NETNS+=("$ns")
	ip -n "$ns" link set lo up
done

BRIDGE_CONF=$(jq -cn --arg dir "$E2E_TMP/ipam" --arg net "$NET" --arg ip "$POD_IP" '{
	cniVersion: "1.0.0", name: $net, type: "bridge", bridge: "cni-weir0",
	isGateway: true, ipMasq: false,
	ipam: {type: "host-local", dataDir: $dir,
	       ranges: [[{subnet: "198.18.77.0/24", rangeStart: $ip, rangeEnd: $ip}]],
	       routes: [{dst: "0.0.0.0/0"}]}}')

# weir_conf POLICY PREVRESULT: weir-cni's config as libcni derives it from the conflist.
weir_conf() {
	jq -cn --arg net "$NET" --arg sock "$E2E_TMP/cni.sock" --arg policy "$1" \
		--argjson prev "$2" '{cniVersion: "1.0.0", name: $net, type: "weir-cni",
		agentSocket: $sock, failPolicy: $policy, timeoutMs: 2000, prevResult: $prev}'
}

# cni BIN COMMAND CONF: runs one plugin in the node netns with a runtime's environment and
# nothing else; stdout in OUT, exit status in RC, stderr in ERRF.
cni() {
	local bin=$1 cmd=$2 conf=$3
	ERRF=$E2E_TMP/logs/$(basename "$bin")-$cmd.err
	set +e
	OUT=$(printf '%s' "$conf" | ip netns exec "$HOST" env -i CNI_COMMAND="$cmd" \
		CNI_CONTAINERID="$CID" CNI_NETNS="/run/netns/$POD" CNI_IFNAME=eth0 \
		CNI_PATH=/usr/lib/cni PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=cnipod;K8S_POD_INFRA_CONTAINER_ID=$CID;K8S_POD_UID=8d1f3c2a-weir-cni" \
		timeout 20 "$bin" 2>"$ERRF")
	RC=$?
	set -e
	# A SAN=1 build reports on stderr; that fails the test whatever the exit status.
	! grep -qE 'Sanitizer|runtime error:' "$ERRF" || e2e_fail "$bin $cmd: $(cat "$ERRF")"
}

# same_json A B: equal as JSON documents.
same_json() {
	[ "$(jq -S . <<<"$1")" = "$(jq -S . <<<"$2")" ]
}

chain_add() { # POLICY: bridge then weir-cni; sets RESULT (the bridge's) and OUT/RC (weir-cni's)
	cni /usr/lib/cni/bridge ADD "$BRIDGE_CONF"
	[ "$RC" -eq 0 ] || e2e_fail "bridge ADD: rc $RC: $OUT $(cat "$ERRF")"
	RESULT=$OUT
	[ "$(jq -r '.ips[0].address' <<<"$RESULT")" = "$POD_IP/24" ] ||
		e2e_fail "bridge result has no $POD_IP/24: $RESULT"
	ip -n "$POD" -4 addr show dev eth0 | grep -q "inet $POD_IP/24" ||
		e2e_fail "the Pod netns has no $POD_IP on eth0"
	cni "$BUILD/weir-cni" ADD "$(weir_conf "$1" "$RESULT")"
}

chain_del() { # runtimes delete in reverse order; twice, since DEL must be idempotent
	local i
	for i in 1 2; do
		cni "$BUILD/weir-cni" DEL "$(weir_conf "$1" "$RESULT")"
		[ "$RC" -eq 0 ] || e2e_fail "weir-cni DEL #$i: rc $RC: $OUT"
		[ -z "$OUT" ] || e2e_fail "weir-cni DEL #$i printed $OUT"
		cni /usr/lib/cni/bridge DEL "$BRIDGE_CONF"
		[ "$RC" -eq 0 ] || e2e_fail "bridge DEL #$i: rc $RC: $OUT"
	done
	[ ! -e "$E2E_TMP/ipam/$NET/$POD_IP" ] || e2e_fail "host-local still holds $POD_IP"
	! ip -n "$POD" link show eth0 >/dev/null 2>&1 || e2e_fail "eth0 still in the Pod netns"
}

e2e_log "agent down, failPolicy open: ADD passes prevResult through with a warning"
chain_add open
[ "$RC" -eq 0 ] || e2e_fail "weir-cni ADD (open, agent down): rc $RC: $OUT"
same_json "$OUT" "$RESULT" || e2e_fail "weir-cni result differs from prevResult: $OUT vs $RESULT"
grep -q warning "$ERRF" || e2e_fail "no warning on stderr: $(cat "$ERRF")"

e2e_log "agent down, failPolicy closed: ADD fails with code 11"
cni "$BUILD/weir-cni" ADD "$(weir_conf closed "$RESULT")"
[ "$RC" -ne 0 ] || e2e_fail "weir-cni ADD (closed, agent down) succeeded: $OUT"
[ "$(jq -r .code <<<"$OUT")" = 11 ] || e2e_fail "want CNI error code 11, got: $OUT"

e2e_log "agent down: DEL (twice) succeeds and releases everything"
chain_del closed

# The agent half: the real agent serving the socket in the node netns.
if ! "$BUILD/weir-agent" --help 2>/dev/null | grep -q -- --cni-socket; then
	e2e_skip "$BUILD/weir-agent missing or without --cni-socket (the agent-down checks passed)"
fi
E2E_CG_ROOT=$(e2e_cgroup2)
[ -n "$E2E_CG_ROOT" ] || e2e_skip "no cgroup2 mount (the agent-down checks passed)"
E2E_CG=$E2E_CG_ROOT/weirtest-cni
mount -t bpf bpf "$E2E_TMP/bpffs"
mkdir -p "$E2E_CG/agent" "$E2E_CG/pods"
e2e_pod_yaml cnipod "$POD_IP" cniapp v1 >"$E2E_TMP/config/pods.yaml"
E2E_NODE=$HOST
E2E_NODE_IP=198.18.77.1 # the bridge's gateway address, set by the first ADD
e2e_log "starting weir-agent with --cni-socket $E2E_TMP/cni.sock"
# nsenter, not ip netns exec: the latter remounts /sys, hiding the cgroup2 mount when it sits
# under /sys/fs/cgroup (hybrid hosts), so the agent could neither join nor attach to its cgroup.
nsenter --net="/run/netns/$HOST" sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' \
	"$E2E_CG/agent" "$BUILD/weir-agent" --config-dir "$E2E_TMP/config" \
	--bpffs-dir "$E2E_BPFFS" --cgroup "$E2E_CG" --node-name n1 --node-ip "$E2E_NODE_IP" \
	--cni-socket "$E2E_TMP/cni.sock" --metrics-addr 127.0.0.1:15020 \
	--health-addr 127.0.0.1:15021 --admin-addr 127.0.0.1:15000 \
	>>"$E2E_TMP/logs/agent.log" 2>&1 &
E2E_AGENT_PID=$!
e2e_wait_ready
[ -S "$E2E_TMP/cni.sock" ] || e2e_fail "the agent did not create $E2E_TMP/cni.sock"
[ "$(stat -c %a "$E2E_TMP/cni.sock")" = 600 ] || e2e_fail "cni.sock mode is not 0600"

e2e_log "agent up, failPolicy closed: ADD enrols the Pod and passes prevResult through"
chain_add closed
[ "$RC" -eq 0 ] || e2e_fail "weir-cni ADD (closed, agent up): rc $RC: $OUT $(cat "$ERRF")"
same_json "$OUT" "$RESULT" || e2e_fail "weir-cni result differs from prevResult: $OUT vs $RESULT"

e2e_log "CHECK: the agent knows the Pod"
for i in $(seq 50); do
	cni "$BUILD/weir-cni" CHECK "$(weir_conf closed "$RESULT")"
	[ "$RC" -eq 0 ] && break
	sleep 0.1
done
[ "$RC" -eq 0 ] || e2e_fail "weir-cni CHECK: rc $RC: $OUT"

e2e_log "agent up: DEL (twice) succeeds and releases everything"
chain_del closed
e2e_agent_stop
! grep -qE 'Sanitizer|runtime error:' "$E2E_TMP/logs/agent.log" ||
	e2e_fail "sanitizer report in the agent's log"
echo "PASS"

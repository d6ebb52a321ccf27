#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The node simulator on its own: `up` of a small application (2 Services, 3 Pods) on 2 nodes
# wires Pods that reach each other across nodes by IP (and by Service name when the agent is
# built), records what it made, and `down` leaves nothing behind; a bad manifest and a Pod that
# dies during `up` both fail cleanly without leftovers. Exit 0 pass, 77 skip, else fail.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SIM=wt-sim-updown
SIMCTL=(/usr/bin/python3 tools/sim/weir-sim)
CG=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
TMP=$(mktemp -d /tmp/wt-sim-updown.XXXXXX)

[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (network namespaces, cgroups)"; exit 77; }
[ -x "$BUILD/bookinfo-app" ] || { echo "SKIP: $BUILD/bookinfo-app is not built"; exit 77; }
[ -x /usr/lib/cni/bridge ] || { echo "SKIP: containernetworking-plugins missing"; exit 77; }

sim() { "${SIMCTL[@]}" --name "$SIM" "$@"; }
cleanup() {
	sim down >/dev/null 2>&1
	"${SIMCTL[@]}" --name "$SIM-bad" down >/dev/null 2>&1
	"${SIMCTL[@]}" --name "$SIM-die" down >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }

# What this run can exercise depends on what is built: the agent makes Service VIPs work.
flags=(--build "$BUILD")
with_agent=0
if [ -x "$BUILD/weir-agent" ] && [ -x "$BUILD/weir-cni" ]; then
	with_agent=1
elif [ -x "$BUILD/weir-cni" ]; then
	flags+=(--no-agent) # weir-cni with failPolicy open and no agent: Pods still come up
else
	flags+=(--no-agent --no-weir-cni)
fi
echo "mode: agent=$with_agent flags=${flags[*]}"

# Nothing left from an earlier run that died without its trap.
sim down >/dev/null 2>&1

# --- up -------------------------------------------------------------------------------------
sim up tests/e2e/testdata/sim_small.yaml --nodes 2 "${flags[@]}" >"$TMP/up.out" 2>&1 ||
	{ cat "$TMP/up.out"; fail "up failed"; }
sim status -o json >"$TMP/status.json" || fail "status failed"
jq -e '.up == true and (.nodes | length) == 2 and (.pods | length) == 3 and
       (.services | length) == 2' "$TMP/status.json" >/dev/null || fail "status: $(cat "$TMP/status.json")"
jq -e 'all(.pods[]; .ready and .alive)' "$TMP/status.json" >/dev/null || fail "a Pod is not ready/alive"
jq -e '[.pods[].node] | unique | length == 2' "$TMP/status.json" >/dev/null || fail "Pods not spread over both nodes"
# Every Pod's IP is in its node's Pod CIDR; every VIP in 198.19.0.0/16.
jq -e 'all(.pods[]; .ip | startswith("198.18."))' "$TMP/status.json" >/dev/null || fail "Pod IP plan"
jq -r '.pods[] | "\(.node) \(.ip)"' "$TMP/status.json" | while read -r n ip; do
	[ "${ip#198.18.${n#n}.}" != "$ip" ] || fail "Pod IP $ip not in node $n's CIDR"
done || exit 1
jq -e 'all(.services[]; .vip | startswith("198.19."))' "$TMP/status.json" >/dev/null || fail "VIP plan"
ok "up: 2 nodes, 3 ready Pods, addresses as planned"

# State matches the system: namespaces, cgroups with the Pod's process in it, Pod objects.
for ns in $(jq -r '.nodes[].netns, .pods[].netns' "$TMP/status.json"); do
	[ -e "/run/netns/$ns" ] || fail "netns $ns missing"
done
jq -r '.pods[] | "\(.cgroup) \(.pids[0]) \(.name) \(.node) \(.ip)"' "$TMP/status.json" >"$TMP/pods.txt"
while read -r cg pid name node ip; do
	[ -d "$cg" ] || fail "cgroup $cg missing"
	grep -qx "$pid" "$cg/cgroup.procs" || fail "pid $pid of $name not in $cg"
	[ "$(readlink "/proc/$pid/ns/net")" != "$(readlink /proc/self/ns/net)" ] ||
		fail "$name runs in the root netns"
	f=/run/weir-sim/$SIM/config/pod-default-$name.yaml
	/usr/bin/python3 - "$f" "$node" "$ip" <<'EOF' || fail "Pod object $f is wrong"
import sys, yaml
o = yaml.safe_load(open(sys.argv[1]))
assert o['kind'] == 'Pod' and o['spec']['nodeName'] == sys.argv[2], o['spec']
assert o['status']['podIP'] == sys.argv[3], o['status']
assert {'type': 'Ready', 'status': 'True'} in o['status']['conditions']
assert o['metadata']['ownerReferences'][0]['kind'] == 'ReplicaSet'
EOF
done <"$TMP/pods.txt"
[ -d "$CG/weir-sim-$SIM/n1/pods" ] && [ -d "$CG/weir-sim-$SIM/n2/pods" ] || fail "node cgroups"
ok "state matches: netns, cgroups, processes, Pod objects"

# Isolation: no default route anywhere in the node namespaces, no wire in the root namespace.
for n in n1 n2; do
	ip -n "$SIM-$n" route show default | grep -q . && fail "$n has a default route"
done
ip -o link | grep -qE ' w[0-9]+@' && fail "a wire is in the root namespace"
ok "isolation: no default route in the nodes, nothing in the root namespace"

# Reachability: by IP across nodes and on the same node, from inside a Pod (its netns and cgroup).
front=$(jq -r '.pods[] | select(.app == "front") | .name' "$TMP/status.json")
front_node=$(jq -r '.pods[] | select(.app == "front") | .node' "$TMP/status.json")
for ip in $(jq -r '.pods[] | select(.app == "echo") | .ip' "$TMP/status.json"); do
	body=$(sim exec "$front" -- curl -sf -m 5 "http://$ip:9080/") || fail "front -> $ip:9080"
	[ "$(jq -r .service <<<"$body")" = echo ] || fail "unexpected answer from $ip: $body"
done
cross=$(jq -r --arg n "$front_node" '[.pods[] | select(.app == "echo" and .node != $n)] | length' "$TMP/status.json")
[ "$cross" -ge 1 ] || fail "no echo Pod on the other node: the cross-node check did not run"
ok "Pods reach each other by IP, across nodes and on one node"

vip=$(jq -r '.services[] | select(.name == "echo") | .vip' "$TMP/status.json")
for n in echo echo.default echo.default.svc.cluster.local; do
	got=$(sim exec "$front" -- getent hosts "$n" | awk '{print $1}')
	[ "$got" = "$vip" ] || fail "$n resolves to '$got', want $vip"
done
ok "Service names resolve to the VIP in Pods"
if [ $with_agent -eq 1 ]; then
	body=$(sim exec "$front" -- curl -sf -m 5 http://echo:9080/) || fail "front -> echo by Service name"
	[ "$(jq -r .service <<<"$body")" = echo ] || fail "echo by name answered $body"
	body=$(sim exec "$front" -- curl -sf -m 5 http://front/) || fail "front -> front:80 (named targetPort)"
	[ "$(jq -r '.calls[0].service' <<<"$body")" = echo ] || fail "front's call to echo: $body"
	ok "Pods reach each other by Service name through the agent"
else
	echo "note: weir-agent not built: Service VIPs are not programmed, by-name reachability not checked"
fi

# exec into a node and prefix matching.
sim exec node:n2 -- ip -br addr show dev cni0 | grep -q 198.18.2.1/24 || fail "exec node:n2"
sim exec fr -- true || fail "exec by unique prefix"
sim exec echo -- true 2>/dev/null && fail "an ambiguous prefix was accepted"

# --- down -----------------------------------------------------------------------------------
pids=$(jq -r '.pods[].pids[], (.nodes[].agent // empty | .pid)' "$TMP/status.json")
sim down || fail "down failed"
ip netns list | grep -q "^$SIM-" && fail "netns left: $(ip netns list | grep "^$SIM-")"
[ -e "$CG/weir-sim-$SIM" ] && fail "cgroup left"
grep -q " /run/weir-sim/$SIM/" /proc/self/mountinfo && fail "bpffs mount left"
ls -d /sys/fs/bpf/weir-sim-"$SIM"-* 2>/dev/null && fail "bpffs dir left in the machine's /sys/fs/bpf"
ls -d /etc/netns/"$SIM"-* 2>/dev/null && fail "/etc/netns dirs left"
[ -e "/run/weir-sim/$SIM" ] && fail "state (with host-local data) left"
for p in $pids; do
	[ -e "/proc/$p" ] && ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null &&
		fail "pid $p still alive"
done
sim down >/dev/null 2>&1 || fail "second down failed"
ok "down removed everything; down twice is fine"

# --- bad manifests: a clear message naming file and field, nothing left behind --------------
sed 's/replicas: 2/replicas: two/' tests/e2e/testdata/sim_small.yaml >"$TMP/bad.yaml"
if "${SIMCTL[@]}" --name "$SIM-bad" up "$TMP/bad.yaml" "${flags[@]}" >"$TMP/bad.out" 2>&1; then
	fail "up accepted a bad manifest"
fi
grep -q "$TMP/bad.yaml" "$TMP/bad.out" && grep -q 'spec.replicas' "$TMP/bad.out" ||
	fail "message does not name file and field: $(cat "$TMP/bad.out")"
[ -e "/run/weir-sim/$SIM-bad" ] && fail "bad manifest left state behind"
ip netns list | grep -q "^$SIM-bad-" && fail "bad manifest left a netns"
ok "bad manifest: $(grep -m1 error "$TMP/bad.out")"

# A Pod that dies during up: up fails, says why, and removes what it had made.
cat >"$TMP/die.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: dies}
spec:
  containers:
  - name: c
    command: ["sh", "-c", "echo going away; exit 3"]
    ports: [{containerPort: 9999}]
EOF
if "${SIMCTL[@]}" --name "$SIM-die" up "$TMP/die.yaml" "${flags[@]}" >"$TMP/die.out" 2>&1; then
	fail "up succeeded although its Pod died"
fi
grep -q 'exited before becoming ready' "$TMP/die.out" || fail "no reason given: $(cat "$TMP/die.out")"
[ -e "/run/weir-sim/$SIM-die" ] && fail "failed up left state behind"
ip netns list | grep -q "^$SIM-die" && fail "failed up left a netns"
[ -e "$CG/weir-sim-$SIM-die" ] && fail "failed up left a cgroup"
ls -d /etc/netns/"$SIM"-die-* 2>/dev/null && fail "failed up left /etc/netns dirs"
ok "a Pod dying during up: clean failure, nothing left"

# weir-cni chained with failPolicy open and no agent listening: the Pod is still wired and runs.
if [ -x "$BUILD/weir-cni" ]; then
	cat >"$TMP/open.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: open}
spec:
  containers:
  - name: c
    command: ["bookinfo-app", "--name", "open"]
    ports: [{containerPort: 9080}]
EOF
	"${SIMCTL[@]}" --name "$SIM-die" up "$TMP/open.yaml" --build "$BUILD" --no-agent \
		>"$TMP/open.out" 2>&1 || { cat "$TMP/open.out"; fail "fail-open up"; }
	ip=$("${SIMCTL[@]}" --name "$SIM-die" pods -o json | jq -r '.[0] | select(.ready) | .ip')
	[ -n "$ip" ] || fail "fail-open Pod not ready"
	body=$("${SIMCTL[@]}" --name "$SIM-die" exec open -- curl -sf -m 5 "http://$ip:9080/") ||
		fail "fail-open Pod does not answer"
	[ "$(jq -r .service <<<"$body")" = open ] || fail "fail-open Pod answered $body"
	"${SIMCTL[@]}" --name "$SIM-die" down >/dev/null || fail "down of the fail-open simulation"
	ok "weir-cni with failPolicy open and no agent: the Pod is wired and answers"
fi
echo PASS

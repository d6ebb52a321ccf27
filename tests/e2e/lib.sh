# SPDX-License-Identifier: Apache-2.0
#
# Shared pieces of weir's end-to-end tests: a minimal simulated node in network
# namespaces (a bridge in a "node" netns, Pods as netns on veths), scratch cgroup2
# directories, a private bpffs mount, the agent, and a trap that removes all of it.
# Nothing here links to the root namespace; all traffic stays inside the test's netns.
# Source it, then call e2e_init NAME. Exit 77 with a "SKIP: reason" line to skip.

set -euo pipefail

BUILD=${BUILD:-build}
BUILD=$(cd "$BUILD" && pwd)
E2E_PY=/usr/bin/python3
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

e2e_skip() {
	echo "SKIP: $*"
	exit 77
}

e2e_fail() {
	echo "FAIL: $*" >&2
	exit 1
}

e2e_log() {
	echo "--- $*"
}

# The cgroup2 mount point, from mountinfo (never assumed).
e2e_cgroup2() {
	awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") print $5; break } }' \
		/proc/self/mountinfo | head -1
}

# e2e_init NAME: names everything after NAME, installs the cleanup trap.
e2e_init() {
	[ "$(id -u)" -eq 0 ] || e2e_skip "needs root"
	[ -x "$BUILD/weir-agent" ] || e2e_skip "$BUILD/weir-agent not built"
	T=wt-$1
	E2E_TMP=$(mktemp -d "/tmp/weirtest-$1.XXXXXX")
	E2E_CG_ROOT=$(e2e_cgroup2)
	[ -n "$E2E_CG_ROOT" ] || e2e_skip "no cgroup2 mount"
	E2E_CG=$E2E_CG_ROOT/weirtest-$1
	E2E_BPFFS=$E2E_TMP/bpffs/weir
	E2E_PIDS=()
	E2E_NETNS=()
	E2E_AGENT_PID=
	trap e2e_cleanup EXIT
	trap 'exit 130' INT TERM
	mkdir -p "$E2E_TMP/bpffs" "$E2E_TMP/config" "$E2E_TMP/logs"
	# A private bpffs: the machine's /sys/fs/bpf is never touched.
	mount -t bpf bpf "$E2E_TMP/bpffs"
	mkdir -p "$E2E_CG/agent" "$E2E_CG/pods"
}

e2e_cleanup() {
	local rc=$? p ns d
	set +e
	for p in "${E2E_PIDS[@]}" $E2E_AGENT_PID; do
		kill "$p" 2>/dev/null
	done
	for p in "${E2E_PIDS[@]}" $E2E_AGENT_PID; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
	done
	# Anything else still in the test's cgroups was started by this test.
	if [ -n "${E2E_CG:-}" ] && [ -d "$E2E_CG" ]; then
		for d in $(find "$E2E_CG" -depth -type d); do
			for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		done
		sleep 0.2
		find "$E2E_CG" -depth -type d -exec rmdir {} \; 2>/dev/null
	fi
	for ns in "${E2E_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	if [ -n "${E2E_TMP:-}" ]; then
		# Unpinning the links detaches the cgroup programs; unmount drops the rest.
		[ -d "$E2E_BPFFS" ] && [ -x "$BUILD/weir-agent" ] &&
			"$BUILD/weir-agent" --uninstall --bpffs-dir "$E2E_BPFFS" >/dev/null 2>&1
		umount "$E2E_TMP/bpffs" 2>/dev/null
		if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
			for f in "$E2E_TMP"/logs/*; do
				[ -f "$f" ] || continue
				echo "=== $f (last 30 lines)"
				tail -30 "$f"
			done
		fi
		rm -rf "$E2E_TMP"
	fi
	exit $rc
}

# e2e_node: the node netns with bridge br0 at 198.18.1.1/24 (the node IP).
e2e_node() {
	E2E_NODE=$T-node
	E2E_NODE_IP=198.18.1.1
	ip netns add "$E2E_NODE"
	E2E_NETNS+=("$E2E_NODE")
	ip -n "$E2E_NODE" link set lo up
	ip -n "$E2E_NODE" link add br0 type bridge
	ip -n "$E2E_NODE" addr add "$E2E_NODE_IP/24" dev br0
	ip -n "$E2E_NODE" link set br0 up
}

# e2e_pod NAME IP: a Pod netns on a veth into br0, default route via the node, own cgroup.
e2e_pod() {
	local name=$1 ip=$2 ns=$T-$1
	ip netns add "$ns"
	E2E_NETNS+=("$ns")
	ip -n "$E2E_NODE" link add "h-$name" type veth peer name eth0 netns "$ns"
	ip -n "$E2E_NODE" link set "h-$name" master br0 up
	ip -n "$ns" link set lo up
	ip -n "$ns" addr add "$ip/24" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" route add default via "$E2E_NODE_IP"
	mkdir -p "$E2E_CG/pods/$name"
}

# `sh -c "$E2E_IN_CG" CGROUP CMD...` joins CGROUP, then execs CMD. The cgroup is joined
# before entering a netns on purpose: `ip netns exec` remounts /sys privately, which hides
# the cgroup2 mount. Background jobs start `sh` directly (never a shell function) so that
# $! is the pid that becomes CMD, and a kill reaches the program itself.
E2E_IN_CG='echo $$ > "$0/cgroup.procs" && exec "$@"'

# e2e_run POD CMD...: runs CMD in the Pod's netns and cgroup, in the background; sets E2E_LAST_PID.
e2e_run() {
	local name=$1
	shift
	sh -c "$E2E_IN_CG" "$E2E_CG/pods/$name" ip netns exec "$T-$name" "$@" \
		>>"$E2E_TMP/logs/$name.log" 2>&1 &
	E2E_LAST_PID=$!
	E2E_PIDS+=("$E2E_LAST_PID")
}

# e2e_exec POD CMD...: runs CMD in the Pod's netns and cgroup in the foreground.
e2e_exec() {
	local name=$1
	shift
	sh -c "$E2E_IN_CG" "$E2E_CG/pods/$name" ip netns exec "$T-$name" "$@"
}

# e2e_agent [extra flags]: starts the agent in the node netns and its own cgroup, waits ready.
# nsenter, not `ip netns exec`: the agent must see the real /sys (cgroup2, bpffs mounts).
e2e_agent() {
	sh -c "$E2E_IN_CG" "$E2E_CG/agent" nsenter --net="/run/netns/$E2E_NODE" \
		"$BUILD/weir-agent" --config-dir "$E2E_TMP/config" \
		--bpffs-dir "$E2E_BPFFS" --cgroup "$E2E_CG" --node-name n1 \
		--node-ip "$E2E_NODE_IP" --cni-socket "$E2E_TMP/cni.sock" \
		--metrics-addr 127.0.0.1:15020 --health-addr 127.0.0.1:15021 \
		--admin-addr 127.0.0.1:15000 "$@" >>"$E2E_TMP/logs/agent.log" 2>&1 &
	E2E_AGENT_PID=$!
	e2e_wait_ready
}

e2e_wait_ready() {
	local i
	for i in $(seq 100); do
		if ip netns exec "$E2E_NODE" curl -sf -m 1 http://127.0.0.1:15021/healthz/ready >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$E2E_AGENT_PID" 2>/dev/null || e2e_fail "agent exited: $(tail -5 "$E2E_TMP/logs/agent.log")"
		sleep 0.1
	done
	e2e_fail "agent not ready after 10 s"
}

# e2e_agent_stop: SIGTERM and wait (the datapath stays).
e2e_agent_stop() {
	kill "$E2E_AGENT_PID"
	wait "$E2E_AGENT_PID" 2>/dev/null || true
	E2E_AGENT_PID=
}

# e2e_ctl ARGS...: weirctl on the test's pins, JSON out.
e2e_ctl() {
	"$BUILD/weirctl" --bpffs-dir "$E2E_BPFFS" -o json "$@"
}

# e2e_wait_edges JQ-FILTER [SECONDS]: polls `weirctl edges` until the filter (applied to the
# edges array) is true. A socket's close is counted when TCP finishes closing it, which can be
# after the client process has returned: tests wait for it rather than sleep a fixed time.
e2e_wait_edges() {
	local filter=$1 secs=${2:-10} i
	for i in $(seq $((secs * 10))); do
		e2e_ctl edges | jq -e ".edges | $filter" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# e2e_node_curl PATH: GET from the agent's metrics port inside the node netns.
e2e_node_curl() {
	ip netns exec "$E2E_NODE" curl -sf -m 5 "http://127.0.0.1:15020$1"
}

# e2e_pod_yaml NAME IP APP VERSION [WEIGHT] [extra label yaml]: a Pod object as the API server has it.
e2e_pod_yaml() {
	local name=$1 ip=$2 app=$3 version=$4 weight=${5:-1}
	cat <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: $name
  namespace: default
  labels: {app: $app, version: $version}
  annotations: {weir.dev/lb-weight: "$weight"}
  ownerReferences:
  - {apiVersion: apps/v1, kind: ReplicaSet, name: $app-$version-5d8f7c9b4, uid: u-$name, controller: true}
spec:
  nodeName: n1
  serviceAccountName: $app
  containers:
  - name: app
    image: weir/test
    ports: [{containerPort: 8080}]
status:
  podIP: $ip
  podIPs: [{ip: $ip}]
  conditions: [{type: Ready, status: "True"}]
---
YAML
}

# ==== L7 traffic management on the node simulator (tests/e2e/l7_*_test.sh) ===================
# Istio's bookinfo (and a few small extra workloads) under tools/sim/weir-sim on one simulated
# node. Istio's task YAML from testdata/istio/ is applied as `kubectl apply` would apply it: one
# object per file in the simulator's config directory (its API server), replaced by rename, so
# that a later VirtualService "reviews" replaces the earlier one instead of clashing with it.
# Clients (curl, h2load, nghttp, the gRPC client) run in a meshed Pod; tests assert on counted
# answers, the backends' /stats and the agent's /metrics, never on log text.

L7_ISTIO=$E2E_DIR/testdata/istio
L7_BOOKINFO=$(cd "$E2E_DIR/../.." && pwd)/deploy/samples/bookinfo/bookinfo.yaml
L7_SIMCTL=(/usr/bin/python3 "$E2E_DIR/../../tools/sim/weir-sim")
L7_SIM=
L7_TMP=

# l7_init NAME: checks what the tests need, names the simulation wt-l7-NAME, installs the trap.
l7_init() {
	local b t
	[ "$(id -u)" -eq 0 ] || e2e_skip "needs root"
	for b in weir-agent weir-cni bookinfo-app; do
		[ -x "$BUILD/$b" ] || e2e_skip "$BUILD/$b is not built"
	done
	for t in jq curl h2load nghttp iptables-restore; do
		command -v "$t" >/dev/null || e2e_skip "$t is not installed (tools/deps.sh)"
	done
	L7_SIM=wt-l7-$1
	L7_TMP=$(mktemp -d "/tmp/weirtest-l7-$1.XXXXXX")
	trap l7_cleanup EXIT
	trap 'exit 130' INT TERM
	# A simulation left by a killed run of this same test would make `up` refuse.
	"${L7_SIMCTL[@]}" --name "$L7_SIM" down >/dev/null 2>&1 || true
}

l7_cleanup() {
	local rc=$? f
	set +e
	if [ $rc -ne 0 ] && [ $rc -ne 77 ] && [ -d "/run/weir-sim/$L7_SIM/logs" ]; then
		for f in /run/weir-sim/"$L7_SIM"/logs/*.log; do
			echo "=== $f (last 20 lines)"
			tail -20 "$f"
		done
	fi
	[ -n "$L7_SIM" ] && "${L7_SIMCTL[@]}" --name "$L7_SIM" down >/dev/null 2>&1
	[ -n "$L7_TMP" ] && rm -rf "$L7_TMP"
	exit $rc
}

# l7_up MANIFEST...: `weir-sim up` on one node. @E2E_DIR@ in a manifest becomes this directory
# (commands such as grpcsvc.py need an absolute path).
l7_up() {
	local m out=() i=0
	for m in "$@"; do
		i=$((i + 1))
		sed "s|@E2E_DIR@|$E2E_DIR|g" "$m" >"$L7_TMP/manifest-$i.yaml"
		out+=("$L7_TMP/manifest-$i.yaml")
	done
	"${L7_SIMCTL[@]}" --name "$L7_SIM" up "${out[@]}" --nodes 1 --build "$BUILD" \
		>"$L7_TMP/up.out" 2>&1 || e2e_fail "weir-sim up: $(tail -30 "$L7_TMP/up.out")"
	L7_CFG=$(jq -r .config_dir < <("${L7_SIMCTL[@]}" --name "$L7_SIM" status -o json))
}

# l7_exec POD CMD...: CMD in the Pod (its netns and cgroup, Service names resolve).
l7_exec() {
	local pod=$1
	shift
	"${L7_SIMCTL[@]}" --name "$L7_SIM" exec "$pod" -- "$@"
}

# l7_node CMD...: CMD in the node's netns (where the agent's ports listen on 127.0.0.1).
l7_node() {
	"${L7_SIMCTL[@]}" --name "$L7_SIM" exec node:n1 -- "$@"
}

# l7_status: the agent's /status (admin port) as JSON.
l7_status() {
	l7_node curl -sf -m 3 http://127.0.0.1:15000/status
}

# l7_apply FILE...: applies every object of FILEs, one file per object (kind, namespace,
# name), replacing a previous object of the same name; then waits (10 s) until the agent
# loaded all of them (no rejected file) and built a newer snapshot.
l7_apply() {
	local before gen n st i
	before=$(l7_status | jq .agent.generation)
	n=$(/usr/bin/python3 - "$L7_CFG" "$@" <<'PY'
import os, sys, yaml
cfg = sys.argv[1]
n = 0
for path in sys.argv[2:]:
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    for d in docs:
        md = d.get("metadata", {})
        name = "l7-%s-%s-%s.yaml" % (d["kind"].lower(), md.get("namespace", "default"), md["name"])
        tmp = os.path.join(cfg, "." + name + ".tmp")
        with open(tmp, "w") as f:
            yaml.safe_dump(d, f, sort_keys=False)
        os.rename(tmp, os.path.join(cfg, name))
        n += 1
print(n)
PY
	) || e2e_fail "l7_apply: cannot write $*"
	for i in $(seq 100); do
		st=$(l7_status) || st='{}'
		if [ "$(echo "$st" | jq '.agent.config.files_rejected // -1')" -gt 0 ]; then
			e2e_fail "l7_apply $*: the agent rejected a file: $(grep -h 'l7-' \
				/run/weir-sim/"$L7_SIM"/logs/agent-n1.log | tail -3)"
		fi
		gen=$(echo "$st" | jq '.agent.generation // 0')
		[ "$gen" -gt "$before" ] && return 0
		sleep 0.1
	done
	e2e_fail "l7_apply $*: no new snapshot after 10 s (generation $before, $n objects)"
}

# l7_delete KIND NAME [NS]: removes an object l7_apply wrote; waits for a newer snapshot.
l7_delete() {
	local before gen i f
	f=$L7_CFG/l7-$(echo "$1" | tr 'A-Z' 'a-z')-${3:-default}-$2.yaml
	[ -f "$f" ] || e2e_fail "l7_delete: no $f"
	before=$(l7_status | jq .agent.generation)
	rm -f "$f"
	for i in $(seq 100); do
		gen=$(l7_status | jq '.agent.generation // 0')
		[ "$gen" -gt "$before" ] && return 0
		sleep 0.1
	done
	e2e_fail "l7_delete $*: no new snapshot after 10 s"
}

# l7_metrics: the agent's /metrics (Prometheus text).
l7_metrics() {
	l7_node curl -sf -m 5 http://127.0.0.1:15020/metrics
}

# l7_metric NAME [LABEL=VALUE]... < METRICS: the sum of NAME's series whose labels hold every
# LABEL=VALUE given (0 when none matches).
l7_metric() {
	/usr/bin/python3 -c '
import re, sys
name, want = sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:])
total = 0.0
pat = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)")
lab = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"")
for line in sys.stdin:
    m = pat.match(line)
    if not m or m.group(1) != name:
        continue
    labels = dict(lab.findall(m.group(3) or ""))
    if all(labels.get(k) == v for k, v in want.items()):
        total += float(m.group(4))
print(int(total) if total == int(total) else total)
' "$@"
}

# l7_app_stats POD: the bookinfo-app's own /stats in POD (asked on its loopback, not via the mesh).
l7_app_stats() {
	l7_exec "$1" curl -sf -m 3 http://127.0.0.1:9080/stats
}

# l7_pods APP: the names of APP's Pods (label app), one a line, in the simulator's order.
l7_pods() {
	"${L7_SIMCTL[@]}" --name "$L7_SIM" pods -o json | jq -r --arg a "$1" '.[] | select(.app == $a) | .name'
}

# l7_httpbin_yaml VERSION [VAR=VALUE]...: the Service httpbin (port 8000, named http) with
# VERSION "svc", else a Deployment httpbin-VERSION (one Pod, labels app: httpbin, version:
# VERSION) of bookinfo-app on 9080 with the BOOKINFO_* knobs VAR=VALUE (see the sample's README).
l7_httpbin_yaml() {
	local v=$1 kv
	shift
	if [ "$v" = svc ]; then
		printf '%s\n' 'apiVersion: v1' 'kind: Service' 'metadata:' '  name: httpbin' \
			'  labels: {app: httpbin}' 'spec:' '  selector: {app: httpbin}' '  ports:' \
			'  - {name: http, port: 8000, targetPort: 9080}' '---'
		return
	fi
	cat <<YAML
apiVersion: apps/v1
kind: Deployment
metadata:
  name: httpbin-$v
spec:
  replicas: 1
  selector:
    matchLabels: {app: httpbin, version: $v}
  template:
    metadata:
      labels: {app: httpbin, version: $v}
    spec:
      containers:
      - name: httpbin
        image: weir/bookinfo-app:dev
        command: ["bookinfo-app", "--name", "httpbin", "--version", "$v", "--listen", "0.0.0.0:9080"]
        ports:
        - containerPort: 9080
        env:
        - {name: BOOKINFO_NAME, value: httpbin}
YAML
	for kv in "$@"; do
		echo "        - {name: ${kv%%=*}, value: \"${kv#*=}\"}"
	done
	echo '---'
}

# l7_wait SECONDS 'CONDITION': evaluates the shell CONDITION (a string, so that the command
# substitutions in it run anew each time) every 0.2 s until it holds; fails after SECONDS.
l7_wait() {
	local secs=$1 i
	shift
	for i in $(seq $((secs * 5))); do
		eval "$*" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}

# l7_binom_ok N K P: whether K successes of N trials fit probability P within 4 sigma.
l7_binom_ok() {
	awk -v n="$1" -v k="$2" -v p="$3" 'BEGIN {
		m = n * p; s = sqrt(n * p * (1 - p)); d = k - m; if (d < 0) d = -d
		exit !(d <= 4 * s) }'
}

# l7_curl_many POD URL COUNT [curl args]...: COUNT sequential GETs of URL from POD on one
# kept-alive connection (curl's URL globbing), one JSON line per answer, in order:
# {"code", "connects", "body"}; body is the parsed JSON answer, or its text when not JSON.
l7_curl_many() {
	local pod=$1 url=$2 count=$3 d
	shift 3
	d=$(mktemp -d "$L7_TMP/curl.XXXXXX")
	# The Pod shares the file system: curl writes each body to its own file there.
	l7_exec "$pod" curl -s -m 60 "$@" -o "$d/#1" -w '%{http_code} %{num_connects}\n' \
		"$url?l7seq=[1-$count]" >"$d/codes" || true
	/usr/bin/python3 -c '
import json, os, sys
d, n = sys.argv[1], int(sys.argv[2])
lines = [l.split() for l in open(os.path.join(d, "codes")) if l.strip()]
for i in range(1, n + 1):
    code, conn = lines[i - 1][:2] if i <= len(lines) else ("0", "0")
    try:
        text = open(os.path.join(d, str(i)), errors="replace").read()
    except OSError:
        text = ""
    try:
        body = json.loads(text)
    except ValueError:
        body = text
    print(json.dumps({"code": int(code), "connects": int(conn), "body": body}))
' "$d" "$count"
}
# ==== end of the L7 section ==================================================================
